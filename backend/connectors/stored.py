"""An account's saved connections: parameters (secrets included) encrypted as one value, changes audited.

`details` keeps only what may be shown back (type, host, database, user, bucket...); the password, keys
and tokens live only in the encrypted `parameters`, decrypted when a connector is built.
"""

from __future__ import annotations

import json
from typing import Any

from backend.connectors.base import Connector, ConnectorError, connector_class, type_for_url
from backend.connectors.oauth import OAuthConnector
from backend.errors import ConfigError
from backend.extensions import db
from backend.models.audit import record
from backend.models.base import TenantScope
from backend.models.connections import Connection
from backend.models.jobs import Job
from backend.pipeline.sources import Source
from backend.services import get_settings

MAX_NAME = 255


def find(scope: TenantScope, name: str) -> Connection | None:
    return next(iter(scope.all(Connection, Connection.name == name)), None)


def _check_name(scope: TenantScope, name: str, keep: Connection | None = None) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ConnectorError("config", f"Give the connection a name of 1 to {MAX_NAME} characters.")
    other = find(scope, name)
    if other is not None and other is not keep:
        raise ConnectorError("config", f"A connection named {name!r} exists already.")
    return name


def create(scope: TenantScope, name: str, type_name: str, params: dict[str, Any], *,
           user_id: str | None = None) -> Connection:
    """Save a new connection (not committed); the caller tests it first if it wants to."""
    cls = connector_class(type_name)
    row = scope.add(Connection(type=cls.type, name=_check_name(scope, name)))
    _store(row, cls, params)
    record("connection.create", account_id=scope.account_id, user_id=user_id, target=row.id, type=cls.type)
    return row


def create_from_url(scope: TenantScope, name: str, url: str, *, user_id: str | None = None,
                    extra: dict[str, Any] | None = None) -> Connection:
    cls = type_for_url(url)
    return create(scope, name, cls.type, {**cls.params_from_url(url), **(extra or {})}, user_id=user_id)


def update(scope: TenantScope, row: Connection, *, name: str | None = None, params: dict[str, Any] | None = None,
           user_id: str | None = None) -> Connection:
    """Rename and/or change parameters; a secret left out (or empty) keeps its stored value."""
    changed = []
    if name is not None and name.strip() != row.name:
        row.name = _check_name(scope, name, keep=row)
        changed.append("name")
    if params is not None:
        cls = connector_class(row.type)
        old = parameters(row)
        merged = {**old, **{k: v for k, v in params.items() if not (k in cls.secret_keys and v in (None, ""))}}
        _store(row, cls, merged)
        changed += sorted(k for k in merged if merged.get(k) != old.get(k))
    record("connection.update", account_id=scope.account_id, user_id=user_id, target=row.id, fields=changed)
    return row


def remove(scope: TenantScope, row: Connection, *, user_id: str | None = None,
           allow_loopback: bool = False) -> bool | None:
    """Delete, refused while a saved job reads from it or exports into it (the jobs are named). An OAuth
    grant is revoked at the provider first; returns whether that worked (None: nothing to revoke). The row goes
    either way: a grant the provider cannot be told about is better forgotten than kept."""
    users = jobs_using(scope, row)
    if users:
        raise ConnectorError("config", f"The connection is used by job(s) {', '.join(repr(j.name) for j in users)}; "
                                       "change or delete them first.")
    revoked = _revoke(row, allow_loopback) if issubclass(connector_class(row.type), OAuthConnector) else None
    extra = {} if revoked is None else {"revoked": revoked}
    record("connection.delete", account_id=scope.account_id, user_id=user_id, target=row.id, type=row.type, **extra)
    db.session.delete(row)
    return revoked


def revoke_all(scope: TenantScope, *, allow_loopback: bool) -> tuple[int, int]:
    """Account deletion: revoke every OAuth grant the account's connections hold; (revoked, failed)."""
    results = [_revoke(row, allow_loopback) for row in scope.all(Connection)
               if issubclass(connector_class(row.type), OAuthConnector)]
    return sum(results), len(results) - sum(results)


def _revoke(row: Connection, allow_loopback: bool) -> bool:
    built = connector(row, allow_loopback=allow_loopback)
    try:
        built.revoke()
    except ConnectorError as err:
        return err.stage == "auth"  # the provider refuses the grant: it is revoked already
    return True


def jobs_using(scope: TenantScope, row: Connection) -> list[Job]:
    def named(job: Job) -> set[Any]:  # what a job reads from, what an export writes to, what migration steps read
        source = job.source or {}
        steps = ((job.mapping or {}).get("plan") or {}).get("steps") or [] if job.kind == "migrate" else []
        reads = [s.get("source") or {} for s in steps if isinstance(s, dict) and isinstance(s.get("source"), dict)]
        return ({source.get("connection_id"), (source.get("target") or {}).get("connection_id")}
                | {r.get("connection_id") for r in reads} | {row.id for r in reads if r.get("connection") == row.name})
    return [j for j in scope.all(Job, order_by=Job.name) if row.id in named(j)]


def parameters(row: Connection) -> dict[str, Any]:
    return json.loads(row.get_secret("parameters") or "{}")


def connector(row: Connection, *, allow_loopback: bool) -> Connector:
    """The row's connector with the settings' params added; tokens an OAuth connector refreshes are stored
    back into the row (committed by the caller, with whatever else it did)."""
    cls = connector_class(row.type)
    built = cls({**parameters(row), **cls.from_settings(get_settings())}, allow_loopback=allow_loopback)
    if isinstance(built, OAuthConnector):
        built.on_tokens = lambda tokens: _store(row, cls, {**parameters(row), **tokens})
    return built




def open_source(scope: TenantScope, spec: dict[str, Any], *, allow_loopback: bool,
                time_zone: str = "UTC") -> Source:
    """The pipeline Source of a job's connection source {"connection_id", "read": {...}}, for the run, the
    wizard's preview and its mapping steps alike; ConfigError when the connection is gone (or another
    account's)."""
    found = scope.all(Connection, Connection.id == str(spec.get("connection_id")))
    if not found:
        raise ConfigError("The job's connection was deleted; choose another source.")
    read = dict(spec.get("read") or {})
    read.setdefault("time_zone", time_zone)
    return connector(found[0], allow_loopback=allow_loopback).source(read)


def describe(row: Connection) -> dict[str, Any]:
    """What the UI and `connections list` show: never a secret."""
    return {"id": row.id, "name": row.name, "type": row.type, "details": dict(row.details or {}),
            "created_at": row.created_at.isoformat() if row.created_at else None}


def _store(row: Connection, cls: type[Connector], params: dict[str, Any]) -> None:
    connector = cls({k: v for k, v in params.items() if k not in cls.settings_keys})
    row.set_secret("parameters", json.dumps(connector.params, sort_keys=True))
    row.details = connector.public_params()
