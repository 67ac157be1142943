"""Processed rows per billing period: counted once when a run finishes, checked when a run is enqueued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from backend.billing.plans import UPGRADE_HINT, Plan, PlanRefused, billing_record, plan_for
from backend.extensions import db
from backend.models.base import utcnow
from backend.models.billing import UsageRecord
from backend.models.runs import Run


@dataclass(frozen=True)
class Usage:
    plan: Plan
    start: datetime
    end: datetime
    used: int

    @property
    def left(self) -> int:
        return max(self.plan.monthly_rows - self.used, 0)


class QuotaExceeded(PlanRefused):
    """A run would process more rows than the plan has left this period."""

    def __init__(self, message: str, rows_left: int) -> None:
        super().__init__(message)
        self.rows_left = rows_left


def period_for(account_id: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The subscription's current period while one is in force, else the calendar month (UTC)."""
    now = now or utcnow()
    billing = billing_record(account_id)
    if billing and billing.current_period_start and billing.current_period_end and \
            billing.current_period_start <= now < billing.current_period_end and plan_for(account_id).name != "free":
        return billing.current_period_start, billing.current_period_end
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def usage_for(account_id: str, now: datetime | None = None) -> Usage:
    start, end = period_for(account_id, now)
    used = db.session.scalar(select(func.coalesce(func.sum(UsageRecord.rows), 0)).where(
        UsageRecord.account_id == account_id, UsageRecord.counted_at >= start, UsageRecord.counted_at < end))
    return Usage(plan_for(account_id, now=now), start, end, int(used or 0))


def count_run(run: Run) -> None:
    """Add a finished run's processed rows (succeeded + failed) to the account's usage, once per run: in the
    caller's transaction, so the count lands with the finished state or not at all. A rollback later, or a
    failed rollback returning the run to succeeded, finds the run counted and adds nothing."""
    if not run.finished or run.state == "rolled_back":
        return
    counted = db.session.scalar(select(UsageRecord.id).where(UsageRecord.run_id == run.id))
    if counted is None:
        db.session.add(UsageRecord(account_id=run.account_id, run_id=run.id,
                                   rows=int(run.rows_succeeded or 0) + int(run.rows_failed or 0)))


def admit_rows(account_id: str, estimated_rows: int | None) -> Usage:
    """Refuse a run that would go over the quota, saying how many rows are left and how to upgrade. A run
    whose size is unknown is refused only when nothing is left; a running run is never stopped."""
    usage = usage_for(account_id)
    over = usage.left == 0 or (estimated_rows is not None and estimated_rows > usage.left)
    if over:
        size = f"This run has {estimated_rows:,} rows, but" if estimated_rows is not None else "This run cannot start:"
        raise QuotaExceeded(
            f"{size} the {usage.plan.title} plan has {usage.left:,} of its {usage.plan.monthly_rows:,} rows left "
            f"until {usage.end:%d %B %Y}. {UPGRADE_HINT}", usage.left)
    return usage
