"""A run that fails unexpectedly leaks no row data: not in logs, not in Redis, not in the job's arguments."""

from __future__ import annotations

import logging

import pytest
from rq import Queue

from backend.extensions import db
from backend.models import BlobChunk, Job, Run
from backend.models.base import TenantScope
from backend.runs import execute, service
from backend.services import get_redis
from tests.runs.factories import CONTACT_MAPPING, account, connect, csv_job

CANARY = "canary-7f3a9c"


@pytest.mark.promise("external-data-in-memory", "secrets-never-logged")
def test_a_forced_exception_leaves_no_row_data_in_logs_redis_or_job_arguments(app, org, caplog):
    acct = account()
    data = ("First Name,Last Name,Email\n" + f"Ann,{CANARY},{CANARY}@example.com\n").encode()
    job = csv_job(acct, connect(acct, org), data, CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    service.enqueue(run.id)
    # Force an unexpected failure: the stored upload no longer authenticates.
    chunk = db.session.scalars(db.select(BlobChunk).where(
        BlobChunk.blob_id == db.session.get(Job, job.id).source["blob_id"])).first()
    chunk.data = chunk.data[:-1] + bytes([chunk.data[-1] ^ 1])
    db.session.commit()

    with caplog.at_level(logging.DEBUG):
        outcome = execute.run_import(run.id)

    assert outcome == "failed"
    run = db.session.get(Run, run.id)
    assert run.state == "failed" and CANARY not in run.error_summary
    assert CANARY not in caplog.text
    assert not [r for r in caplog.records if r.exc_info and CANARY in logging.Formatter().formatException(r.exc_info)]
    redis = get_redis()
    for key in redis.scan_iter("*"):
        assert CANARY.encode() not in key
        kind = redis.type(key)
        if kind == b"string":
            assert CANARY.encode() not in (redis.get(key) or b"")
        elif kind == b"hash":
            assert not any(CANARY.encode() in v for v in redis.hgetall(key).values())
    (rq_job,) = Queue("imports", connection=redis).get_jobs()
    assert rq_job.args == (run.id,) and rq_job.kwargs == {}
