import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import { NavigationMixin } from 'lightning/navigation';
import NAME_FIELD from '@salesforce/schema/Import_Run__c.Name';
import STATUS_FIELD from '@salesforce/schema/Import_Run__c.Status__c';
import OBJECT_FIELD from '@salesforce/schema/Import_Run__c.Object__c';
import OPERATION_FIELD from '@salesforce/schema/Import_Run__c.Operation__c';
import API_FIELD from '@salesforce/schema/Import_Run__c.API__c';
import STARTED_FIELD from '@salesforce/schema/Import_Run__c.Started__c';
import FINISHED_FIELD from '@salesforce/schema/Import_Run__c.Finished__c';
import PROCESSED_FIELD from '@salesforce/schema/Import_Run__c.Records_Processed__c';
import SUCCEEDED_FIELD from '@salesforce/schema/Import_Run__c.Records_Succeeded__c';
import FAILED_FIELD from '@salesforce/schema/Import_Run__c.Records_Failed__c';
import ERROR_FIELD from '@salesforce/schema/Import_Run__c.Error_Summary__c';
import { statusInfo, formatDuration, errorMessage, runPageReference } from 'c/inflowRunStatus';

const FIELDS = [
    NAME_FIELD,
    STATUS_FIELD,
    OBJECT_FIELD,
    OPERATION_FIELD,
    API_FIELD,
    STARTED_FIELD,
    FINISHED_FIELD,
    PROCESSED_FIELD,
    SUCCEEDED_FIELD,
    FAILED_FIELD,
    ERROR_FIELD
];

export default class RunSummary extends NavigationMixin(LightningElement) {
    @api recordId;

    record;
    error;

    @wire(getRecord, { recordId: '$recordId', fields: FIELDS })
    wiredRun({ data, error }) {
        this.record = data;
        this.error = error;
    }

    get isLoading() {
        return !this.record && !this.error;
    }

    get errorText() {
        return errorMessage(this.error);
    }

    get hasRecord() {
        return Boolean(this.record);
    }

    value(field) {
        return getFieldValue(this.record, field);
    }

    get name() {
        return this.value(NAME_FIELD);
    }

    get status() {
        return this.value(STATUS_FIELD);
    }

    get statusLabel() {
        return statusInfo(this.status).label;
    }

    get badgeClass() {
        return statusInfo(this.status).badge;
    }

    get isActive() {
        return statusInfo(this.status).active;
    }

    get objectName() {
        return this.value(OBJECT_FIELD) || '';
    }

    get operation() {
        return this.value(OPERATION_FIELD) || '';
    }

    get api() {
        return this.value(API_FIELD) || '';
    }

    get processed() {
        return this.value(PROCESSED_FIELD) || 0;
    }

    get succeeded() {
        return this.value(SUCCEEDED_FIELD) || 0;
    }

    get failed() {
        return this.value(FAILED_FIELD) || 0;
    }

    get errorSummary() {
        return this.value(ERROR_FIELD) || '';
    }

    // Share of processed rows that succeeded; the ring turns amber or red as errors grow.
    get successPercent() {
        if (!this.processed) {
            return 0;
        }
        return Math.round((this.succeeded / this.processed) * 100);
    }

    get ringVariant() {
        const status = this.status;
        if (status === 'failed') {
            return 'expired';
        }
        if (status === 'partial' || this.failed > 0) {
            return 'warning';
        }
        if (status === 'succeeded') {
            return 'base-autocomplete';
        }
        return 'base';
    }

    get duration() {
        return formatDuration(this.value(STARTED_FIELD), this.value(FINISHED_FIELD));
    }

    get durationLabel() {
        return this.isActive ? 'Running for' : 'Duration';
    }

    handleOpen(event) {
        event.preventDefault();
        this[NavigationMixin.Navigate](runPageReference(this.recordId));
    }
}
