"""One run moved by three worker processes at once; one is killed with SIGKILL mid-piece; every row lands once.

Real processes: three `python -m worker` against localorg over HTTPS, the test's database and Redis. The
run is split into pieces (INFLOW_PIECE_ROWS); the workers take them side by side. Once every worker is
in the middle of a piece (its Bulk job noted in the piece's journal), one worker and all its children are
killed at once, as on a lost machine. Its piece's lease expires, the maintenance sweep has the run's
coordinator offer the piece again, another worker resumes it from its journal (the Bulk job already
holding the rows), and the last piece's worker has the coordinator finish the run.
"""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from sqlalchemy import select

from backend.extensions import db
from backend.models.base import TenantScope
from backend.models.pieces import RunPiece
from backend.runs import service
from backend.runs.split import piece_workers
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.conftest import DRILL_DATABASES
from tests.e2e.test_crash_recovery import (
    INSERT_CONTACTS,
    _csv,
    _fresh_run,
    _kill_tree,
    _start_worker,
    _stop,
    _success_rows,
    _wait,
)
from tests.runs.factories import CLIENT_ID, CLIENT_SECRET, account, connect, csv_job

pytestmark = pytest.mark.faults  # `pytest -m faults` runs the fault drills alone
PIECE_ROWS = 2_000
ROWS = 6 * PIECE_ROWS + 500  # seven pieces, the last one short
WORKERS = 3
# The org's cap (INFLOW_ORG_MAX_PIECES, 5): a worker moves at most two pieces at once (its lanes), so with five
# in flight each of the three workers holds at least one.
IN_FLIGHT = 5


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET,
            "egress_allow_loopback": True, "piece_rows": PIECE_ROWS}


def _pieces(run_id: str) -> list[RunPiece]:
    db.session.rollback()
    return list(db.session.scalars(select(RunPiece).where(RunPiece.run_id == run_id).order_by(RunPiece.piece_no)))


def _mid_piece(p: RunPiece) -> bool:
    return p.state == "taken" and any(k.startswith("bulk2/job/") for k in (p.checkpoint or {}))


@pytest.mark.parametrize("database_url", DRILL_DATABASES, indirect=True)  # once: see tests/conftest.py
def test_three_workers_move_one_run_and_a_killed_one_s_piece_is_resumed_without_duplicates(
        app, app_config, make_org, localorg, sf_session, monkeypatch):  # noqa: F811
    monkeypatch.setenv("INFLOW_PIECE_ROWS", str(PIECE_ROWS))  # the worker processes split as this test does
    org = make_org()
    acct = account()
    job = csv_job(acct, connect(acct, org), _csv(ROWS), INSERT_CONTACTS, api="bulk2")
    org.knobs.latency_ms = 400  # slow enough to find every worker inside a piece
    workers = [_start_worker(app, app_config, localorg) for _ in range(WORKERS)]
    try:
        # A run splits only when two or more workers can take pieces: start it once all three listen.
        _wait(lambda: piece_workers() == WORKERS, "every worker to listen", workers[0])
        run = service.start_run(TenantScope(acct.id), job.id).run
        _wait(lambda: sum(_mid_piece(p) for p in _pieces(run.id)) >= IN_FLIGHT, "every worker to be mid-piece",
              workers[0])
        _kill_tree(workers[0].pid)
        workers[0].communicate(timeout=30)
        org.knobs.latency_ms = 0
        _wait(lambda: _fresh_run(run.id).finished, "the other workers to finish the run", workers[1])
    finally:
        output = "".join(_stop(w) for w in workers[1:])
    run = _fresh_run(run.id)
    pieces = _pieces(run.id)
    assert (run.state, run.rows_read, run.rows_succeeded, run.rows_failed) == (
        "succeeded", ROWS, ROWS, 0), output[-4000:]
    assert len(pieces) == 7 and all(p.state == "done" for p in pieces)
    assert max(p.attempts for p in pieces) == 2  # the killed worker's pieces were taken once more
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    in_org = sf.query_all("SELECT Id, Email FROM Contact")["records"]
    assert sorted(r["Email"] for r in in_org) == sorted(f"ann{i}@example.com" for i in range(ROWS))  # each once
    assert sorted(r["sf__Id"] for r in _success_rows(acct.id, run)) == sorted(r["Id"] for r in in_org)
