"""Free accounts run manually only: setting a schedule is refused saying which plans have it, and a schedule
already on the job (the account dropped to Free) pauses at its next occurrence instead of running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.billing.plans import PlanRefused
from backend.extensions import db
from backend.models import Job, Run
from backend.models.base import TenantScope
from backend.models.connections import Connection
from backend.runs import schedules
from tests.runs.factories import CONTACT_MAPPING, account, connect, contacts_csv, csv_job

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_a_free_account_cannot_schedule_and_a_kept_schedule_pauses(app, org):
    acct = account()
    job = csv_job(acct, connect(acct, org), contacts_csv(2), CONTACT_MAPPING)
    conn = TenantScope(acct.id).add(Connection(type="postgresql", name="ERP"))
    db.session.flush()
    job.source = {"type": "csv", "config": {}, "connection_id": conn.id}
    db.session.commit()
    with pytest.raises(PlanRefused, match="Scheduled runs are not part of the Free plan"):
        schedules.set_schedule(TenantScope(acct.id), job.id, "daily 02:30", "Europe/Berlin")
    job.schedule, job.schedule_tz, job.schedule_since = "daily 02:30", "Europe/Berlin", T0  # kept from a paid plan
    db.session.commit()
    [fired] = schedules.fire_due(T0 + timedelta(minutes=31))
    assert fired.outcome == "paused"
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.schedule == "daily 02:30" and job.schedule_paused
    assert "not part of the Free plan" in job.schedule_pause_reason
    assert TenantScope(acct.id).all(Run, Run.job_id == job.id) == []
