"""Queries behind the importer's screens: jobs with their last run, run history with filters, record pages."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import desc, func, select
from sqlalchemy.orm import defer

from backend.errors import InflowError
from backend.extensions import db
from backend.models import Job, OrgConnection, Run, TenantScope
from backend.models.base import utcnow
from backend.salesforce import mirror_fields as mf
from backend.salesforce.client import soql_quote
from backend.services import get_keyring, get_settings

log = logging.getLogger(__name__)
STATE_LABELS = {
    "queued": "Queued", "running": "Running", "cancelling": "Cancelling", "cancelled": "Cancelled",
    "succeeded": "Succeeded", "partial": "Finished with errors", "failed": "Failed",
    "rolling_back": "Rolling back", "rolled_back": "Rolled back", "skipped": "Skipped (previous run still running)",
}
# One wording for an org's state, wherever it shows (Instances, the header, the API's status_label).
ORG_STATUS_LABELS = {"connected": "Connected", "disconnected": "Disconnected: background access off",
                     "reconnect_required": "Reconnect required"}
STATE_BADGES = {"succeeded": "slds-theme_success", "partial": "slds-theme_warning", "failed": "slds-theme_error",
                "cancelled": "", "rolled_back": "", "skipped": "", "running": "slds-badge_inverse", "queued": ""}


@dataclass(frozen=True)
class RunFilters:
    state: str = ""
    object_name: str = ""
    job_id: str = ""
    days: int = 0

    @classmethod
    def from_args(cls, args: Any) -> RunFilters:
        state = args.get("state", "")
        days = args.get("days", "")
        return cls(state=state if state in STATE_LABELS else "", object_name=args.get("object", "")[:255],
                   job_id=args.get("job", "")[:32], days=int(days) if days.isdigit() else 0)


@dataclass(frozen=True)
class RunRow:
    run: Run
    job: Job

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.run.state, self.run.state)

    @property
    def badge(self) -> str:
        return STATE_BADGES.get(self.run.state, "")


def recent_runs(scope: TenantScope, *, job_id: str | None = None, filters: RunFilters | None = None,
                limit: int = 20) -> list[RunRow]:
    """The account's runs, newest first, with their jobs; narrowed by a job and/or the history filters."""
    # Lists show neither a run's journal nor a job's source and mapping: left unread, a history page of 200 runs
    # decodes no JSON instead of 1,000 documents (issue 21, load test). Read on access if a caller needs them.
    query = select(Run, Job).join(Job, Job.id == Run.job_id).where(
        Run.account_id == scope.account_id, Job.account_id == scope.account_id).options(
        defer(Run.checkpoint), defer(Job.source), defer(Job.mapping), defer(Job.notify_emails),
        defer(Job.notify_user_ids))
    f = filters or RunFilters()
    if job_id or f.job_id:
        query = query.where(Run.job_id == (job_id or f.job_id))
    if f.state:
        query = query.where(Run.state == f.state)
    if f.object_name:
        query = query.where(func.lower(Job.object_name) == f.object_name.lower())
    if f.days:
        query = query.where(Run.created_at >= utcnow() - timedelta(days=f.days))
    rows = db.session.execute(query.order_by(desc(Run.created_at)).limit(limit)).all()
    return [RunRow(run, job) for run, job in rows]


def _plural(object_name: str) -> str:
    if object_name.endswith("__c"):
        return f"{object_name} records"
    if object_name.endswith("y") and not object_name.endswith(("ay", "ey", "oy")):
        return object_name[:-1] + "ies"
    return object_name + ("es" if object_name.endswith(("s", "x", "ch", "sh")) else "s")


def last_run_summary(row: RunRow | None) -> str:
    """What the job's last run did, in a sentence for the "Run again?" question."""
    if row is None:
        return "This job has not run yet."
    run, job = row.run, row.job
    when = (run.finished_at or run.created_at).strftime("%Y-%m-%d %H:%M UTC")
    if run.state in ("queued", "running", "cancelling", "rolling_back"):
        return f"A run of this job started {when} is still {row.state_label.lower()}."
    things = _plural(job.object_name)
    did = {"insert": f"inserted {run.rows_succeeded:,} {things}",
           "update": f"updated {run.rows_succeeded:,} {things}",
           "upsert": f"created {run.rows_created:,} and updated {run.rows_succeeded - run.rows_created:,} {things}",
           }.get(job.operation, f"deleted {run.rows_succeeded:,} {things}")
    text = f"The last run {did} on {when}"
    skipped = run.rows_read - run.rows_succeeded - run.rows_failed
    if skipped > 0:
        text += f"; {skipped:,} {'row was' if skipped == 1 else 'rows were'} skipped"
    if run.rows_failed:
        text += f"; {run.rows_failed:,} rows failed"
    if run.state == "rolled_back":
        text += "; it was rolled back since"
    elif run.state in ("failed", "cancelled"):
        text += f" ({row.state_label.lower()})"
    return text + "."


def jobs_with_last_run(scope: TenantScope) -> list[tuple[Job, RunRow | None]]:
    jobs = scope.all(Job, order_by=desc(Job.updated_at))
    out = []
    for job in jobs:
        last = recent_runs(scope, job_id=job.id, limit=1)
        out.append((job, last[0] if last else None))
    return out


def _client(org: OrgConnection) -> Any:
    from backend.salesforce.session import client_for

    return client_for(org, get_keyring(), get_settings(), timeout=10)


def run_record_url(org: OrgConnection, run: Run) -> str | None:
    """The run's Import_Run__c record page in the org, when the mirror has written it."""
    obj = mf.object_name(mf.RUN_OBJECT, org.namespace_prefix)
    key = mf.field_name(mf.RUN_KEY_FIELD, org.namespace_prefix)
    try:
        rows = _client(org).query_all(f"SELECT Id FROM {obj} WHERE {key} = {soql_quote(run.id)} LIMIT 1")
    except (InflowError, OSError, TypeError) as err:
        log.info("no record link for run %s: %s", run.id, err)
        return None
    return f"{org.instance_url.rstrip('/')}/lightning/r/{obj}/{rows[0]['Id']}/view" if rows else None


def find_by_record(identity: Any, record_id: str) -> tuple[str, Job | Run] | None:
    """("run", Run) or ("job", Job) for an Import_Run__c / Import_Job__c record Id of the launching org."""
    if not identity.org_connection_id or not record_id.isalnum() or len(record_id) not in (15, 18):
        return None
    org = identity.scope.get(OrgConnection, identity.org_connection_id)
    client = _client(org)
    for base, key_field, kind, model in ((mf.RUN_OBJECT, mf.RUN_KEY_FIELD, "run", Run),
                                        (mf.JOB_OBJECT, mf.JOB_KEY_FIELD, "job", Job)):
        obj, key = mf.object_name(base, org.namespace_prefix), mf.field_name(key_field, org.namespace_prefix)
        try:
            rows = client.query_all(f"SELECT {key} FROM {obj} WHERE Id = {soql_quote(record_id)}")
        except InflowError:
            continue
        if rows and rows[0].get(key):
            found = identity.scope.all(model, model.id == rows[0][key])
            if found:
                return kind, found[0]
    return None
