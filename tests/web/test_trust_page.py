"""The Security and privacy page: live facts of a seeded account and nothing more; the audit-log download."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import render_template
from sqlalchemy import select

from backend.billing.card import Card, card_on_file
from backend.extensions import db
from backend.models import Account, AuditEvent, Connection, OrgConnection, User
from backend.models.audit import record
from backend.models.base import utcnow
from backend.models.billing import BillingAccount
from backend.security.passwords import hash_password
from backend.services import get_blob_store, get_keyring, get_settings
from backend.settings import Settings
from backend.storage.blobs import expiry_for
from backend.web.trust import gather, subprocessors
from tests.accounts_support import PASSWORD, Browser, log_in

DPA = "https://inflow.example/legal/dpa.pdf"
HIPAA = "https://inflow.example/legal/hipaa"


@pytest.fixture
def app_config(app_config: dict, request: pytest.FixtureRequest) -> dict:
    """HTTPS public URL (Secure cookies travel); a test may add settings with indirect parametrisation."""
    return {**app_config, "public_url": "https://localhost", **getattr(request, "param", {})}


def seed_account(company: str, email: str, role: str = "admin") -> tuple[Account, User]:
    account = Account(company=company, region="eu-frankfurt", retention_days=9)
    db.session.add(account)
    db.session.flush()
    user = User(account_id=account.id, email=email, role=role, email_verified=True,
                password_hash=hash_password(PASSWORD))
    db.session.add(user)
    db.session.commit()
    return account, user


def signed_in(client, email: str) -> Browser:
    browser = Browser(client)
    assert log_in(browser, email).status_code == 303
    return browser


def facts_of(html: str) -> dict[str, list[str]]:
    """Text of every element marked data-fact, tags stripped, whitespace folded."""
    found: dict[str, list[str]] = {}
    for name, inner in re.findall(r'data-fact="([a-z-]+)"[^>]*>(.*?)</(?:dd|p|ul|table|a)>', html, re.S):
        found.setdefault(name, []).append(" ".join(unescape(re.sub(r"<[^>]+>", " ", inner)).split()))
    return found


@pytest.mark.promise("subprocessors-and-documents")
def test_the_page_shows_the_accounts_live_facts(client):
    account, _ = seed_account("Acme", "ada@acme.example")
    used = utcnow().replace(microsecond=0) - timedelta(hours=3)
    org = OrgConnection(account_id=account.id, name="Production", org_id="00D000000000001AAA",
                        instance_url="https://acme.my.salesforce.com", last_used_at=used)
    conn = Connection(account_id=account.id, type="postgresql", name="Warehouse")
    rotated = record("keys.rotate", target=get_keyring().primary, values=3)
    db.session.add_all([org, conn])
    db.session.commit()
    upload = get_blob_store().put(account.id, "upload", b"a,b\n", expires_at=expiry_for("upload", 9))

    html = signed_in(client, "ada@acme.example").get("/settings/security").get_data(as_text=True)
    facts = facts_of(html)
    settings = get_settings()
    assert facts["region"] == ["Europe (Frankfurt) (eu-frankfurt)"]
    database_host = "127.0.0.1" if settings.database_url.startswith("postgresql") else \
        "embedded SQLite file on this server"
    redis_host = "127.0.0.1" if settings.redis_url.startswith("redis://") else "embedded Redis on this server"
    assert facts["storage-host"] == [database_host, redis_host]
    assert facts["key-id"] == [f"{get_keyring().primary} (AES-256-GCM)"]
    assert facts["keys-rotated"] == [rotated.created_at.strftime("%Y-%m-%d %H:%M") + " UTC"]
    assert facts["upload-retention"] == ["deleted 1 hour after upload"]
    assert facts["result-retention"] == ["kept 9 days"]
    assert facts["next-purge"] == [f"your next file expires {upload.expires_at.strftime('%Y-%m-%d %H:%M')} UTC "
                                   "and is deleted within 5 minutes"]
    rows = re.findall(r'<tr data-secret="([^"]*)">(.*?)</tr>', html, re.S)
    cells = {name: [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
                    for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for name, row in rows}
    assert cells == {
        "Production": ["Salesforce", "Production https://acme.my.salesforce.com", "connected",
                       used.strftime("%Y-%m-%d %H:%M") + " UTC"],
        "Warehouse": ["postgresql", "Warehouse", "connected", "never"]}
    assert card_on_file(account) is None and facts["card"] == ["No card on file."]
    # Nothing the configuration does not show: mail goes to a local relay, no Stripe, no DPA or HIPAA link.
    assert re.findall(r'data-subprocessor="([^"]+)"', html) == ["Hosting"]
    assert "dpa" not in facts and "hipaa" not in facts and "Stripe" not in html
    assert 'action="/settings/export"' in html and 'action="/settings/audit-log"' in html
    assert 'action="/settings/delete-account"' in html and 'name="password"' in html  # deletion re-authenticates


@pytest.mark.parametrize("app_config", [{"dpa_url": DPA, "hipaa_url": HIPAA}], indirect=True)
@pytest.mark.promise("subprocessors-and-documents")
def test_dpa_and_hipaa_links_appear_when_the_operator_sets_them(client):
    seed_account("Acme", "ada@acme.example")
    html = signed_in(client, "ada@acme.example").get("/settings/security").get_data(as_text=True)
    assert f'href="{DPA}" data-fact="dpa"' in html and f'href="{HIPAA}" data-fact="hipaa"' in html


@pytest.mark.promise("subprocessors-and-documents")
def test_sub_processors_come_from_configuration():
    local = Settings(smtp_host="127.0.0.1")
    assert [name for name, _, _ in subprocessors(local, "Europe (Frankfurt)")] == ["Hosting"]
    relay = Settings(smtp_host="smtp.mailprovider.example")
    assert subprocessors(relay, "Australia (Sydney)") == (
        ("Hosting", "Australia (Sydney)", "stores and processes all of the account's data"),
        ("Email delivery", "smtp.mailprovider.example", "sends sign-up, invitation and password mails"))


@pytest.mark.promise("card-data-stays-with-stripe")
def test_a_card_is_shown_as_brand_last_four_and_expiry_and_no_table_can_hold_more(client):
    account, _ = seed_account("Acme", "ada@acme.example")
    assert Card._fields == ("brand", "last4", "exp_month", "exp_year")
    db.session.add(BillingAccount(account_id=account.id, plan="team", subscription_status="active",
                                  card_brand="visa", card_last4="4242", card_exp_month=4, card_exp_year=2031))
    db.session.commit()
    html = render_template("settings/_security_facts.html", facts=gather(account))
    assert facts_of(html)["card"] == ["Visa ending 4242, expires 04/2031"]
    columns = [f"{t.name}.{c.name}" for t in db.metadata.sorted_tables for c in t.columns]
    assert not [c for c in columns if re.search(r"card_?num|\.pan$|cvc|cvv|security_code", c)]


@pytest.mark.promise("audit-trail", "tenant-isolation")
def test_the_audit_log_download_has_this_accounts_events_and_no_other_tenants(client):
    acme, ada = seed_account("Acme", "ada@acme.example")
    other, bob = seed_account("Other", "bob@other.example")
    record("retention.changed", account_id=acme.id, user_id=ada.id, ip="198.51.100.7", old_days=14, new_days=9)
    record("job.saved", account_id=acme.id, user_id=ada.id, target="=HYPERLINK(\"http://evil\")")
    record("retention.changed", account_id=other.id, user_id=bob.id, ip="203.0.113.9", old_days=14, new_days=1)
    record("login.failed", ip="203.0.113.10")  # no account at all
    db.session.commit()

    browser = signed_in(client, "ada@acme.example")
    assert browser.get("/settings/audit-log").status_code == 405
    response = browser.submit("/settings/security", "/settings/audit-log", {})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["retention.changed", "job.saved", "login", "audit_log.downloaded"]
    assert {r["user"] for r in rows} == {"ada@acme.example"}
    assert rows[0]["ip"] == "198.51.100.7" and rows[0]["details"] == '{"new_days": 9, "old_days": 14}'
    assert rows[1]["target"].startswith("'=")  # a spreadsheet shows it, never runs it
    text = response.get_data(as_text=True)
    assert "bob@other.example" not in text and "203.0.113" not in text and other.id not in text
    downloaded = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit_log.downloaded")).one()
    assert downloaded.account_id == acme.id and downloaded.user_id == ada.id


def test_only_admins_see_the_page_or_download_the_log(client):
    acme, _ = seed_account("Acme", "ada@acme.example")
    db.session.add(User(account_id=acme.id, email="cy@acme.example", role="user", email_verified=True,
                        password_hash=hash_password(PASSWORD)))
    db.session.commit()
    assert Browser(client).get("/settings/security", headers={"Accept": "text/html"}).status_code == 302  # login
    browser = signed_in(client, "cy@acme.example")
    assert browser.get("/settings/security").status_code == 403
    assert browser.get("/ui/security").status_code == 403
    assert browser.submit("/settings", "/settings/audit-log", {}).status_code == 403


def test_the_importer_screen_shows_the_same_facts(client):
    seed_account("Acme", "ada@acme.example")
    html = signed_in(client, "ada@acme.example").get("/ui/security").get_data(as_text=True)
    assert 'data-screen="security"' in html
    assert facts_of(html)["key-id"] == [f"{get_keyring().primary} (AES-256-GCM)"]
    assert 'data-download="/settings/audit-log"' in html and 'data-download="/settings/export"' in html
    assert 'data-post="/settings/delete-account"' in html
