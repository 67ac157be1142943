"""Billing: an account's Stripe subscription, the Stripe events already handled, and rows counted per run.

Card data is limited to what PCI DSS lets a merchant keep and Stripe hands out on a PaymentMethod: brand,
last 4 digits and expiry (tests/billing/test_card_data.py fails on any other card column).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import TenantOwned, UTCDateTime, utcnow


class BillingAccount(TenantOwned, db.Model):
    """One per account once it has talked to Stripe; absent means Free and never subscribed."""

    __tablename__ = "billing_accounts"
    __table_args__ = (UniqueConstraint("account_id", name="uq_billing_accounts_account_id"),)

    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), default=None)
    subscription_status: Mapped[str] = mapped_column(String(32), default="")
    plan: Mapped[str] = mapped_column(String(32), default="free")
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    payment_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    card_brand: Mapped[str | None] = mapped_column(String(32), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    card_exp_month: Mapped[int | None] = mapped_column(Integer, default=None)
    card_exp_year: Mapped[int | None] = mapped_column(Integer, default=None)
    # Stored before the first attempt and sent again on a retry, so Stripe answers the same Checkout Session
    # instead of making a second one (checklist 29); cleared once a subscription exists.
    checkout_idempotency_key: Mapped[str | None] = mapped_column(String(64), default=None)
    checkout_plan: Mapped[str | None] = mapped_column(String(32), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StripeEvent(db.Model):
    """A Stripe event id handled once: its primary key makes a redelivery a no-op. No account id and no
    payload: what the event said lives in BillingAccount."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageRecord(TenantOwned, db.Model):
    """Rows a finished run processed, counted once per run (a rollback or a re-finish adds nothing)."""

    __tablename__ = "usage_records"

    run_id: Mapped[str] = mapped_column(String(32), unique=True)  # not a foreign key: usage outlives a deleted job
    rows: Mapped[int] = mapped_column(Integer, default=0)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
