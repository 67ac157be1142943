"""A worker killed with SIGKILL once results are written and before they count (issue 21, "results written").

The kill lands at the exact moment, not after a guessed sleep: a PostgreSQL trigger makes the worker's UPDATE of
the run's row wait for an advisory lock this test holds; the test sees the wait in pg_locks, kills the worker
(and its children), then lets go. The dead worker's transaction is rolled back, its lease expires, the next
worker's sweep re-enqueues the run and it finishes: every row once in the org, one complete success file and one
error file, no leftovers of the dead attempt. Always on PostgreSQL (the hold is a trigger), whatever
INFLOW_TEST_DATABASES says. Marked `faults` with the other drills.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, select

from backend.extensions import db
from backend.models.base import TenantScope
from backend.models.storage import Blob
from backend.runs import service
from sfdx.localorg.pytest_plugin import localorg, make_org, sf_session  # noqa: F401
from tests.e2e.test_crash_recovery import _fresh_run, _kill_tree, _start_worker, _stop, _wait
from tests.e2e.test_faults import BULK_ROWS, _assert_every_row_once, _bulk_run, app_config  # noqa: F401

pytestmark = pytest.mark.faults
HOLD_KEY = 2121  # the advisory lock the trigger waits for
# When the worker is held: its UPDATE of the run's row that journals chunk 0 done (the chunk's result parts are
# written already), or that marks the run finished (both result files are assembled already).
CHUNK_JOURNALED = ("NOT COALESCE(OLD.checkpoint::jsonb, '{}') ? 'chunk/000000' "
                   "AND COALESCE(NEW.checkpoint::jsonb, '{}') ? 'chunk/000000'")
RUN_FINISHED = "OLD.state = 'running' AND NEW.state <> 'running'"


@contextmanager
def holding(when: str) -> Iterator[Connection]:
    """A trigger holds the worker's UPDATE of the run's row that matches `when` until the yielded connection
    lets go of the advisory lock (`_let_go`); the trigger is gone afterwards."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE FUNCTION drill_hold() RETURNS trigger LANGUAGE plpgsql AS "
                             f"$$ BEGIN PERFORM pg_advisory_xact_lock({HOLD_KEY}); RETURN NEW; END $$")
        conn.exec_driver_sql(f"CREATE TRIGGER drill_hold BEFORE UPDATE ON runs FOR EACH ROW WHEN ({when}) "
                             "EXECUTE FUNCTION drill_hold()")
    holder = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    holder.exec_driver_sql(f"SELECT pg_advisory_lock({HOLD_KEY})")
    try:
        yield holder
    finally:
        _let_go(holder)
        holder.close()
        db.session.rollback()  # the DROP waits for every open transaction on runs: none of ours stays open
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER drill_hold ON runs")
            conn.exec_driver_sql("DROP FUNCTION drill_hold()")


def _waiting(holder: Connection) -> bool:
    """A worker's transaction waits for the advisory lock: it is at the held moment."""
    return bool(holder.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                       f"AND objid = {HOLD_KEY} AND NOT granted").scalar())


def _let_go(holder: Connection) -> None:
    holder.exec_driver_sql("SELECT pg_advisory_unlock_all()")


def _complete_blobs(acct_id: str, name: str) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(Blob.id).where(Blob.account_id == acct_id, Blob.name == name,
                                                         Blob.complete.is_(True))))


def _kill_at_the_hold(app, app_config, localorg, holder) -> None:  # noqa: F811
    first = _start_worker(app, app_config, localorg)
    _wait(lambda: _waiting(holder), "the worker to reach the held moment", first)
    _kill_tree(first.pid)
    first.communicate(timeout=30)
    _let_go(holder)  # the dead worker's transaction goes on, finds its client gone and is rolled back


pg_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pg_only
def test_kill_9_once_a_chunk_s_results_are_written_before_they_are_journaled(app, app_config, make_org,  # noqa: F811
                                                                             localorg, sf_session):  # noqa: F811
    org, acct, run = _bulk_run(make_org, latency_ms=0)
    with holding(CHUNK_JOURNALED) as holder:
        _kill_at_the_hold(app, app_config, localorg, holder)
        killed = _fresh_run(run.id)
        assert killed.state == "running" and "chunk/000000" not in (killed.checkpoint or {})
        assert _complete_blobs(acct.id, f"run/{run.id}/success/000000")  # written, not yet counted
    second = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: _fresh_run(run.id).finished, "the next worker to finish the run", second)
    finally:
        output = _stop(second)
    _assert_every_row_once(org, sf_session, acct.id, _fresh_run(run.id), BULK_ROWS, output)
    assert _complete_blobs(acct.id, f"run/{run.id}/success/000000") == []  # parts are gone once the files exist


@pg_only
def test_kill_9_once_the_result_files_are_written_before_the_run_is_finished(app, app_config, make_org,  # noqa: F811
                                                                             localorg, sf_session):  # noqa: F811
    org, acct, run = _bulk_run(make_org, latency_ms=0)
    with holding(RUN_FINISHED) as holder:
        _kill_at_the_hold(app, app_config, localorg, holder)
        killed = _fresh_run(run.id)
        assert killed.state == "running" and killed.success_blob_id is None
        dead_files = _complete_blobs(acct.id, f"{run.id}-success.csv") + _complete_blobs(acct.id,
                                                                                          f"{run.id}-errors.csv")
        assert len(dead_files) == 2  # both files complete, the run not yet finished: the kill landed there
    second = _start_worker(app, app_config, localorg)
    try:
        _wait(lambda: _fresh_run(run.id).finished, "the next worker to finish the run", second)
    finally:
        output = _stop(second)
    done = _fresh_run(run.id)
    _assert_every_row_once(org, sf_session, acct.id, done, BULK_ROWS, output)
    # The run offers the next worker's files; the dead attempt's copies are deleted, not left until expiry.
    assert _complete_blobs(acct.id, f"{run.id}-success.csv") == [done.success_blob_id]
    assert _complete_blobs(acct.id, f"{run.id}-errors.csv") == [done.error_blob_id]
    assert not set(dead_files) & {done.success_blob_id, done.error_blob_id}
    assert service.progress(TenantScope(acct.id), run.id)["success_file"] == done.success_blob_id
