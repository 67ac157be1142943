"""RQ's built-in cron: purge every 5 minutes, dead-run recovery every 15 s, job schedules every minute,
notification digests hourly."""

from __future__ import annotations

from rq.cron import CronScheduler

from backend.queues import connect
from backend.storage.blobs import PURGE_INTERVAL
from worker.tasks import fire_schedules, purge_expired, recover_runs, send_digests

PURGE_EVERY_SECONDS = int(PURGE_INTERVAL.total_seconds())
# A dead worker's run lock expires after progress.LOCK_TTL_MS (20 s); the sweep then re-enqueues it.
RECOVER_EVERY_SECONDS = 15


def run_cron(url: str) -> None:
    """Runs in a child process: the cron scheduler installs signal handlers, so it needs a main thread."""
    scheduler = CronScheduler(connection=connect(url))
    scheduler.register(purge_expired, queue_name="maintenance", interval=PURGE_EVERY_SECONDS)
    scheduler.register(recover_runs, queue_name="maintenance", interval=RECOVER_EVERY_SECONDS)
    # Job schedules: at the top of every minute (each occurrence at most once: backend/runs/schedules.py).
    scheduler.register(fire_schedules, queue_name="maintenance", cron="* * * * *")
    scheduler.register(send_digests, queue_name="maintenance", cron="7 * * * *")
    scheduler.start()
