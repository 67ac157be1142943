"""External data sources an account has connected (databases, cloud storage)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import EncryptedColumns, TenantOwned


class Connection(TenantOwned, EncryptedColumns, db.Model):
    __tablename__ = "connections"
    __secret_columns__ = ("parameters",)

    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    parameters: Mapped[str | None] = mapped_column(Text, default=None)  # encrypted JSON
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # non-secret metadata
