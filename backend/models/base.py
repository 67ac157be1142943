"""Shared model pieces: ids, timestamps, tenant ownership, encrypted columns, and the tenant scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from backend.extensions import db
from backend.security.crypto import Binding, Keyring
from backend.services import get_keyring

T = TypeVar("T")


def new_id() -> str:
    """Random, unguessable primary keys: ids travel in URLs, and encryption binds to them."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class IdMixin:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TenantOwned(IdMixin):
    """A row that belongs to exactly one account; only ever reached through TenantScope."""

    @declared_attr
    def account_id(cls) -> Mapped[str]:  # noqa: N805 - SQLAlchemy declared_attr takes the class
        return mapped_column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"), index=True)


class EncryptedColumns:
    """Columns listed in __secret_columns__ hold AES-GCM ciphertext bound to account/table/column/row."""

    __secret_columns__: tuple[str, ...] = ()
    # When the secret was last used to reach the external system (shown on the Security and privacy page).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def mark_used(self) -> None:
        """Record a use of the secret; the caller's commit saves it (key rotation and export do not count)."""
        self.last_used_at = utcnow()

    def _binding(self, column: str) -> Binding:
        if self.id is None:
            self.id = new_id()
        return Binding(self.account_id, self.__tablename__, column, self.id)

    def set_secret(self, column: str, value: str | None, keyring: Keyring | None = None) -> None:
        assert column in self.__secret_columns__, column
        ring = keyring or current_keyring()
        setattr(self, column, None if value is None else ring.encrypt_text(value, self._binding(column)))

    def get_secret(self, column: str, keyring: Keyring | None = None) -> str | None:
        assert column in self.__secret_columns__, column
        stored = getattr(self, column)
        ring = keyring or current_keyring()
        return None if stored is None else ring.decrypt_text(stored, self._binding(column))


def current_keyring() -> Keyring:
    return get_keyring()


class NotFound(LookupError):
    """Missing, or owned by another account: callers cannot tell which (and must not)."""


class TenantScope:
    """The one way to reach tenant-owned rows: every query is filtered by the account."""

    def __init__(self, account_id: str):
        if not account_id:
            raise ValueError("a tenant scope needs an account id")
        self.account_id = account_id

    def select(self, model: type[T]):
        return select(model).where(model.account_id == self.account_id)

    def all(self, model: type[T], *criteria: Any, order_by: Any = None) -> list[T]:
        stmt = self.select(model).where(*criteria)
        if order_by is not None:
            stmt = stmt.order_by(order_by)
        return list(db.session.scalars(stmt))

    def get(self, model: type[T], row_id: str, *, fresh: bool = False) -> T:
        """The row, or NotFound; `fresh`: overwrite what this session already holds of it (one query)."""
        stmt = self.select(model).where(model.id == row_id)
        row = db.session.scalars(stmt.execution_options(populate_existing=True) if fresh else stmt).first()
        if row is None:
            raise NotFound(f"{model.__name__} {row_id} not found")
        return row

    def add(self, row: T) -> T:
        row.account_id = self.account_id
        db.session.add(row)
        return row
