"""Security and privacy inside the canvas, in Chromium: the admin opens it from Settings, sees the live facts and
downloads the account's audit log and its data."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from backend.extensions import db
from backend.models import Account, AuditEvent
from backend.services import get_keyring
from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen


@pytest.mark.promise("audit-trail")
def test_an_admin_reads_the_facts_and_downloads_the_audit_log_and_data_inside_the_canvas(page, make_org, live_app,
                                                                               inflow_url):
    sf_org = make_org()
    install_app(sf_org, inflow_url)
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/settings']")
    screen(frame, "settings")
    frame.click("a:has-text('Security and privacy')")
    screen(frame, "security")
    assert frame.inner_text("[data-fact=region]").startswith("Europe (Frankfurt)")
    assert frame.inner_text("[data-fact=key-id]").startswith(get_keyring().primary)
    assert frame.inner_text("[data-fact=result-retention]") == "kept 14 days"
    assert "Salesforce" in frame.inner_text("[data-fact=secrets]")
    shot(page, "30-security-and-privacy")

    with page.expect_download() as download:
        frame.click("button:has-text('Download the audit log')")
    assert download.value.suggested_filename.startswith("inflow-audit-")
    rows = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["time", "action", "user", "target", "ip", "details"] and len(rows) > 1
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    db.session.expire_all()
    actions = set(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.account_id == account.id)))
    assert {r[1] for r in rows[1:]} <= actions and "audit_log.downloaded" in actions

    with page.expect_download() as export:
        frame.click("button:has-text('Download all of this account')")
    with zipfile.ZipFile(export.value.path()) as archive:
        assert "account.json" in archive.namelist() and "org_connections.json" in archive.namelist()
