import { LightningElement, api, wire } from 'lwc';
import { getListRecordsByName } from 'lightning/uiListsApi';
import { getFieldValue } from 'lightning/uiRecordApi';
import { NavigationMixin } from 'lightning/navigation';
import RUN_OBJECT from '@salesforce/schema/Import_Run__c';
import NAME_FIELD from '@salesforce/schema/Import_Run__c.Name';
import STATUS_FIELD from '@salesforce/schema/Import_Run__c.Status__c';
import OBJECT_FIELD from '@salesforce/schema/Import_Run__c.Object__c';
import STARTED_FIELD from '@salesforce/schema/Import_Run__c.Started__c';
import FINISHED_FIELD from '@salesforce/schema/Import_Run__c.Finished__c';
import PROCESSED_FIELD from '@salesforce/schema/Import_Run__c.Records_Processed__c';
import FAILED_FIELD from '@salesforce/schema/Import_Run__c.Records_Failed__c';
import CREATED_FIELD from '@salesforce/schema/Import_Run__c.CreatedDate';
import { statusInfo, formatDuration, errorMessage, runPageReference } from 'c/inflowRunStatus';

// The list view every org gets with the package (objects/Import_Run__c/listViews/All).
const LIST_VIEW = 'All';
const FIELDS = [
    NAME_FIELD,
    STATUS_FIELD,
    OBJECT_FIELD,
    STARTED_FIELD,
    FINISHED_FIELD,
    PROCESSED_FIELD,
    FAILED_FIELD
];

// Qualified names are built from the schema imports, which carry the package namespace in a
// subscriber org, so the strings stay right there too.
function qualified(field) {
    return `${field.objectApiName}.${field.fieldApiName}`;
}

export default class RecentRuns extends NavigationMixin(LightningElement) {
    @api title = 'Recent Inflow runs';
    @api maxRuns = 10;

    fields = FIELDS.map(qualified);
    sortBy = [`-${qualified(CREATED_FIELD)}`];
    records;
    error;

    @wire(getListRecordsByName, {
        objectApiName: RUN_OBJECT.objectApiName,
        listViewApiName: LIST_VIEW,
        fields: '$fields',
        sortBy: '$sortBy',
        pageSize: '$maxRuns'
    })
    wiredRuns({ data, error }) {
        this.records = data ? data.records : undefined;
        this.error = error;
    }

    get isLoading() {
        return !this.records && !this.error;
    }

    get errorText() {
        return errorMessage(this.error);
    }

    get runs() {
        return (this.records || []).slice(0, this.maxRuns).map((record) => {
            const status = getFieldValue(record, STATUS_FIELD);
            const info = statusInfo(status);
            return {
                id: record.id,
                name: getFieldValue(record, NAME_FIELD),
                objectName: getFieldValue(record, OBJECT_FIELD) || '',
                status,
                statusLabel: info.label,
                badgeClass: info.badge,
                processed: getFieldValue(record, PROCESSED_FIELD) || 0,
                failed: getFieldValue(record, FAILED_FIELD) || 0,
                duration: formatDuration(
                    getFieldValue(record, STARTED_FIELD),
                    getFieldValue(record, FINISHED_FIELD)
                )
            };
        });
    }

    get hasRuns() {
        return this.runs.length > 0;
    }

    handleRecord(event) {
        event.preventDefault();
        this[NavigationMixin.Navigate]({
            type: 'standard__recordPage',
            attributes: { recordId: event.currentTarget.dataset.id, actionName: 'view' }
        });
    }

    handleOpen(event) {
        event.preventDefault();
        this[NavigationMixin.Navigate](runPageReference(event.currentTarget.dataset.id));
    }
}
