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
