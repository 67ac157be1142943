"""Everything a worker needs to execute a run, loaded from the database through the run's account."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context

from backend.errors import ConfigError
from backend.models.accounts import Account, User
from backend.models.base import TenantScope
from backend.models.connections import Connection
from backend.models.jobs import Job
from backend.models.orgs import OrgConnection
from backend.models.runs import Run
from backend.pipeline.mapping import Mapping
from backend.pipeline.sources import Source, create_source
from backend.services import get_blob_store, get_keyring, get_redis, get_settings
from backend.storage.blobs import BlobStore

READ_BUFFER = 1024 * 1024
SKIP_EXISTING = "runs:skip_existing"  # the run's checkpoint key for the field chosen in the Run now dialog


class AppContextReader(io.RawIOBase):
    """A blob stream readable from any thread: the engine reads ahead in a thread, pyarrow's CSV reader
    pulls bytes from a thread of its own, and the blob store needs the app (its database engine)."""

    def __init__(self, app: Flask, inner: io.RawIOBase) -> None:
        super().__init__()
        self.app, self.inner = app, inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if has_app_context():
            return self.inner.readinto(buffer)
        with self.app.app_context():
            return self.inner.readinto(buffer)


def blob_opener(store: BlobStore, account_id: str, blob_id: str) -> Callable[[], io.BufferedReader]:
    """A source's `open_stream` over an uploaded blob, callable from any thread (the engine's read-ahead)."""
    app = current_app._get_current_object()

    def opener() -> io.BufferedReader:
        if has_app_context():
            blob = store.open(account_id, blob_id)
        else:
            with app.app_context():
                blob = store.open(account_id, blob_id)
        return io.BufferedReader(AppContextReader(app, blob), READ_BUFFER)
    return opener


@dataclass
class RunPieces:
    scope: TenantScope
    run: Run
    job: Job
    account: Account
    org: OrgConnection
    store: BlobStore

    def client(self) -> Any:
        from backend.salesforce.call_slots import OrgCallSlots
        from backend.salesforce.session import client_for

        settings = get_settings()
        client = client_for(self.org, get_keyring(), settings)
        # Keyed by the org's id at Salesforce: two connections to one org share its cap.
        slots = OrgCallSlots(get_redis(), self.org.org_id or self.org.id, settings.org_concurrent_calls,
                             ttl=client.timeout + 60)
        client.call_slot = slots.hold
        return client

    def source(self) -> Source:
        """The job's source: `job.source` is {"type": ..., "config": {...}, "blob_id": upload id or absent}, or
        {"connection_id": ..., "read": {table, columns, where} | {query} | {path, pick}} for a connection."""
        spec = self.job.source or {}
        if spec.get("connection_id"):
            return self._connection_source(spec)
        if not spec.get("type"):
            raise ConfigError("The job has no source; choose a file or a connection.")
        blob_id = spec.get("blob_id")
        opener = blob_opener(self.store, self.account.id, blob_id)

        return create_source(spec["type"], spec.get("config") or {}, open_stream=opener if blob_id else None)

    def _connection_source(self, spec: dict[str, Any]) -> Source:
        from backend.connectors import stored

        return stored.open_source(self.scope, spec, allow_loopback=get_settings().egress_allow_loopback,
                                  time_zone=self.job.schedule_tz or "UTC")

    def mark_secrets_used(self) -> None:
        """The org's tokens (and the job's connections: read from, or an export's target) are about to be used;
        the caller commits at once."""
        self.org.mark_used()
        source = self.job.source or {}
        used = (source.get("connection_id"), (source.get("target") or {}).get("connection_id"))
        for connection_id in filter(None, used):
            for row in self.scope.all(Connection, Connection.id == connection_id):
                row.mark_used()

    def mapping(self) -> Mapping:
        data = dict(self.job.mapping or {})
        data.pop("api", None)  # the job's API choice (auto | rest | bulk2 | bulk1) rides along in its mapping
        data.setdefault("object", self.job.object_name)
        data.setdefault("operation", self.job.operation)
        skip = (self.run.checkpoint or {}).get(SKIP_EXISTING)  # chosen for this run in the Run now dialog
        if skip:
            data["options"] = {**(data.get("options") or {}), "skip_existing": skip}
        return Mapping.from_dict(data)

    def total_rows_hint(self) -> int | None:
        return csv_rows_hint(self.store, self.account.id, self.job)

    def api(self) -> str:
        return str((self.job.mapping or {}).get("api") or "auto")

    def mirror_job(self) -> dict[str, Any]:
        job = self.job
        return {"job_key": job.id, "name": job.name, "target_object": job.object_name,
                "operation": job.operation, "source_type": (job.source or {}).get("type", ""),
                "schedule": job.schedule, "active": job.active}

    def initiated_by_sf_user(self) -> str | None:
        if not self.run.initiated_by:
            return None
        user = self.scope.all(User, User.id == self.run.initiated_by)
        return user[0].salesforce_user_id if user else None


def load(run: Run) -> RunPieces:
    """The run's job, account and org, each reached through the run's account; ConfigError if unusable."""
    scope = TenantScope(run.account_id)
    job = scope.get(Job, run.job_id)
    from backend.extensions import db

    account = db.session.get(Account, run.account_id)
    if not job.org_connection_id:
        raise ConfigError("The job has no Salesforce instance; choose one and run it again.")
    orgs = scope.all(OrgConnection, OrgConnection.id == job.org_connection_id)
    if not orgs or orgs[0].status != "connected":
        raise ConfigError("The job's Salesforce instance is disconnected; reconnect it and run the job again.")
    return RunPieces(scope, run, job, account, orgs[0], get_blob_store())


def csv_rows_hint(store: BlobStore, account_id: str, job: Job, *, at_most: int | None = None) -> int | None:
    """Line count of an uploaded CSV (records with quoted line breaks count more than once); None for other
    sources. With `at_most`: a file of no more bytes than that has no more rows, so it is not read at all."""
    spec = job.source or {}
    if spec.get("type") != "csv" or not spec.get("blob_id"):
        return None
    blob = store.get_blob(account_id, spec["blob_id"])
    if at_most is not None and blob.size <= at_most:
        return None  # every row takes at least one byte (its line break): this file fits, whatever it holds
    lines, last = 0, b""
    for chunk in store.iter_chunks(blob):
        lines += chunk.count(b"\n")
        last = chunk[-1:] or last
    return max(lines + (0 if last == b"\n" else 1) - 1, 0)
