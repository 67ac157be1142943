"""Throwaway Redis and PostgreSQL servers that a test stops and starts again on the same port (outages)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis as redis_lib

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(ready, what: str) -> None:
    for _ in range(200):  # a readiness wait, not a timing claim: servers on a busy machine start slowly
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


class ThrowawayRedis:
    """redis-server on a free port; `stop()` saves its data to disk like a real restart would keep it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")])
        _wait_until(self._answers, "redis-server")

    def _answers(self) -> bool:
        try:
            with redis_lib.Redis(port=self.port, socket_connect_timeout=1) as conn:
                return bool(conn.ping())
        except redis_lib.ConnectionError:
            return False

    def stop(self) -> None:
        try:
            with redis_lib.Redis(port=self.port) as conn:
                conn.shutdown(save=True)
        except redis_lib.ConnectionError:
            pass  # it closes the connection as it goes
        self._process.wait(30)
        self._process = None

    def close(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(30)


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb) on a free port, run as the postgres user when we are root."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.dir = free_port(), workdir / "pg"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.dir.mkdir()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.dir, "postgres", "postgres")
            workdir.chmod(0o755)  # the postgres user must reach its directory
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        self.running = False

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(PG_BIN / tool), *args], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o", options, "start")
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        self.running = False

    def close(self) -> None:
        if self.running:
            self.stop()
