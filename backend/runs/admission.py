"""Whether a run may be enqueued under the account's plan: schedules, connectors, rows left this period."""

from __future__ import annotations

from backend.billing.plans import require
from backend.billing.usage import admit_rows, usage_for
from backend.models.base import NotFound, TenantScope
from backend.models.jobs import Job
from backend.runs.pieces import csv_rows_hint
from backend.services import get_blob_store


def admit(scope: TenantScope, job: Job, *, scheduled: bool = False) -> None:
    """Raise billing.plans.PlanRefused (QuotaExceeded for rows) with a message saying how to upgrade.

    Free plans run manually only: a scheduled start of a Free account is refused, so its schedules pause
    (kept on the job, running again after an upgrade) instead of being deleted.
    """
    if scheduled:
        require(scope.account_id, "schedules")
    source = job.source or {}
    if source.get("connection_id") or (source.get("target") or {}).get("connection_id"):  # reads or writes one
        require(scope.account_id, "connectors")
    left = usage_for(scope.account_id).left
    try:
        estimate = csv_rows_hint(get_blob_store(), scope.account_id, job, at_most=left)
    except NotFound:
        estimate = None  # the upload expired: the run fails with that message, not with a quota one
    admit_rows(scope.account_id, estimate)
