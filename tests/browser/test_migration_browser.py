"""New migration in Chromium, inside the target org's Lightning tab, against the real stack (HTTPS web, worker,
two localorg orgs): template, match rules, dry run, run, per-step counts, roll back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, OrgConnection
from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen
from tests.browser.test_importer import _wait_for_state
from tests.migration.helpers import by, rows
from tests.runs.factories import connect

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def uat(make_org, live_app, inflow_url):  # noqa: F811
    org = make_org("uat", source_dir=ROOT / "force-app", namespace="inflow")
    install_app(org, inflow_url)
    return org


@pytest.fixture
def production(make_org):  # noqa: F811
    org = make_org("production")
    acme = org.store.insert("Account", {"Name": "Acme", "Phone": "+49 30 2"})
    org.store.insert("Account", {"Name": "Zeta"})
    org.store.insert("Contact", {"LastName": "Ada", "Email": "ada@acme.test", "AccountId": acme})
    org.store.insert("Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31",
                                     "AccountId": acme})
    return org


def _ready(frame) -> None:
    frame.wait_for_selector("[data-screen=migration][data-state=ready]")


def test_a_migration_from_the_tab_dry_runs_runs_and_rolls_back(page, uat, production, worker):
    existing = uat.store.insert("Account", {"Name": "Acme", "Phone": "+49 30 1"})
    frame = open_tab(page, uat)
    screen(frame, "home")
    target = db.session.scalars(select(OrgConnection).where(OrgConnection.org_id == uat.id)).one()
    connect(db.session.get(Account, target.account_id), production)  # the second instance of this account
    frame.click("a.slds-button:has-text('New migration')")
    screen(frame, "migration")
    _ready(frame)
    assert frame.locator("[data-source] option:checked").inner_text() == "production"
    assert frame.locator("[data-target] option:checked").inner_text() == "uat"
    assert frame.input_value("[data-match]") == "Account=Name, Contact=Email, Opportunity=Name"
    frame.fill("[data-fallback]", uat.admin_username)
    frame.click("[data-action=dry-run]")
    frame.wait_for_selector("[data-counts] table")
    _ready(frame)
    assert "2. Contact: after Account (AccountId)" in frame.inner_text("[data-order]")
    counts = [[c.inner_text() for c in r.locator("td").all()] for r in frame.locator("[data-counts] tbody tr").all()]
    assert counts == [["Account", "2", "1", "1", "0"], ["Contact", "1", "1", "0", "0"],
                      ["Opportunity", "1", "1", "0", "0"]]
    assert len(rows(uat, "Account")) == 1 and rows(uat, "Contact") == []  # the dry run wrote nothing
    shot(page, "migration-01-dry-run")

    frame.click("[data-action=run]")
    screen(frame, "run")
    _wait_for_state(frame, "succeeded", worker)
    frame.wait_for_selector("[data-steps]:not(.slds-hide) table")
    assert (frame.inner_text("[data-field=created]"), frame.inner_text("[data-field=updated]")) == ("3", "1")
    steps = [[c.inner_text() for c in r.locator("td").all()][:5] for r in frame.locator("[data-steps] tbody tr").all()]
    assert steps == [["Account", "2", "1", "1", "0"], ["Contact", "1", "1", "0", "0"],
                     ["Opportunity", "1", "1", "0", "0"]]
    accounts = by(uat, "Account", "Name")
    assert accounts["Acme"]["Id"] == existing and accounts["Acme"]["Phone"] == "+49 30 2"
    assert by(uat, "Contact", "LastName")["Ada"]["AccountId"] == existing
    shot(page, "migration-02-run")

    frame.click("[data-action=rollback]")
    frame.click("[data-action=rollback-confirm]")
    _wait_for_state(frame, "rolled_back", worker)
    assert [(a["Id"], a["Phone"]) for a in rows(uat, "Account")] == [(existing, "+49 30 1")]
    assert rows(uat, "Contact") == [] and rows(uat, "Opportunity") == []
    shot(page, "migration-03-rolled-back")
