"""Single-use emailed tokens: 256 random bits mailed to the user, only their SHA-256 stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from backend.extensions import db
from backend.models import User
from backend.models.auth import EmailToken
from backend.models.base import utcnow

LIFETIMES = {"verify": timedelta(hours=24), "reset": timedelta(minutes=30), "invite": timedelta(days=7)}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, purpose: str) -> str:
    """A new token for `user`; earlier unused tokens of the same purpose stop working."""
    now = utcnow()
    db.session.execute(update(EmailToken).where(
        EmailToken.user_id == user.id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None),
    ).values(used_at=now))
    token = secrets.token_urlsafe(32)
    db.session.add(EmailToken(account_id=user.account_id, user_id=user.id, purpose=purpose,
                              token_hash=_digest(token), expires_at=now + LIFETIMES[purpose]))
    return token


def peek(token: str, purpose: str) -> User | None:
    """The user a live token belongs to, without using it up (to render the confirm form)."""
    row = _live(token, purpose)
    return db.session.get(User, row.user_id) if row is not None else None


def consume(token: str, purpose: str) -> User | None:
    """Use the token once: the conditional UPDATE makes two concurrent uses yield one winner."""
    row = _live(token, purpose)
    if row is None:
        return None
    result = db.session.execute(update(EmailToken).where(
        EmailToken.id == row.id, EmailToken.used_at.is_(None)).values(used_at=utcnow()))
    if result.rowcount != 1:
        return None
    return db.session.get(User, row.user_id)


def _live(token: str, purpose: str) -> EmailToken | None:
    if not token or len(token) > 128:
        return None
    row = db.session.scalars(select(EmailToken).where(
        EmailToken.token_hash == _digest(token), EmailToken.purpose == purpose)).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row
