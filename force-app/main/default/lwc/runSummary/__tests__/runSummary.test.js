import { createElement } from 'lwc';
import RunSummary from 'c/runSummary';
import { getRecord } from 'lightning/uiRecordApi';

const mockNavigate = jest.fn();
jest.mock('lightning/navigation', () => {
    const Navigate = Symbol('Navigate');
    const NavigationMixin = (Base) =>
        class extends Base {
            [Navigate](pageReference) {
                mockNavigate(pageReference);
            }
        };
    NavigationMixin.Navigate = Navigate;
    return { NavigationMixin };
});

const RUN_ID = 'a01000000000001AAA';

function runRecord(fields) {
    const values = {
        Name: 'RUN-000042',
        Status__c: 'succeeded',
        Object__c: 'Account',
        Operation__c: 'upsert',
        API__c: 'bulk2',
        Started__c: '2026-11-28T10:00:00.000Z',
        Finished__c: '2026-11-28T10:02:05.000Z',
        Records_Processed__c: 200,
        Records_Succeeded__c: 150,
        Records_Failed__c: 50,
        Error_Summary__c: null,
        ...fields
    };
    const recordFields = {};
    Object.entries(values).forEach(([name, value]) => {
        recordFields[name] = { value, displayValue: null };
    });
    return { apiName: 'Import_Run__c', id: RUN_ID, fields: recordFields };
}

function flush() {
    return Promise.resolve().then(() => Promise.resolve());
}

function mount() {
    const element = createElement('c-run-summary', { is: RunSummary });
    element.recordId = RUN_ID;
    document.body.appendChild(element);
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);

describe('c-run-summary', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('shows a spinner until the run is loaded', async () => {
        const element = mount();
        await flush();
        expect($(element, 'lightning-spinner')).not.toBeNull();
        expect($(element, '.processed')).toBeNull();

        getRecord.emit(runRecord());
        await flush();
        expect($(element, 'lightning-spinner')).toBeNull();
    });

    it('asks for the run it is placed on', async () => {
        mount();
        await flush();
        expect(getRecord.getLastConfig().recordId).toBe(RUN_ID);
        const fields = getRecord.getLastConfig().fields.map((f) => f.fieldApiName);
        expect(fields).toEqual(expect.arrayContaining(['Status__c', 'Records_Processed__c', 'Started__c']));
    });

    it.each([
        ['queued', 'Queued', 'slds-badge'],
        ['running', 'Running', 'slds-badge_inverse'],
        ['succeeded', 'Succeeded', 'slds-theme_success'],
        ['partial', 'Partial', 'slds-theme_warning'],
        ['failed', 'Failed', 'slds-theme_error'],
        ['cancelled', 'Cancelled', 'slds-badge_lightest'],
        ['rolling_back', 'Rolling Back', 'slds-theme_warning'],
        ['rolled_back', 'Rolled Back', 'slds-badge_lightest']
    ])('shows status %s as a "%s" badge', async (status, label, cssClass) => {
        const element = mount();
        getRecord.emit(runRecord({ Status__c: status }));
        await flush();
        const badge = $(element, '[data-status]');
        expect(badge.textContent).toBe(label);
        expect(badge.dataset.status).toBe(status);
        expect(badge.classList).toContain(cssClass);
    });

    it('shows counts, the success share and the duration of a finished run', async () => {
        const element = mount();
        getRecord.emit(runRecord());
        await flush();
        expect($(element, '.processed').textContent).toBe('200');
        expect($(element, '.succeeded').textContent).toBe('150');
        expect($(element, '.failed').textContent).toBe('50');
        expect($(element, '.duration').textContent).toBe('2m 5s');
        expect($(element, '.api').textContent).toBe('bulk2');
        expect($(element, '.percent').textContent).toBe('75% succeeded');
        const ring = $(element, 'lightning-progress-ring');
        expect(ring.value).toBe(75);
        expect(ring.variant).toBe('warning');
    });

    it('colours the ring by outcome', async () => {
        const element = mount();
        getRecord.emit(runRecord({ Status__c: 'failed', Records_Succeeded__c: 0, Records_Failed__c: 200 }));
        await flush();
        expect($(element, 'lightning-progress-ring').variant).toBe('expired');

        getRecord.emit(runRecord({ Status__c: 'succeeded', Records_Succeeded__c: 200, Records_Failed__c: 0 }));
        await flush();
        expect($(element, 'lightning-progress-ring').variant).toBe('base-autocomplete');
        expect($(element, '.percent').textContent).toBe('100% succeeded');
    });

    it('treats a run that has processed nothing as 0%', async () => {
        const element = mount();
        getRecord.emit(
            runRecord({
                Status__c: 'queued',
                Started__c: null,
                Finished__c: null,
                Records_Processed__c: null,
                Records_Succeeded__c: null,
                Records_Failed__c: null
            })
        );
        await flush();
        expect($(element, '.processed').textContent).toBe('0');
        expect($(element, '.percent').textContent).toBe('0% succeeded');
        expect($(element, '.duration').textContent).toBe('');
    });

    it('measures a running run up to now', async () => {
        const started = new Date(Date.now() - 3 * 3600 * 1000 - 4 * 60 * 1000).toISOString();
        const element = mount();
        getRecord.emit(runRecord({ Status__c: 'running', Started__c: started, Finished__c: null }));
        await flush();
        expect($(element, '.duration').textContent).toBe('3h 4m');
        expect(element.shadowRoot.textContent).toContain('Running for');
    });

    it('shows the error summary when the run has one', async () => {
        const element = mount();
        getRecord.emit(runRecord({ Status__c: 'failed', Error_Summary__c: 'INVALID_SESSION_ID: session expired' }));
        await flush();
        expect($(element, '.error-summary').textContent).toContain('INVALID_SESSION_ID');
    });

    it('reports a load error instead of the summary', async () => {
        const element = mount();
        getRecord.error({ message: 'You do not have access to this record.' });
        await flush();
        expect($(element, '.error').textContent).toContain('You do not have access to this record.');
        expect($(element, 'lightning-spinner')).toBeNull();
        expect($(element, '.processed')).toBeNull();
    });

    it('opens the run in the Inflow tab', async () => {
        const element = mount();
        getRecord.emit(runRecord());
        await flush();
        $(element, 'a.open-in-inflow').click();
        expect(mockNavigate).toHaveBeenCalledWith({
            type: 'standard__navItemPage',
            attributes: { apiName: 'inflow__Inflow' },
            state: { inflow__runId: RUN_ID }
        });
    });
});
