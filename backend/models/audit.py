"""Audit events: who did what, when and from where; never content."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import IdMixin


class AuditEvent(IdMixin, db.Model):
    __tablename__ = "audit_events"

    # Nullable: failed logins and forged canvas requests have no account yet.
    account_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("accounts.id", ondelete="CASCADE"), index=True, default=None)
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
