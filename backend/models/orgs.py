"""An account's connected Salesforce instances (orgs) and their encrypted tokens."""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import EncryptedColumns, TenantOwned

LOGIN_HOST_KINDS = ("production", "sandbox", "mydomain")


class OrgConnection(TenantOwned, EncryptedColumns, db.Model):
    __tablename__ = "org_connections"
    __table_args__ = (UniqueConstraint("account_id", "org_id", name="uq_org_connections_account_org"),)
    __secret_columns__ = ("access_token", "refresh_token")

    name: Mapped[str] = mapped_column(String(255), default="")
    org_id: Mapped[str] = mapped_column(String(18))
    instance_url: Mapped[str] = mapped_column(String(255))
    login_host_kind: Mapped[str] = mapped_column(String(16), default="production")
    login_url: Mapped[str] = mapped_column(String(255), default="")
    access_token: Mapped[str | None] = mapped_column(Text, default=None)
    refresh_token: Mapped[str | None] = mapped_column(Text, default=None)
    namespace_prefix: Mapped[str] = mapped_column(String(15), default="")
    status: Mapped[str] = mapped_column(String(16), default="connected")
    # The Salesforce user whose tokens these are; a canvas launch by another user does not replace them.
    connected_by: Mapped[str | None] = mapped_column(String(18), default=None)
