"""The load test's stack on loopback: app database, Redis, gunicorn (the Procfile's web command), RQ workers,
and the tenants it serves (accounts, users, a connected org, jobs, run history, app tokens)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common import MAPPING, ROOT, write_source

PG_SERVER = os.environ.get("INFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HISTORY_RUNS = 200  # finished runs per account: a history page lists up to 200


@dataclass
class Tenant:
    account_id: str
    job_id: str
    tokens: list[str]  # one app token per user, as a canvas launch mints them
    history: list[str] = field(default_factory=list)  # run ids, newest first


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(kind: str, work: Path) -> tuple[str, str]:
    """("postgresql" | "sqlite", SQLAlchemy URL) of a new empty app database; `auto`: PostgreSQL if it answers."""
    if kind in ("auto", "postgresql"):
        import psycopg

        name = f"inflow_load_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            return "postgresql", "postgresql+psycopg://" + PG_SERVER.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
        except psycopg.OperationalError:
            if kind == "postgresql":
                raise
    return "sqlite", f"sqlite:///{work / 'instance' / 'load.db'}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def environment(database_url: str, redis_url: str, keys: str, work: Path, ca_bundle: str) -> dict[str, str]:
    """What web and worker processes are given, as a deployment gives them (keys in the environment)."""
    return {**os.environ, "INFLOW_ENV": "development", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "INFLOW_KEYS": keys, "INFLOW_INSTANCE_PATH": str(work / "instance"), "REQUESTS_CA_BUNDLE": ca_bundle,
            "INFLOW_EGRESS_ALLOW_LOOPBACK": "1",  # localorg listens on 127.0.0.1
            "INFLOW_APP_TOKEN_MINUTES": "60"}


def seed(app: Any, org: dict[str, str], work: Path, *, accounts: int, users: int, imports: int,
         import_rows: int) -> list[Tenant]:
    """`accounts` tenants on the Business plan sharing `users` users, each with the bench org connected, a
    saved Bulk 2.0 job over an uploaded file (`import_rows` rows) and HISTORY_RUNS finished runs."""
    from flask_migrate import upgrade

    from backend.extensions import db
    from backend.models import Account, Job, OrgConnection, Run, TenantScope, User
    from backend.models.base import utcnow
    from backend.services import get_blob_store, get_keyring
    from backend.storage.blobs import expiry_for

    source = work / "import.csv"
    write_source(source, import_rows)
    tenants = []
    with app.app_context():
        upgrade()
        now = utcnow()
        for a in range(accounts):
            acct = Account(company=f"Load {a}", region="eu-frankfurt", plan="business")
            db.session.add(acct)
            db.session.flush()
            conn = OrgConnection(account_id=acct.id, name="bench", org_id=f"00D00000000{a:04d}",
                                 instance_url=org["instance_url"])
            conn.set_secret("access_token", org["access_token"])
            db.session.add(conn)
            people = [User(account_id=acct.id, email=f"user{u}@load{a}.example", role="admin" if u == a else "user",
                           first_name="Load", last_name=f"User {u}", email_verified=True)
                      for u in range(a, users, accounts)]
            db.session.add_all(people)
            db.session.commit()
            blob_id = "none"
            if a < imports:
                writer = get_blob_store().create(acct.id, "upload", name="import.csv",
                                                 expires_at=expiry_for("upload", 14))
                with source.open("rb") as f:
                    while block := f.read(1 << 20):
                        writer.write(block)
                blob_id = writer.finish().id
            job = TenantScope(acct.id).add(Job(
                name=f"Contacts {a}", source={"type": "csv", "config": {}, "blob_id": blob_id},
                org_connection_id=conn.id, object_name="Contact", operation="insert",
                mapping={**MAPPING, "api": "bulk2"}))
            db.session.flush()
            runs = [Run(account_id=acct.id, job_id=job.id, state="succeeded" if r % 7 else "partial", phase="done",
                        api="bulk2", rows_read=1000 + r, rows_succeeded=1000 + r - (0 if r % 7 else 3),
                        rows_failed=0 if r % 7 else 3, rows_created=1000 + r, created_at=now - timedelta(hours=r + 1),
                        started_at=now - timedelta(hours=r + 1), finished_at=now - timedelta(hours=r + 1) +
                        timedelta(minutes=2)) for r in range(HISTORY_RUNS)]
            db.session.add_all(runs)
            db.session.commit()
            tokens = [_token(get_keyring(), acct.id, u.id, conn.id) for u in people]
            tenants.append(Tenant(acct.id, job.id, tokens, [r.id for r in runs]))
        db.session.remove()
        db.engine.dispose()
    return tenants


def _token(keyring: Any, account_id: str, user_id: str, org_connection_id: str) -> str:
    from backend.security.tokens import issue_app_token

    return issue_app_token(keyring, account_id=account_id, user_id=user_id, org_connection_id=org_connection_id,
                           region="eu-frankfurt", ttl_seconds=3600)[0]


def web_command(port: int) -> list[str]:
    """The Procfile's web line, bound to loopback on `port` (its WEB_CONCURRENCY default kept)."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    line = line.removeprefix("web:").replace("0.0.0.0:${PORT:-5000}", f"127.0.0.1:{port}")
    line = line.replace("${WEB_CONCURRENCY:-2}", os.environ.get("WEB_CONCURRENCY", "2"))
    args = shlex.split(line)
    # gunicorn 27's control socket defaults to one path per user: two servers on a machine would share it.
    return [str(Path(sys.executable).parent / args[0]), *args[1:], "--no-control-socket"]


class Processes:
    """gunicorn and `python -m worker` processes, each in its own session, logs in the work directory."""

    def __init__(self, env: dict[str, str], work: Path) -> None:
        self.env, self.work = env, work
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._logs: list[Any] = []

    def _spawn(self, argv: list[str], name: str) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("wb")
        self._logs.append(log)
        return subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_web(self, port: int) -> str:
        import requests

        self.web = self._spawn(web_command(port), "web")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.web.poll() is None:
            try:
                if requests.get(url + "/healthz", timeout=10).status_code < 500:
                    return url
            except requests.RequestException:  # bound but its workers are still importing the app
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not start: " + self.log_tail("web"))

    def start_workers(self, count: int, redis_url: str) -> None:
        import redis
        from rq import Worker

        self.workers = [self._spawn([sys.executable, "-m", "worker"], f"worker{i}") for i in range(count)]
        conn = redis.Redis.from_url(redis_url)
        deadline = time.monotonic() + 120
        while len(Worker.all(connection=conn)) < count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in self.workers):
                raise RuntimeError("workers did not start: " + self.log_tail("worker0"))
            time.sleep(0.2)

    def worker_rss_mb(self) -> dict[str, float]:
        """RSS of the long-lived worker processes; PSS of their whole trees (forked work horses and the cron
        child share pages with their parent: RSS would count those pages once per process)."""
        main = tree = 0.0
        for w in self.workers:
            try:
                proc = psutil.Process(w.pid)
                main += proc.memory_info().rss
                tree += sum(_pss(p) for p in (proc, *proc.children(recursive=True)))
            except psutil.NoSuchProcess:
                pass
        return {"workers_rss_mb": round(main / 2**20, 1), "worker_trees_pss_mb": round(tree / 2**20, 1)}

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU so far of the web tree and of the worker trees (work horses they reaped included)."""
        def tree(pid: int) -> float:
            try:
                root = psutil.Process(pid)
                return sum(_cpu(p) for p in (root, *root.children(recursive=True)))
            except psutil.NoSuchProcess:
                return 0.0

        return {"web": tree(self.web.pid), "workers": sum(tree(w.pid) for w in self.workers)}

    def log_tail(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in [p for p in (self.web, *self.workers) if p is not None]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [p for p in (self.web, *self.workers) if p is not None]:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in self._logs:
            log.close()


def _cpu(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except psutil.NoSuchProcess:
        return 0.0


def _pss(proc: psutil.Process) -> int:
    try:
        return proc.memory_full_info().pss
    except psutil.NoSuchProcess:
        return 0
