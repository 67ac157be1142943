"""The `load` comparison: the real gunicorn app on loopback under users polling run progress and browsing
history while files are uploaded and imports run; bounded in time. Counts 5xx, times polls and pages, and
samples the workers' memory at the start, the middle and the end."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.common import LocalOrg, write_source
from benchmarks.load_stack import Processes, Tenant, create_database, drop_database, environment, free_port, seed

POLL_S = 1.0  # the run screen polls every second (backend/static/js/screens/run.js POLL_MS)
PAGE_SHARE = 0.1  # one request in ten opens a page instead of polling
RAMP_SHARE = 0.1
ROWS_PER_MB = 5800  # benchmark rows are about 172 bytes each
TARGETS = {"5xx": 0, "poll_p95_ms": 200, "page_p95_ms": 1000}


class Stats:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()  # what the connection errors were
        self.polls_at: list[tuple[float, float]] = []  # (monotonic start, seconds) of each poll
        self.uploads_done = 0.0  # when the last upload was answered

    def add(self, kind: str, status: int, seconds: float, started: float) -> None:
        self.times[kind].append(seconds)
        if kind == "poll":
            self.polls_at.append((started, seconds))
        elif kind == "upload":
            self.uploads_done = max(self.uploads_done, started + seconds)
        self.statuses[kind][status] += 1

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, times in sorted(self.times.items()):
            ordered = sorted(times)
            out[kind] = {"requests": len(ordered), "p50_ms": _ms(ordered, 0.50), "p95_ms": _ms(ordered, 0.95),
                         "p99_ms": _ms(ordered, 0.99), "max_ms": round(ordered[-1] * 1000),
                         "statuses": {str(k): v for k, v in sorted(self.statuses[kind].items())}}
        quiet = sorted(t for at, t in self.polls_at if at > self.uploads_done)
        # Polls once no upload was running: an upload's parse, encryption and row count hold a web process.
        out["poll_p95_ms_after_uploads"] = _ms(quiet, 0.95) if quiet else None
        out["polls_after_uploads"] = len(quiet)
        out["5xx"] = sum(n for c in self.statuses.values() for s, n in c.items() if s >= 500)
        out["connection_errors"] = sum(c[0] for c in self.statuses.values())
        out["connection_error_kinds"] = dict(self.errors)
        return out


def _ms(ordered: list[float], q: float) -> int:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000)  # nearest rank


class Load:
    """One asyncio client: `users` users, `uploads` uploads and `imports` imports against `url`."""

    def __init__(self, url: str, tenants: list[Tenant], procs: Processes, args: Any, upload: bytes) -> None:
        self.url, self.tenants, self.procs, self.args, self.upload = url, tenants, procs, args, upload
        self.stats = Stats()
        self.live: dict[str, str] = {}  # account id -> its import's run id
        self.rss: dict[str, dict[str, float]] = {}
        self.http: aiohttp.ClientSession | None = None

    async def request(self, kind: str, method: str, path: str, token: str, **kw: Any) -> Any:
        started, at = time.perf_counter(), time.monotonic()
        try:
            async with self.http.request(method, self.url + path, headers={"Authorization": f"Bearer {token}"},
                                         **kw) as r:
                body = await r.read()
                status = r.status
        except (TimeoutError, aiohttp.ClientError) as err:
            body, status = b"", 0
            self.stats.errors[type(err).__name__] += 1
        self.stats.add(kind, status, time.perf_counter() - started, at)
        return json.loads(body) if status in (200, 201) and body[:1] in (b"{", b"[") else None

    async def user(self, n: int, end: float) -> None:
        tenant = self.tenants[n % len(self.tenants)]
        token, rng = tenant.tokens[n // len(self.tenants)], random.Random(n)
        pages = ["/ui/history", "/api/runs", "/ui/home", f"/ui/jobs/{tenant.job_id}"]
        # Users arrive over the first tenth of the window, as people do (a load tool's ramp-up), not all in
        # one second: 200 screens opened at once measure a stampede nobody makes.
        await asyncio.sleep(rng.uniform(0, max(POLL_S, self.args.load_seconds * RAMP_SHARE)))
        first = True  # a user opens a screen first, then watches a run
        while time.monotonic() < end:
            if first or rng.random() < PAGE_SHARE:
                first = False
                path = rng.choice([*pages, f"/ui/runs/{rng.choice(tenant.history[:20])}"])
                await self.request("page", "GET", path, token)
            else:
                watched = self.live.get(tenant.account_id) or tenant.history[0]
                await self.request("poll", "GET", f"/api/runs/{watched}", token)
            await asyncio.sleep(POLL_S)

    async def uploader(self, n: int, start: float) -> None:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        tenant = self.tenants[n % len(self.tenants)]
        form = aiohttp.FormData()
        form.add_field("file", self.upload, filename=f"upload{n}.csv", content_type="text/csv")
        await self.request("upload", "POST", "/api/sources/upload", tenant.tokens[0], data=form)

    async def sample_rss(self, label: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        self.rss[label] = self.procs.worker_rss_mb()

    async def run(self) -> None:
        a = self.args
        # Idle connections are dropped after 1 s, before gunicorn's 2 s keep-alive closes them: reusing one
        # the server is closing that same moment fails a POST, which no client retries.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=1.0),
                                         timeout=aiohttp.ClientTimeout(total=300)) as self.http:
            self.rss["start"] = self.procs.worker_rss_mb()
            cpu, client = self.procs.cpu_seconds(), time.process_time()
            for tenant in self.tenants[:a.load_imports]:
                run = await self.request("start", "POST", f"/api/jobs/{tenant.job_id}/runs", tenant.tokens[0])
                if run:
                    self.live[tenant.account_id] = run["id"]
            begin = time.monotonic()
            end = begin + a.load_seconds
            spread = a.load_seconds * 0.6 / max(1, a.load_uploads)  # uploads overlap the first 60% of the window
            await asyncio.gather(*(self.user(n, end) for n in range(a.load_users)),
                                 *(self.uploader(n, begin + n * spread) for n in range(a.load_uploads)),
                                 self.sample_rss("middle", begin + a.load_seconds / 2))
            after = self.procs.cpu_seconds()
            self.cpu = {k: round(after[k] - cpu[k], 1) for k in cpu}
            self.cpu["client"] = round(time.process_time() - client, 1)
            self.imports = await self.finish_imports(end + a.load_seconds * 10)
            self.rss["end"] = self.procs.worker_rss_mb()

    async def finish_imports(self, give_up: float) -> list[dict[str, Any]]:
        """After the load: wait (bounded) for the imports to finish, as their users would."""
        out = []
        for tenant in self.tenants:
            run_id = self.live.get(tenant.account_id)
            while run_id:
                run = await self.request("final", "GET", f"/api/runs/{run_id}", tenant.tokens[0])
                if (run and run["finished"]) or time.monotonic() > give_up:
                    out.append({k: (run or {}).get(k) for k in ("state", "rows_read", "succeeded", "failed")})
                    break
                await asyncio.sleep(1)
        return out


def load_bench(report: dict[str, Any], org: LocalOrg, work: Path, args: Any) -> None:
    from backend import create_app
    from backend.queues import embedded_redis_url
    from backend.security.crypto import generate_keyring

    kind, database_url = create_database(args.load_database, work)
    procs = None
    try:
        redis_url = embedded_redis_url(work / "instance")
        env = environment(database_url, redis_url, generate_keyring().to_json(), work, org.ca_bundle)
        app = create_app({"env": "development", "database_url": database_url, "redis_url": redis_url,
                          "keys": env["INFLOW_KEYS"], "instance_path": work / "instance",
                          "egress_allow_loopback": True})
        accounts = max(args.load_imports, min(20, args.load_users))
        tenants = seed(app, org.org, work, accounts=accounts, users=args.load_users, imports=args.load_imports,
                       import_rows=args.load_import_rows)
        upload = work / "upload.csv"
        write_source(upload, int(args.load_upload_mb * ROWS_PER_MB))
        procs = Processes(env, work)
        url = procs.start_web(free_port())
        procs.start_workers(args.load_workers, redis_url)
        load = Load(url, tenants, procs, args, upload.read_bytes())
        load_start = [round(x, 1) for x in os.getloadavg()]
        asyncio.run(load.run())
        served = sum(len(load.stats.times.get(k, ())) for k in ("poll", "page", "upload"))  # `--load-uploads 0`: none
        result = {"database": kind, "users": args.load_users, "accounts": accounts, "seconds": args.load_seconds,
                  "uploads": args.load_uploads, "upload_mb": round(upload.stat().st_size / 1e6, 1),
                  "imports": load.imports, "import_rows": args.load_import_rows, "workers": args.load_workers,
                  "web": " ".join(procs.web.args[1:]), **load.stats.summary(), "worker_rss": load.rss,
                  "cpu_s": load.cpu, "web_cpu_ms_per_request": round(load.cpu["web"] * 1000 / max(1, served)),
                  "load_average": {"start": load_start, "end": [round(x, 1) for x in os.getloadavg()]},
                  "targets": TARGETS}
    finally:
        if procs is not None:
            procs.stop()
        drop_database(database_url)
    report["load"] = result
    print_result(result)


def print_result(r: dict[str, Any]) -> None:
    poll, page = r.get("poll", {}), r.get("page", {})
    rss = r["worker_rss"]
    print(f"6. load      {r['users']} users, {r['uploads']} uploads of {r['upload_mb']} MB, "
          f"{len(r['imports'])} imports, {r['seconds']} s on {r['database']}; load average "
          f"{r['load_average']['start']} -> {r['load_average']['end']}", flush=True)
    print(f"   5xx {r['5xx']} (target 0), connection errors {r['connection_errors']} "
          f"{r['connection_error_kinds'] or ''}| polls {poll.get('requests', 0)} "
          f"p95 {poll.get('p95_ms')} ms (< 200; {r['poll_p95_ms_after_uploads']} ms after the uploads) | pages "
          f"{page.get('requests', 0)} p95 {page.get('p95_ms')} ms "
          f"(< 1000) | uploads {r.get('upload', {}).get('statuses')}", flush=True)
    print(f"   CPU seconds in the window: {r['cpu_s']} ({r['web_cpu_ms_per_request']} ms of web CPU a request)",
          flush=True)
    print(f"   worker RSS MB start {rss['start']} | middle {rss.get('middle')} | end {rss['end']} | imports "
          f"{[i['state'] for i in r['imports']]}", flush=True)
