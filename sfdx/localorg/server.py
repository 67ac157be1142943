"""LocalOrgServer: HTTPS listeners (one login host plus one per org), the orgs, and the state file."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_app
from .ids import IdFactory
from .org import Knobs, Org
from .tls import ensure_certificates, server_context, write_bundle

HOST = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    timeout = 120  # a client that connects and goes silent must not hold a thread forever

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_error(self, format: str, *args: Any) -> None:
        if not format.startswith("SSL error"):  # plain HTTP or a dropped handshake: the client's problem
            super().log_error(format, *args)


class LocalOrgServer:
    """A local Salesforce over HTTPS. Each org has its own instance URL (its own port on 127.0.0.1);
    the login URL (`base_url`) serves OAuth and also REST for any org, chosen by the token's org id.
    """

    def __init__(self, port: int = 0, state_file: str | Path | None = None, knobs: Knobs | None = None,
                 canvas_url: str = "https://127.0.0.1:5000/canvas") -> None:
        folder = Path(state_file).parent if state_file else Path(tempfile.mkdtemp(prefix="localorg-"))
        self.state_file = Path(state_file) if state_file else folder / "localorg.json"
        self.port = port
        self.knobs = knobs or Knobs()
        self.canvas_url = canvas_url
        self.admin_secret = secrets.token_urlsafe(24)
        self.orgs: dict[str, Org] = {}
        self._by_token_prefix: dict[str, Org] = {}
        self._listeners: list[tuple[BaseWSGIServer, threading.Thread]] = []
        self._org_listener: dict[str, tuple[BaseWSGIServer, threading.Thread]] = {}
        self._lock = threading.RLock()
        self._org_count = 0
        self.ca_path, self._cert, self._key = ensure_certificates(folder / "certs")
        self.ca_bundle = write_bundle(self.ca_path)
        self.app = create_app(self)
        self.base_url = ""

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> LocalOrgServer:
        """Open the login listener and write the state file."""
        srv = self._listen(self.port, None)
        self.port = srv.server_port
        self.base_url = f"https://{HOST}:{self.port}"
        self.write_state()
        return self

    def stop(self) -> None:
        closers = [threading.Thread(target=_close, args=(srv,)) for srv, _ in self._listeners]
        for t in closers:
            t.start()
        for t in closers:
            t.join(timeout=5)
        self._listeners.clear()

    def __enter__(self) -> LocalOrgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self, port: int, org: Org | None) -> BaseWSGIServer:
        app = self.app

        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            environ["localorg.org"] = org
            return app(environ, start_response)

        srv = make_server(HOST, port, wsgi, threaded=True, request_handler=_QuietHandler)
        # Wrapped here rather than by Werkzeug so the TLS handshake runs in the request thread: a client
        # that connects and says nothing would otherwise block accept() for everyone.
        ctx = server_context(self._cert, self._key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        srv.ssl_context = ctx
        srv.daemon_threads = True
        thread = threading.Thread(target=srv.serve_forever, name=f"localorg:{srv.server_port}", daemon=True)
        thread.start()
        self._listeners.append((srv, thread))
        return srv

    # ---- orgs ---------------------------------------------------------------------------------------
    def create_org(self, name: str | None = None, source_dir: str | Path | None = None,
                   namespace: str | None = None, write_state: bool = True) -> Org:
        """A new org with its own instance URL; custom objects from `source_dir` (SFDX tree) if given."""
        with self._lock:
            self._org_count += 1
            n = self._org_count
            name = name or f"org{n}"
            if name in self.orgs:
                raise ValueError(f"org {name!r} exists")
            pod = f"{_b62(n)}D0"
            org_id = IdFactory(pod).new("00D")
            org = Org(name, org_id, pod, Knobs(**asdict(self.knobs)))
            self.orgs[name] = org
            self._by_token_prefix[org_id[:15]] = org
        srv = self._listen(0, org)
        self._org_listener[name] = self._listeners[-1]
        org.on_change = self.write_state if write_state else None
        org.instance_url = f"https://{HOST}:{srv.server_port}"
        if source_dir is not None:
            org.load_metadata(Path(source_dir), namespace)
        if write_state:
            self.write_state()
        return org

    def set_knobs(self, orgs: list[Org] | None = None, **changes: Any) -> None:
        """Change knobs for `orgs` (default: the server default and every org)."""
        targets = orgs if orgs is not None else list(self.orgs.values())
        if orgs is None:
            for k, v in changes.items():
                setattr(self.knobs, k, v)
        for org in targets:
            for k, v in changes.items():
                setattr(org.knobs, k, v)

    def drop_org(self, org: Org) -> None:
        """Forget an org and close its listener (tests create many short-lived orgs)."""
        with self._lock:
            self.orgs.pop(org.name, None)
            self._by_token_prefix.pop(org.id[:15], None)
            entry = self._org_listener.pop(org.name, None)
            if entry in self._listeners:
                self._listeners.remove(entry)
        if entry is not None:
            # shutdown() waits for the serve loop's next poll; do not make the caller wait for it
            threading.Thread(target=_close, args=(entry[0],), daemon=True).start()

    def org_for_token(self, token: str) -> Org | None:
        return self._by_token_prefix.get(token.split("!", 1)[0])

    def org_for_client(self, consumer_key: str) -> Org | None:
        return next((o for o in list(self.orgs.values()) if consumer_key in o.apps), None)

    def org_for_username(self, username: str) -> tuple[Org, str] | None:
        for org in list(self.orgs.values()):
            ids = org.store.table("User").find("Username", username)
            if ids:
                return org, ids[0]
        return None

    # ---- state file ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "login_url": self.base_url, "ca_cert": str(self.ca_path),
                "ca_bundle": str(self.ca_bundle),
                "admin_secret": self.admin_secret, "pid": os.getpid(), "knobs": asdict(self.knobs),
                "orgs": {name: org.info() for name, org in list(self.orgs.items())}}

    def write_state(self) -> None:
        """Rewrite the state file atomically (readers never see half a file)."""
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.state_file)


def _close(srv: BaseWSGIServer) -> None:
    srv.shutdown()
    srv.server_close()


def _b62(n: int) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return chars[(n // 62) % 62] + chars[n % 62]
