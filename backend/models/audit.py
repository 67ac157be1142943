"""Audit events: who did what, when and from where; never content."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, String, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import IdMixin

# Inflow ids (32 hex) and Salesforce ids (15 or 18 characters).
_ID = re.compile(r"[0-9a-f]{32}|[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
# Detail values that say what kind of thing happened, never who or what about.
KEPT_DETAIL_TEXT = frozenset({"method", "kind", "role", "login_host_kind"})


class AuditEvent(IdMixin, db.Model):
    __tablename__ = "audit_events"

    # Nullable: failed logins and forged canvas requests have no account yet. Not a foreign key: the log
    # outlives the accounts it describes (checklist 26); after a deletion it holds the account's pseudonym.
    account_id: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    user_id: Mapped[str | None] = mapped_column(String(32), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(action: str, *, account_id: str | None = None, user_id: str | None = None,
           target: str = "", ip: str = "", **details: Any) -> AuditEvent:
    """Add an audit event to the session; the caller's commit persists it."""
    event = AuditEvent(action=action, account_id=account_id, user_id=user_id, target=target,
                       ip=ip, details=details)
    db.session.add(event)
    return event


def pseudonymize(account_id: str, user_ids: Iterable[str], alias: Callable[[str], str]) -> int:
    """Keep the account's events (who, what, when) and remove what identifies a person (account deletion):
    ids become pseudonyms from `alias`, the IP address goes, and details keep only counts, flags, kinds and
    pseudonymous ids. Returns the number of events kept."""
    users = list(user_ids)
    events = db.session.scalars(select(AuditEvent).where(
        or_(AuditEvent.account_id == account_id, AuditEvent.user_id.in_(users)))).all()
    for event in events:
        event.account_id = alias(account_id)
        event.user_id = alias(event.user_id) if event.user_id else None
        event.target = _target(event.target, alias)
        event.ip = ""
        event.details = _details(event.details or {}, alias)
    return len(events)


def _target(target: str, alias: Callable[[str], str]) -> str:
    if _ID.fullmatch(target):
        return alias(target)
    if target.startswith("/"):  # a request path (access.denied): route words stay, ids in it do not
        return "/".join(alias(part) if _ID.fullmatch(part) else part for part in target.split("/"))
    return ""


def _details(details: dict[str, Any], alias: Callable[[str], str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in details.items():
        if value is None or isinstance(value, bool | int | float):
            kept[key] = value
        elif isinstance(value, str) and key in KEPT_DETAIL_TEXT:
            kept[key] = value
        elif isinstance(value, str) and key.endswith("_id"):
            kept[key] = alias(value)
    return kept
