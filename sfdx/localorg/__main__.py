"""`python -m sfdx.localorg`: run a local Salesforce over HTTPS until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from .org import Knobs
from .seed import seed_demo
from .server import LocalOrgServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sfdx.localorg", description=__doc__)
    p.add_argument("--port", type=int, default=0, help="login port (0 = a free one)")
    p.add_argument("--seed", choices=["demo", "none"], default="none")
    p.add_argument("--state-file", type=Path, default=Path("instance/localorg/localorg.json"))
    p.add_argument("--token-lifetime", type=float, default=7200.0, help="access token lifetime, seconds")
    p.add_argument("--api-allowance", type=int, default=15000, help="daily API requests per org")
    p.add_argument("--latency-ms", type=int, default=0, help="added to every API call")
    p.add_argument("--lock-rate", type=float, default=0.0,
                   help="record-lock contention rate, Bulk and concurrent REST writes (0..1)")
    p.add_argument("--lock-seed", type=int, default=0)
    p.add_argument("--canvas-url", default="https://127.0.0.1:5000/canvas")
    p.add_argument("--callback-url", action="append", default=[],
                   help="demo app OAuth callback (repeatable; default: derived from --canvas-url)")
    p.add_argument("--consumer-key", default=None, help="demo app consumer key (default: generated)")
    p.add_argument("--consumer-secret", default=None, help="demo app consumer secret (default: generated)")
    p.add_argument("--source-dir", type=Path, default=None, help="SFDX tree with custom objects to load")
    p.add_argument("--namespace", default=None, help="apply this namespace to loaded custom objects")
    p.add_argument("--org", action="append", default=[], help="extra empty org names")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.state_file.parent.mkdir(parents=True, exist_ok=True)
    knobs = Knobs(latency_ms=args.latency_ms, api_allowance=args.api_allowance,
                  token_lifetime=args.token_lifetime, lock_rate=args.lock_rate, lock_seed=args.lock_seed)
    srv = LocalOrgServer(args.port, args.state_file, knobs, canvas_url=args.canvas_url).start()
    if args.seed == "demo":
        org = srv.create_org("demo", source_dir=args.source_dir, namespace=args.namespace)
        counts = seed_demo(org)
        base = args.canvas_url.rsplit("/", 1)[0]
        callbacks = args.callback_url or [base + "/instances/oauth/callback", base + "/oauth/callback",
                                          base + "/canvas/approved"]
        org.register_app("Inflow", callbacks, canvas_url=args.canvas_url, consumer_key=args.consumer_key,
                         consumer_secret=args.consumer_secret)
        print(f"seeded demo org: {counts}")
    for name in args.org:
        srv.create_org(name, source_dir=args.source_dir, namespace=args.namespace)
    srv.write_state()
    print(f"localorg on {srv.base_url}; state file {args.state_file.resolve()}; CA {srv.ca_path}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    srv.stop()


if __name__ == "__main__":
    main()
