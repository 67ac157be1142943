"""RQ's built-in cron: the maintenance schedule (purge every 5 minutes)."""

from __future__ import annotations

from rq.cron import CronScheduler

from backend.queues import connect
from worker.tasks import purge_expired

PURGE_EVERY_SECONDS = 300


def run_cron(url: str) -> None:
    """Runs in a child process: the cron scheduler installs signal handlers, so it needs a main thread."""
    scheduler = CronScheduler(connection=connect(url))
    scheduler.register(purge_expired, queue_name="maintenance", interval=PURGE_EVERY_SECONDS)
    scheduler.start()
