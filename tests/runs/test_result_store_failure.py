"""A blob store that refuses writes (full, failing) while a run saves its results: the run fails with a clear
message and no result file, whole or half, is offered. The refusal is the database's own (a trigger), on
SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Blob, Run
from backend.models.base import NotFound, TenantScope
from backend.runs import execute, service
from backend.runs.parts import STORE_REFUSED
from tests.runs.factories import CONTACT_MAPPING, account, connect, contacts_csv, csv_job

pytestmark = pytest.mark.faults


def _assert_failed_without_files(acct, run_id: str) -> None:
    db.session.rollback()
    run = db.session.get(Run, run_id)
    assert run.state == "failed" and run.error_summary == STORE_REFUSED
    assert (run.success_blob_id, run.error_blob_id) == (None, None)
    for kind in ("success", "error"):
        with pytest.raises(NotFound):
            service.result_file(TenantScope(acct.id), run_id, kind)
    complete = db.session.scalars(select(Blob.name).where(Blob.account_id == acct.id, Blob.complete.is_(True),
                                                          Blob.kind == "result")).all()
    assert not [n for n in complete if n.endswith(".csv")]  # no finished file of this run anywhere
    assert service.progress(TenantScope(acct.id), run_id)["error"] == STORE_REFUSED


def test_a_store_refusing_result_parts_fails_the_run_with_a_clear_message(app, org, failing_store):
    acct = account()
    run = service.create_run(TenantScope(acct.id), csv_job(acct, connect(acct, org), contacts_csv(5),
                                                            CONTACT_MAPPING, api="rest").id).run
    failing_store("run/%/success/%")
    assert execute.run_import(run.id) == "failed"
    _assert_failed_without_files(acct, run.id)


def test_a_store_full_when_the_error_file_is_joined_offers_not_even_the_success_file(app, org, failing_store):
    acct = account()
    run = service.create_run(TenantScope(acct.id), csv_job(acct, connect(acct, org), contacts_csv(5),
                                                            CONTACT_MAPPING, api="rest").id).run
    failing_store("%-errors.csv")  # the success file is joined and saved first; then the store is full
    assert execute.run_import(run.id) == "failed"
    _assert_failed_without_files(acct, run.id)
