"""`python -m worker` runs queued jobs from the real Redis; the purge job deletes expired blobs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from rq import Queue
from rq.job import Job as RQJob

from backend.models.base import utcnow
from backend.services import get_blob_store, get_redis
from tests.foundation.factories import account

ROOT = Path(__file__).resolve().parents[2]


def test_worker_process_runs_the_purge_job(app, app_config):
    acct = account()
    store = get_blob_store()
    expired = store.put(acct.id, "upload", b"old", expires_at=utcnow() - timedelta(minutes=1))
    kept = store.put(acct.id, "result", b"new", expires_at=utcnow() + timedelta(days=1))
    job = Queue("maintenance", connection=get_redis()).enqueue("worker.tasks.purge_expired")

    keys = app.extensions["inflow.keyring"].to_json()
    env = {**os.environ, "INFLOW_ENV": "test", "DATABASE_URL": app_config["database_url"],
           "REDIS_URL": app_config["redis_url"], "INFLOW_KEYS": keys,
           "INFLOW_INSTANCE_PATH": str(app_config["instance_path"])}
    proc = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and RQJob.fetch(job.id, get_redis()).get_status() != "finished":
            time.sleep(0.2)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert RQJob.fetch(job.id, get_redis()).return_value() == 1, output
    assert store.read_all(acct.id, kept.id) == b"new"
    from backend.extensions import db
    from backend.models import Blob

    assert db.session.get(Blob, expired.id) is None
