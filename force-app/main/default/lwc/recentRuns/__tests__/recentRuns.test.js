import { createElement } from 'lwc';
import RecentRuns from 'c/recentRuns';
import { getListRecordsByName } from 'lightning/uiListsApi';

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

const STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled', 'rolling_back', 'rolled_back'];
const LABELS = ['Queued', 'Running', 'Succeeded', 'Partial', 'Failed', 'Cancelled', 'Rolling Back', 'Rolled Back'];

function run(index, status) {
    const values = {
        Name: `RUN-00000${index}`,
        Status__c: status,
        Object__c: 'Contact',
        Started__c: '2026-11-28T10:00:00.000Z',
        Finished__c: '2026-11-28T10:00:30.000Z',
        Records_Processed__c: 10 * index,
        Records_Failed__c: index
    };
    const fields = {};
    Object.entries(values).forEach(([name, value]) => {
        fields[name] = { value, displayValue: null };
    });
    return { apiName: 'Import_Run__c', id: `a0200000000000${index}AAA`, fields };
}

function listOf(records) {
    return { records, count: records.length, listInfoETag: 'x', pageSize: 10 };
}

function flush() {
    return Promise.resolve().then(() => Promise.resolve());
}

function mount(props = {}) {
    const element = createElement('c-recent-runs', { is: RecentRuns });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

const $ = (element, selector) => element.shadowRoot.querySelector(selector);
const $$ = (element, selector) => Array.from(element.shadowRoot.querySelectorAll(selector));

describe('c-recent-runs', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('shows a spinner while runs load', async () => {
        const element = mount();
        await flush();
        expect($(element, 'lightning-spinner')).not.toBeNull();
        getListRecordsByName.emit(listOf([run(1, 'running')]));
        await flush();
        expect($(element, 'lightning-spinner')).toBeNull();
    });

    it('asks for the newest runs of the All list view', async () => {
        mount({ maxRuns: 5 });
        await flush();
        const config = getListRecordsByName.getLastConfig();
        expect(config.objectApiName).toBe('Import_Run__c');
        expect(config.listViewApiName).toBe('All');
        expect(config.pageSize).toBe(5);
        expect(config.sortBy).toEqual(['-Import_Run__c.CreatedDate']);
        expect(config.fields).toEqual(expect.arrayContaining(['Import_Run__c.Status__c', 'Import_Run__c.Name']));
    });

    it('lists every status with its badge', async () => {
        const element = mount({ maxRuns: 20 });
        getListRecordsByName.emit(listOf(STATUSES.map((status, i) => run(i + 1, status))));
        await flush();
        const badges = $$(element, '[data-status]');
        expect(badges.map((b) => b.dataset.status)).toEqual(STATUSES);
        expect(badges.map((b) => b.textContent)).toEqual(LABELS);
        expect($$(element, '.run-name').map((a) => a.textContent)).toEqual(
            STATUSES.map((_, i) => `RUN-00000${i + 1}`)
        );
        expect($$(element, '.counts')[2].textContent).toContain('30 processed, 3 failed');
        expect($$(element, '.duration')[0].textContent).toBe('30s');
    });

    it('shows no more than the configured number of runs', async () => {
        const element = mount({ maxRuns: 2 });
        getListRecordsByName.emit(listOf([run(1, 'failed'), run(2, 'partial'), run(3, 'succeeded')]));
        await flush();
        expect($$(element, 'li.run')).toHaveLength(2);
    });

    it('says so when there are no runs yet', async () => {
        const element = mount();
        getListRecordsByName.emit(listOf([]));
        await flush();
        expect($(element, '.empty').textContent).toBe('No Inflow runs yet.');
        expect($$(element, 'li.run')).toHaveLength(0);
    });

    it('reports a load error', async () => {
        const element = mount();
        getListRecordsByName.error({ message: 'The requested resource does not exist' });
        await flush();
        expect($(element, '.error').textContent).toContain('The requested resource does not exist');
        expect($(element, 'lightning-spinner')).toBeNull();
    });

    it('shows a status it does not know as is', async () => {
        const element = mount();
        getListRecordsByName.emit(listOf([run(1, 'paused')]));
        await flush();
        expect($(element, '[data-status]').textContent).toBe('paused');
    });

    it('opens a run record and a run in Inflow', async () => {
        const element = mount();
        getListRecordsByName.emit(listOf([run(7, 'succeeded')]));
        await flush();
        $(element, 'a.run-name').click();
        expect(mockNavigate).toHaveBeenLastCalledWith({
            type: 'standard__recordPage',
            attributes: { recordId: 'a02000000000007AAA', actionName: 'view' }
        });
        $(element, 'a.open-in-inflow').click();
        expect(mockNavigate).toHaveBeenLastCalledWith({
            type: 'standard__navItemPage',
            attributes: { apiName: 'inflow__Inflow' },
            state: { inflow__runId: 'a02000000000007AAA' }
        });
    });
});
