"""Card data that never touches Inflow (checklist 28): no card column but brand, last 4 and expiry, in the models,
the migrated schema and the stored rows; and the account's data rights: the export holds its billing record,
deletion cancels the subscription at Stripe before anything is erased."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from sqlalchemy import inspect, select

from backend.extensions import db
from backend.models import Account, BillingAccount, User
from tests.accounts_support import PASSWORD, Browser, app_config, sign_up, smtp  # noqa: F401
from tests.billing.support import GOOD_CARD, customer, deliver, event, subscribe, subscription

CARD_COLUMNS = {"card_brand", "card_last4", "card_exp_month", "card_exp_year"}
# Names a column holding a card number, security code, track data or PIN would have.
FORBIDDEN = re.compile(r"(pan|number|cvc|cvv|cvc2|cid|track|pin|magstripe|fingerprint|cardholder|iin|bin)\b|"
                       r"card_(?!brand$|last4$|exp_month$|exp_year$)", re.IGNORECASE)


def _columns_in_schema() -> dict[str, list[str]]:
    inspector = inspect(db.engine)
    return {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()}


@pytest.mark.promise("card-data-stays-with-stripe")
def test_no_model_or_table_has_a_card_column_beyond_brand_last4_expiry(app):
    model_columns = {(t.name, c.name) for t in db.metadata.sorted_tables for c in t.columns}
    schema_columns = {(t, c) for t, cols in _columns_in_schema().items() for c in cols}
    for table, column in model_columns | schema_columns:
        name = column.lower()
        assert not FORBIDDEN.search(name) or name in CARD_COLUMNS, f"{table}.{column} looks like card data"
    card_like = {c for _, c in model_columns | schema_columns if "card" in c.lower()}
    assert card_like == CARD_COLUMNS
    last4 = BillingAccount.__table__.c.card_last4
    assert last4.type.length == 4  # a longer number cannot even be written there


@pytest.mark.promise("card-data-stays-with-stripe")
def test_stored_rows_hold_only_brand_last4_expiry_of_the_card(client, localstripe):
    from tests.billing.support import account_with_admin

    account = account_with_admin()
    cus, pm = customer(localstripe)
    assert pm["card"]["fingerprint"] and pm["card"]["country"]  # Stripe says more than we keep
    sub = subscribe(localstripe, account, cus=cus)
    assert deliver(client, event("customer.subscription.created", sub)).status_code == 200

    everything = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            everything += [json.dumps([str(v) for v in row]) for row in conn.execute(table.select())]
    text = "\n".join(everything)
    for leaked in (GOOD_CARD, GOOD_CARD[:6], pm["card"]["fingerprint"], pm["id"], '"FR"', '"credit"'):
        assert leaked not in text, leaked
    billing = db.session.scalars(select(BillingAccount)).one()
    assert (billing.card_brand, billing.card_last4, billing.card_exp_month, billing.card_exp_year) == (
        "visa", "4242", 9, 2031)


def test_export_holds_the_billing_record_and_deletion_cancels_at_stripe_first(client, smtp, localstripe):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    account = db.session.get(Account, db.session.scalars(select(User.account_id)).one())
    sub = subscribe(localstripe, account)
    assert deliver(client, event("customer.subscription.created", sub)).status_code == 200

    archive = zipfile.ZipFile(io.BytesIO(browser.submit("/settings", "/settings/export", {}).get_data()))
    [record] = json.loads(archive.read("billing_accounts.json"))
    assert (record["stripe_customer_id"], record["stripe_subscription_id"], record["plan"], record["card_last4"]) == (
        sub["customer"], sub["id"], "team", "4242")
    assert json.loads(archive.read("usage_records.json")) == []

    done = browser.submit("/settings", "/settings/delete-account", {"confirm": "Acme", "password": PASSWORD})
    assert done.status_code == 200
    assert subscription(localstripe, sub["id"])["status"] == "canceled"  # no charge after the account is gone
    db.session.expire_all()
    assert db.session.scalars(select(BillingAccount)).all() == []


def test_deletion_is_refused_while_stripe_cannot_cancel(client, smtp, localstripe, app):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    account = db.session.get(Account, db.session.scalars(select(User.account_id)).one())
    sub = subscribe(localstripe, account)
    assert deliver(client, event("customer.subscription.created", sub)).status_code == 200
    from backend.services import get_settings

    settings = get_settings()
    object.__setattr__(settings, "stripe_api_base", "http://127.0.0.1:9")  # Stripe unreachable (nothing listens)
    try:
        refused = browser.submit("/settings", "/settings/delete-account", {"confirm": "Acme", "password": PASSWORD})
    finally:
        object.__setattr__(settings, "stripe_api_base", localstripe.base)
    assert refused.status_code == 503 and "Nothing was deleted" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Account, account.id) is not None
