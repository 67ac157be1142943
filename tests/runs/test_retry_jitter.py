"""A run whose org cannot be reached waits and retries with jittered delays, saying why it waits."""

from __future__ import annotations

import socket
from datetime import datetime

from backend.extensions import db
from backend.models import Run
from backend.models.base import TenantScope, utcnow
from backend.runs import execute, service
from tests.runs.factories import CONTACT_MAPPING, account, connect, contacts_csv, csv_job


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_org_pauses_runs_with_the_reason_and_spread_out_retry_times(app, org):
    acct = account()
    conn = connect(acct, org)
    conn.instance_url = f"https://127.0.0.1:{_closed_port()}"  # the org is unreachable for now
    db.session.commit()
    scope, waits = TenantScope(acct.id), []
    for _ in range(4):
        run = service.create_run(scope, csv_job(acct, conn, contacts_csv(3), CONTACT_MAPPING, api="rest").id).run
        assert execute.run_import(run.id) == "paused"
        after = utcnow()
        progress = service.progress(scope, run.id)
        assert db.session.get(Run, run.id).state == "running"
        assert progress["pause_reason"].startswith("Retry 1 of 5: Salesforce could not be reached")
        waits.append((datetime.fromisoformat(progress["paused_until"]) - after).total_seconds())
    # 30 s +-25 % from the failure (a few seconds before `after`), and not in lockstep: four runs failing
    # together come back at different times.
    # Without jitter all four would wait 30 s less the same few milliseconds; with it they spread over 15 s.
    assert all(15 <= w <= 37.5 for w in waits) and max(waits) - min(waits) > 0.5
