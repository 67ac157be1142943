"""A job that reads a PostgreSQL table through a saved connection, scheduled, fires and imports for real:
the worker reads the database, writes to localorg, and the run is recorded as scheduled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models import Job, Run
from backend.models.base import TenantScope, utcnow
from backend.models.connections import Connection
from backend.runs import execute, schedules
from tests.connectors import servers
from tests.runs.factories import FORCE_APP, account, connect


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        yield params


def test_a_scheduled_database_job_reads_the_table_and_imports_it(app, make_org, pg):
    org = make_org(source_dir=FORCE_APP)
    acct = account()
    scope = TenantScope(acct.id)
    url = f"postgresql://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{pg['database']}"
    conn = stored.create_from_url(scope, "erp", url)
    db.session.commit()
    job = scope.add(Job(name="ERP people", org_connection_id=connect(acct, org).id, object_name="Contact",
                        operation="insert", source={"type": "connection", "connection_id": conn.id,
                                                    "read": {"table": "sales.people", "columns": ["id", "name"]}},
                        mapping={"object": "Contact", "operation": "insert", "api": "rest",
                                 "fields": [{"field": "LastName", "column": "name"}]}))
    db.session.commit()
    schedules.set_schedule(scope, job.id, "every 15m", "Europe/Berlin")
    occurrence = schedules.upcoming(db.session.get(Job, job.id), 1)[0]
    [fired] = schedules.fire_due(occurrence + timedelta(seconds=5))
    assert fired.outcome == "started"
    assert execute.run_import(fired.run_id) == "succeeded"
    run = db.session.get(Run, fired.run_id)
    assert (run.trigger, run.rows_succeeded, run.scheduled_for) == ("schedule", 3, occurrence)
    names = sorted(r["LastName"] for r in org.store.table("Contact").rows.values())
    assert names == sorted(row[1] for row in servers.ROWS)
    db.session.expire_all()
    assert db.session.get(Connection, conn.id).last_used_at >= utcnow() - timedelta(minutes=5)
