"""One measurement per process: `python -m benchmarks.child KIND ARGS_JSON` prints a JSON result line."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import MAPPING, ROOT

SS_BATCH_ROWS = 400_000


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and its finished children so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def arrow(src: str, out: str, **_: Any) -> dict[str, Any]:
    """pyarrow's own CSV read and write of the same file: the ceiling for a CSV pipeline in Python."""
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    table = pacsv.read_csv(src)
    pacsv.write_csv(table, out)
    return {"seconds": time.perf_counter() - started, "rows": table.num_rows}


def _client(instance_url: str, token: str) -> Any:
    from backend.salesforce.client import SalesforceClient

    return SalesforceClient(instance_url, token, ca_bundle=os.environ["REQUESTS_CA_BUNDLE"])


def pipeline(src: str, out: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    """Inflow without the network: read, map (3 transforms), lookup by external id, Bulk CSV bytes."""
    from backend.pipeline.sources import create_source

    return map_to_bulk_csv(lambda: create_source("csv", {}, open_stream=lambda: open(src, "rb")),  # noqa: SIM115
                           out, instance_url, token)


def map_to_bulk_csv(make_source: Any, out: str, instance_url: str, token: str) -> dict[str, Any]:
    """The clock covers making the source, reading, mapping, the lookup and the Bulk CSV bytes, as runner.run
    does; the bytes are written by a thread fed through a queue of 4, as the Bulk 2.0 sink's upload thread."""
    import queue
    import threading

    from backend.pipeline.lookups import LookupResolver
    from backend.pipeline.mapping import Mapper, Mapping
    from backend.pipeline.memory import lean_allocators
    from backend.pipeline.sinks.bulk_csv import csv_rows, upload_frame
    from backend.readahead import read_ahead

    client = _client(instance_url, token)
    mapping = Mapping.from_dict(MAPPING)
    describe = client.describe("Contact")
    client.describe("Account")  # describes are cached per run; fetch them before the clock starts
    lean_allocators()  # as runner.run does
    feed: queue.Queue[Any] = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def upload(f: Any) -> None:
        while (item := feed.get()) is not None:
            if not failed:  # after a failure the queue is still emptied, so the mapping never blocks on it
                try:
                    f.write(item[0].encode(item[1]))
                except BaseException as err:
                    failed.append(err)

    started = time.perf_counter()
    source = make_source()
    mapper, resolver = Mapper(mapping, describe, source.columns()), LookupResolver(client, mapping)
    rows = errors = 0
    with open(out, "wb") as f:
        writer = threading.Thread(target=upload, args=(f,))
        writer.start()
        try:
            for chunk in read_ahead(source.read()):  # as runner.run reads
                mapped = resolver.resolve(mapper.map_chunk(chunk))
                feed.put((csv_rows(upload_frame(mapped, "insert")), rows == 0))
                rows += len(mapped)
                errors += len(mapped.errors)
        finally:
            feed.put(None)
            writer.join()
    if failed:
        raise failed[0]
    return {"seconds": time.perf_counter() - started, "rows": rows, "errors": errors}


def _app(workdir: str, *, migrate: bool = True) -> Any:
    """The app on the benchmark's SQLite file: the web app, which creates the tables (`migrate`), or with
    `migrate=False` the worker's (`create_app(web=False)`, as `python -m worker` builds it)."""
    from backend import create_app

    app = create_app({"env": "test", "database_url": f"sqlite:///{workdir}/bench.db", "egress_allow_loopback": True,
                      "instance_path": Path(os.environ["INFLOW_INSTANCE_PATH"])}, web=migrate)
    if migrate:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    return app


def _job(src: str, instance_url: str, token: str, api: str) -> str:
    """Account, connected org, uploaded file (streamed, encrypted) and a queued run; returns the run id."""
    from backend.extensions import db
    from backend.models import Account, Job, OrgConnection
    from backend.models.base import TenantScope
    from backend.runs import service
    from backend.services import get_blob_store
    from backend.storage.blobs import expiry_for

    acct = Account(company="Bench", region="eu-frankfurt")
    db.session.add(acct)
    db.session.commit()
    org = OrgConnection(account_id=acct.id, name="bench", org_id="00D000000000001", instance_url=instance_url)
    org.set_secret("access_token", token)
    db.session.add(org)
    db.session.commit()
    writer = get_blob_store().create(acct.id, "upload", name="contacts.csv", expires_at=expiry_for("upload", 14))
    with open(src, "rb") as f:
        while block := f.read(1 << 20):
            writer.write(block)
    blob = writer.finish()
    job = TenantScope(acct.id).add(Job(name="bench", source={"type": "csv", "config": {}, "blob_id": blob.id},
                                       org_connection_id=org.id, object_name="Contact", operation="insert",
                                       mapping={**MAPPING, "api": api}))
    db.session.commit()
    return service.create_run(TenantScope(acct.id), job.id).run.id


def e2e_prep(src: str, workdir: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    """What the web app does before a worker runs an import: database, account, org, the upload stored
    encrypted, a queued run. A process of its own, so the measured one is the worker's alone."""
    app = _app(workdir)
    with app.app_context():
        return {"run_id": _job(src, instance_url, token, "bulk2")}


def e2e_inflow(run_id: str, workdir: str, **_: Any) -> dict[str, Any]:
    """run_import as a worker runs it: encrypted upload in, Bulk 2.0, encrypted result files out."""
    from backend.extensions import db
    from backend.models import Run
    from backend.runs import execute

    app = _app(workdir, migrate=False)
    with app.app_context():
        started, cpu = time.perf_counter(), cpu_seconds()
        state = execute.run_import(run_id)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        run = db.session.get(Run, run_id)
        return {"seconds": seconds, "cpu_s": round(cpu, 2), "state": state, "rows": run.rows_read,
                "succeeded": run.rows_succeeded, "failed": run.rows_failed, "api": run.api}


def e2e_ss(mapped: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    """simple-salesforce's Bulk 2.0 insert of the already mapped file, called as its README shows."""
    import requests
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify, session.trust_env = os.environ["REQUESTS_CA_BUNDLE"], False
    sf = Salesforce(instance_url=instance_url, session_id=token, session=session, version="66.0")
    started, cpu = time.perf_counter(), cpu_seconds()
    # batch_size: simple-salesforce sizes its jobs in characters, not bytes, so with non-ASCII data
    # ("Zürich") its default split makes a job over the 100 MB limit and it refuses to upload it.
    results = sf.bulk2.Contact.insert(csv_file=mapped, batch_size=SS_BATCH_ROWS)
    return {"seconds": time.perf_counter() - started, "cpu_s": round(cpu_seconds() - cpu, 2), "jobs": len(results),
            "succeeded": sum(r["numberRecordsProcessed"] - r["numberRecordsFailed"] for r in results),
            "failed": sum(r["numberRecordsFailed"] for r in results)}


def rest500(src: str, workdir: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    """A 500-row REST import from enqueue to finished, through Redis and a running `python -m worker`."""
    from rq import Worker

    from backend.extensions import db
    from backend.models import Run
    from backend.runs import service
    from backend.services import get_redis

    app = _app(workdir)
    with app.app_context():
        run_id = _job(src, instance_url, token, "rest")
        env = {**os.environ, "INFLOW_ENV": "test", "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
               "INFLOW_EGRESS_ALLOW_LOOPBACK": "1"}
        worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            while not Worker.all(connection=get_redis()):
                time.sleep(0.05)
            time.sleep(1)  # let its scheduler and cron child settle
            started = time.perf_counter()
            service.enqueue(run_id)
            while True:
                db.session.rollback()
                run = db.session.get(Run, run_id)
                if run.finished:
                    break
                time.sleep(0.01)
            seconds = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(30)
        return {"seconds": seconds, "state": run.state, "succeeded": run.rows_succeeded, "api": run.api}


def pg_copy(dsn: str, table: str, **_: Any) -> dict[str, Any]:
    from benchmarks import pg

    return pg.copy_out(dsn, table)


def pg_inflow(dsn: str, table: str, out: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    import backend.connectors  # noqa: F401  (imported before the clock starts, as in a running worker)
    from benchmarks import pg

    return map_to_bulk_csv(lambda: pg.inflow_source(dsn, table), out, instance_url, token)


KINDS = {"arrow": arrow, "pipeline": pipeline, "e2e_prep": e2e_prep, "e2e_inflow": e2e_inflow, "e2e_ss": e2e_ss,
         "rest500": rest500, "pg_copy": pg_copy, "pg_inflow": pg_inflow}


def _kinds() -> dict[str, Any]:
    from benchmarks.child_export import KINDS as EXPORT_KINDS
    from benchmarks.workers_bench import workers

    return {**KINDS, **EXPORT_KINDS, "workers": workers}


def main() -> None:
    kind, args = sys.argv[1], json.loads(sys.argv[2])
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    result = _kinds()[kind](**args)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
