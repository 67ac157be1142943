// Shared presentation of an Import_Run__c status: labels, badge styles and helpers used by
// runSummary and recentRuns so both show a run the same way.

const STATUSES = {
    queued: { label: 'Queued', badge: 'slds-badge', active: true },
    running: { label: 'Running', badge: 'slds-badge slds-badge_inverse', active: true },
    succeeded: { label: 'Succeeded', badge: 'slds-badge slds-theme_success', active: false },
    partial: { label: 'Partial', badge: 'slds-badge slds-theme_warning', active: false },
    failed: { label: 'Failed', badge: 'slds-badge slds-theme_error', active: false },
    cancelled: { label: 'Cancelled', badge: 'slds-badge slds-badge_lightest', active: false },
    rolling_back: { label: 'Rolling Back', badge: 'slds-badge slds-theme_warning', active: true },
    rolled_back: { label: 'Rolled Back', badge: 'slds-badge slds-badge_lightest', active: false }
};

const UNKNOWN = { label: 'Unknown', badge: 'slds-badge', active: false };

export const RUN_STATUSES = Object.keys(STATUSES);

export function statusInfo(status) {
    return STATUSES[status] || { ...UNKNOWN, label: status || UNKNOWN.label };
}

export function formatDuration(startedIso, finishedIso, now = Date.now()) {
    if (!startedIso) {
        return '';
    }
    const start = Date.parse(startedIso);
    const end = finishedIso ? Date.parse(finishedIso) : now;
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) {
        return '';
    }
    let seconds = Math.round((end - start) / 1000);
    const hours = Math.floor(seconds / 3600);
    seconds -= hours * 3600;
    const minutes = Math.floor(seconds / 60);
    seconds -= minutes * 60;
    if (hours) {
        return `${hours}h ${minutes}m`;
    }
    if (minutes) {
        return `${minutes}m ${seconds}s`;
    }
    return `${seconds}s`;
}

// Errors from LDS wire adapters come in several shapes (one body, an array of bodies, a
// JS Error); this turns any of them into text a user can read.
export function errorMessage(error) {
    if (!error) {
        return '';
    }
    const errors = Array.isArray(error) ? error : [error];
    const messages = errors
        .map((e) => {
            if (!e) {
                return '';
            }
            if (e.body) {
                if (Array.isArray(e.body)) {
                    return e.body.map((b) => b.message).join(', ');
                }
                return e.body.message || '';
            }
            return e.message || String(e);
        })
        .filter((m) => m);
    return messages.join('; ') || 'Unknown error';
}

// Opens the Inflow tab on one run; the tab's Aura host forwards inflow__runId to the canvas app.
export function runPageReference(runId) {
    return {
        type: 'standard__navItemPage',
        attributes: { apiName: 'inflow__Inflow' },
        state: { inflow__runId: runId }
    };
}
