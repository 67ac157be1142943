"""The "Security and privacy" page for an account's admins: live facts, sub-processors, audit-log download.

Every fact comes from the running deployment or the account's rows, never from prose: a configuration that
lacks Stripe lists no Stripe; no DPA link without INFLOW_DPA_URL. The promises themselves, with the tests that
prove them, are docs/security.md (backend/promises.toml).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, stream_with_context
from sqlalchemy import func, select

from backend.billing.card import Card, card_on_file
from backend.extensions import db
from backend.models import Account, AuditEvent, Blob, Connection, OrgConnection, User
from backend.models.base import utcnow
from backend.services import get_keyring, get_settings
from backend.settings import Settings
from backend.storage.blobs import PURGE_INTERVAL, UPLOAD_TTL
from backend.web.auth import audit
from backend.web.authn import admin_required, current_identity
from backend.web.signup import REGION_NAMES

bp = Blueprint("trust", __name__)

ROTATE_ACTION = "keys.rotate"  # recorded by `flask --app backend keys rotate`
AUDIT_COLUMNS = ("time", "action", "user", "target", "ip", "details")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")



@dataclass(frozen=True)
class Secret:
    kind: str
    name: str
    where: str
    status: str
    last_used_at: datetime | None


@dataclass(frozen=True)
class Facts:
    region: str
    region_name: str
    storage_hosts: tuple[tuple[str, str], ...]
    key_id: str
    keys_rotated_at: datetime | None
    upload_hours: int
    result_days: int
    next_expiry: datetime | None
    purge_minutes: int
    instances: tuple[Secret, ...]
    connections: tuple[Secret, ...]
    card: Card | None
    subprocessors: tuple[tuple[str, str, str], ...]
    dpa_url: str
    hipaa_url: str


def _host(url: str, embedded: str) -> str:
    """The host a storage URL names; SQLite files and unix sockets are on this server."""
    host = urlsplit(url).hostname if url and not url.startswith("sqlite") else None
    return host or embedded


def storage_hosts(settings: Settings) -> tuple[tuple[str, str], ...]:
    """Where this deployment keeps data: the hosts its database and Redis URLs name (files live in the database)."""
    database = _host(settings.database_url, "embedded SQLite file on this server")
    return (("Database (accounts, jobs, runs, encrypted files)", database),
            ("Redis (queues, progress)", _host(settings.redis_url, "embedded Redis on this server")))


def _is_local(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host in ("", "localhost")


def subprocessors(settings: Settings, region_name: str) -> tuple[tuple[str, str, str], ...]:
    """(service, where, what it does) from configuration only."""
    found = [("Hosting", region_name, "stores and processes all of the account's data")]
    if settings.stripe_secret_key:
        found.append(("Stripe", "Stripe, Inc.", "takes card payments and keeps the card data"))
    if not _is_local(settings.smtp_host):
        found.append(("Email delivery", settings.smtp_host, "sends sign-up, invitation and password mails"))
    return tuple(found)


def _secrets(rows, kind) -> tuple[Secret, ...]:
    return tuple(Secret(kind(row), row.name or "", getattr(row, "instance_url", "") or "",
                        getattr(row, "status", "connected"), row.last_used_at) for row in rows)


def gather(account: Account) -> Facts:
    settings, scope_id = get_settings(), account.id
    region_name = REGION_NAMES.get(account.region, account.region)
    rotated = db.session.scalar(select(func.max(AuditEvent.created_at)).where(AuditEvent.action == ROTATE_ACTION))
    next_expiry = db.session.scalar(select(func.min(Blob.expires_at)).where(Blob.account_id == scope_id))
    orgs = db.session.scalars(select(OrgConnection).where(OrgConnection.account_id == scope_id)
                              .order_by(OrgConnection.name)).all()
    conns = db.session.scalars(select(Connection).where(Connection.account_id == scope_id)
                               .order_by(Connection.name)).all()
    return Facts(
        region=account.region, region_name=region_name, storage_hosts=storage_hosts(settings),
        key_id=get_keyring().primary, keys_rotated_at=_aware(rotated),
        upload_hours=int(UPLOAD_TTL.total_seconds() // 3600), result_days=account.retention_days,
        next_expiry=_aware(next_expiry), purge_minutes=int(PURGE_INTERVAL.total_seconds() // 60),
        instances=_secrets(orgs, lambda _: "Salesforce"), connections=_secrets(conns, lambda c: c.type),
        card=card_on_file(account), subprocessors=subprocessors(settings, region_name),
        dpa_url=settings.dpa_url, hipaa_url=settings.hipaa_url)


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates bypass the UTC column type: SQLite hands back naive (UTC) values, or text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/settings/security")
@admin_required
def page():
    me = current_identity()
    return render_template("settings/security.html", account=me.account, me=me.user, is_admin=True,
                           facts=gather(me.account))


@bp.get("/ui/security")
@admin_required
def fragment():
    """The same facts as a screen of the importer shell (inside the canvas frame)."""
    me = current_identity()
    return render_template("ui/security.html", account=me.account, me=me.user, facts=gather(me.account))


def _cell(value: str) -> str:
    # A spreadsheet must not run a value as a formula (checklist 21).
    return "'" + value if value.startswith(_FORMULA_START) else value


def audit_csv(account_id: str) -> Iterator[bytes]:
    """The account's audit events, oldest first, as CSV; never another tenant's (account_id is the filter)."""
    emails = dict(db.session.execute(select(User.id, User.email).where(User.account_id == account_id)).all())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.account_id == account_id)
                                .order_by(AuditEvent.created_at, AuditEvent.id)).yield_per(500)
    for event in events:
        writer.writerow([_cell(v) for v in (
            event.created_at.isoformat(), event.action, emails.get(event.user_id, event.user_id or ""),
            event.target or "", event.ip or "", json.dumps(event.details or {}, sort_keys=True))])
        yield out.getvalue().encode()
        out.seek(0)
        out.truncate()
    yield out.getvalue().encode()


@bp.post("/settings/audit-log")
@admin_required
def audit_log():
    me = current_identity()
    audit("audit_log.downloaded", me.user)
    db.session.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(audit_csv(me.account.id)), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="inflow-audit-{stamp}.csv"', "Cache-Control": "no-store"})
