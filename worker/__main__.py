"""python -m worker: an RQ worker with its scheduler on the imports and maintenance queues, plus cron."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys

from rq import Worker

from backend.queues import QUEUE_NAMES, connect, queue
from worker.cron import run_cron
from worker.tasks import app, preload


def redis_url() -> str:
    from backend.services import get_redis

    with app().app_context():
        pool = get_redis().connection_pool
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    return os.environ["REDIS_URL"]


def main() -> int:
    url = redis_url()
    preload()
    connection = connect(url)
    cron = multiprocessing.get_context("spawn").Process(target=run_cron, args=(url,), daemon=True)
    cron.start()
    try:
        worker = Worker([queue(connection, name) for name in QUEUE_NAMES], connection=connection)
        worker.work(with_scheduler=True)
    finally:
        if cron.is_alive():
            os.kill(cron.pid, signal.SIGTERM)
            cron.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
