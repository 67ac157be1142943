"""The card on file, as far as Inflow knows it: brand, last 4 digits and expiry, or None."""

from __future__ import annotations

from typing import NamedTuple

from backend.billing.plans import billing_record
from backend.models.accounts import Account


class Card(NamedTuple):
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def card_on_file(account: Account | str) -> Card | None:
    """What the trust page and the billing page show; taken from Stripe's PaymentMethod, nothing more kept."""
    billing = billing_record(account if isinstance(account, str) else account.id)
    if billing is None or not billing.card_last4 or billing.card_exp_month is None or billing.card_exp_year is None:
        return None
    return Card(billing.card_brand or "card", billing.card_last4, billing.card_exp_month, billing.card_exp_year)
