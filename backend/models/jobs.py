"""Saved import or export definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import TenantOwned, UTCDateTime, utcnow

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


class Job(TenantOwned, db.Model):
    __tablename__ = "jobs"

    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="import")
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    org_connection_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("org_connections.id", ondelete="SET NULL"), default=None)
    object_name: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(16))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(255), default=None)  # a rule's text (schedules/rules.py)
    schedule_tz: Mapped[str | None] = mapped_column(String(64), default=None)
    schedule_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule_pause_reason: Mapped[str] = mapped_column(String(255), default="")
    # Occurrences after this instant count (set when the schedule is set or resumed): none from before.
    schedule_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    schedule_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # last one handled
    schedule_owner_id: Mapped[str | None] = mapped_column(String(32), default=None)  # User who set it
    notify_on: Mapped[str] = mapped_column(String(16), default="failure")  # failure|success|always|never
    notify_emails: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    notify_user_ids: Mapped[list[str] | None] = mapped_column(JSON, default=list)  # Salesforce user ids of the org
    notify_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Exports: Salesforce's time when the last successful incremental run began (backend/runs/watermarks.py).
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
