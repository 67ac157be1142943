"""New export in Chromium, inside localorg's Lightning tab, against the real stack (HTTPS web, worker, localorg)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen
from tests.browser.test_importer import _wait_for_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sf_org(make_org, live_app, inflow_url):  # noqa: F811
    org = make_org(source_dir=ROOT / "force-app", namespace="inflow")
    install_app(org, inflow_url)
    return org


def _ready(frame) -> None:
    frame.wait_for_selector("[data-screen=export][data-state=ready]")


def test_new_export_previews_runs_and_downloads_a_csv(page, sf_org, sf_session, worker, tmp_path):
    sf = Salesforce(instance_url=sf_org.instance_url, session_id=sf_org.ready_token, session=sf_session)
    acct = sf.Account.create({"Name": "Globex"})["id"]
    for i in range(3):
        sf.Contact.create({"LastName": f"Lee{i}", "Email": f"lee{i}@example.com", "AccountId": acct})
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("a.slds-button:has-text('New export')")
    screen(frame, "export")
    _ready(frame)
    frame.fill("[data-object]", "Contact")
    frame.click("[data-next='2']")
    frame.wait_for_selector("[data-fields] option[value=Email]")
    _ready(frame)
    frame.select_option("[data-fields]", ["LastName", "Email"])
    frame.fill("[data-parents]", "Account.Name")
    frame.fill("[data-where]", "Email LIKE 'lee%'")
    shot(page, "export-01-fields")
    frame.click("[data-next='3']")
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-preview] table")
    _ready(frame)
    assert frame.inner_text("[data-query-text]") == (
        "SELECT LastName, Email, Account.Name FROM Contact WHERE Email LIKE 'lee%'")
    assert "Globex" in frame.inner_text("[data-preview]") and frame.locator("[data-preview] tbody tr").count() == 3
    shot(page, "export-02-preview")

    frame.click("[data-goto='2']")
    frame.fill("[data-soql]", "SELECT Id, Emial FROM Contact")  # the user's SOQL replaces the picks
    frame.click("[data-goto='4']")
    frame.wait_for_selector("[data-export-error]:not(.slds-hide)")
    assert "No such column 'Emial' on entity 'Contact'" in frame.inner_text("[data-export-error]")
    frame.fill("[data-soql]", "")
    frame.click("[data-next='3']")
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-export-error].slds-hide", state="attached")
    _ready(frame)

    frame.click("[data-action=run]")
    screen(frame, "run")
    _wait_for_state(frame, "succeeded", worker)
    shot(page, "export-03-run")
    with page.expect_download() as info:
        frame.click("[data-action=download][data-kind=success]")
    data = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    rows = sorted(csv.DictReader(io.StringIO(data)), key=lambda r: r["LastName"])
    assert [(r["LastName"], r["Account.Name"]) for r in rows] == [("Lee0", "Globex"), ("Lee1", "Globex"),
                                                                   ("Lee2", "Globex")]


def test_new_export_into_a_database_table_through_a_connection(page, sf_org, sf_session, worker):
    import psycopg
    from sqlalchemy import select

    from backend.connectors import stored
    from backend.extensions import db
    from backend.models import Account
    from backend.models.base import TenantScope
    from tests.connectors import servers

    sf = Salesforce(instance_url=sf_org.instance_url, session_id=sf_org.ready_token, session=sf_session)
    for i in range(3):
        sf.Contact.create({"LastName": f"Lee{i}", "Title": "=cmd" if i == 0 else "Rep"})
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    with servers.postgres_warehouse() as params:
        account = db.session.scalars(select(Account)).one()
        stored.create(TenantScope(account.id), "warehouse", "postgresql", params)
        db.session.commit()
        frame.click("a.slds-button:has-text('New export')")
        screen(frame, "export")
        _ready(frame)
        frame.fill("[data-object]", "Contact")
        frame.click("[data-next='2']")
        frame.wait_for_selector("[data-fields] option[value=Title]")
        _ready(frame)
        frame.select_option("[data-fields]", ["Id", "LastName", "Title"])
        frame.click("[data-next='3']")
        assert not frame.is_visible("[data-table]")  # a download is the default target
        frame.click("label[for=x-target-table]")  # what a user clicks: SLDS draws the radio over its input
        assert frame.is_visible("[data-table]") and not frame.is_visible("[data-format]")
        assert frame.inner_text("[data-connection]") == "warehouse (postgresql)"
        frame.fill("[data-table]", "contacts")
        shot(page, "export-04-table-target")
        frame.click("[data-next='4']")
        frame.wait_for_selector("[data-preview] table")
        _ready(frame)
        frame.click("[data-action=run]")
        screen(frame, "run")
        _wait_for_state(frame, "succeeded", worker)
        assert "Written to: table contacts on warehouse" in frame.inner_text("[data-written-to]")
        with psycopg.connect(host=params["host"], port=params["port"], dbname=params["database"],
                             user=params["user"]) as pg:
            rows = pg.execute('SELECT "LastName", "Title" FROM contacts ORDER BY 1').fetchall()
        assert rows == [("Lee0", "=cmd"), ("Lee1", "Rep"), ("Lee2", "Rep")]
