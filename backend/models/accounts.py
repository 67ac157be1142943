"""Accounts (tenants) and their users."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import IdMixin, TenantOwned

ROLES = ("admin", "user")


class Account(IdMixin, db.Model):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("retention_days BETWEEN 0 AND 30", name="retention_range"),)

    company: Mapped[str] = mapped_column(String(255))
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(32), default="free")
    retention_days: Mapped[int] = mapped_column(Integer, default=14)
    salesforce_org_id: Mapped[str | None] = mapped_column(String(18), unique=True, default=None)
    date_format: Mapped[str | None] = mapped_column(String(32), default=None)  # the last one a saved job chose


class User(TenantOwned, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'user')", name="role_known"),)

    first_name: Mapped[str] = mapped_column(String(80), default="")
    last_name: Mapped[str] = mapped_column(String(80), default="")
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    role: Mapped[str] = mapped_column(String(16), default="user")
    salesforce_user_id: Mapped[str | None] = mapped_column(String(18), index=True, default=None)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(16), default="", server_default="")  # Salesforce's, e.g. en_GB
