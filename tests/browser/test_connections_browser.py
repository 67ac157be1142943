"""The Connections screen in Chromium inside localorg's Lightning tab: an admin adds a PostgreSQL connection
from a URL (tested before it is saved; the password never comes back), tests it, previews a table's first
rows, and is told which job stops a delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models import Account, Job, OrgConnection, TenantScope
from backend.models.connections import Connection
from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen
from tests.connectors import servers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        yield params


@pytest.fixture
def sf_org(make_org, live_app, inflow_url):  # noqa: F811
    org = make_org(source_dir=ROOT / "force-app", namespace="inflow")
    install_app(org, inflow_url)
    return org


def test_an_admin_adds_tests_previews_and_cannot_delete_a_used_connection(page, sf_org, pg):
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/connections']")
    screen(frame, "connections")
    frame.fill("#conn-name", "erp")
    frame.fill("#conn-url", f"postgresql://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{pg['database']}")
    frame.click("button:has-text('Test and save')")
    frame.wait_for_selector("[data-screen=connections][data-ready] [data-connection]")
    listed = frame.inner_text("[data-connection]")
    assert "erp" in listed and "postgresql" in listed and pg["password"] not in frame.content()
    frame.click("[data-test]")
    frame.wait_for_selector("[data-result]:has-text('Works:')")
    frame.click("[data-preview]")
    frame.fill("[data-what]", "sales.people")
    frame.click("[data-show]")  # its bytea column is refused, with what to do about it
    frame.wait_for_selector("[data-result]:has-text(\"'photo' (binary data, bytea)\")")
    frame.fill("[data-what]", "SELECT id, name FROM sales.people ORDER BY id")
    frame.click("[data-show]")
    frame.wait_for_selector("[data-rows] table, [data-result].slds-text-color_error")
    assert frame.query_selector("[data-rows] table"), frame.inner_text("[data-result]")
    assert "Zoë Ångström" in frame.inner_text("[data-rows] table")
    shot(page, "40-connections")

    db.session.expire_all()
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    scope = TenantScope(account.id)
    [conn] = scope.all(Connection)
    scope.add(Job(name="ERP people", source={"type": "connection", "connection_id": conn.id,
                                             "read": {"table": "sales.people"}},
                  org_connection_id=scope.all(OrgConnection)[0].id, object_name="Contact", operation="insert",
                  mapping={"object": "Contact", "operation": "insert", "fields": []}))
    db.session.commit()
    frame.click("[data-delete]")
    frame.wait_for_selector("[data-result]:has-text('ERP people')")
    assert len(scope.all(Connection)) == 1


def test_an_admin_browses_a_connection_and_edits_it_keeping_the_password(page, sf_org, pg):
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    db.session.expire_all()
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    stored.create(TenantScope(account.id), "erp", "postgresql", {**pg, "tls": False})
    db.session.commit()
    frame.click("[data-nav='#/connections']")
    screen(frame, "connections")
    frame.click("[data-browse]")
    frame.click("[data-entry='sales'] > button")  # a schema opens in place
    assert frame.get_attribute("[data-entry='sales'] > button", "aria-expanded") == "true"
    frame.focus("[data-entry='sales.people'] > button")  # a table is picked with the keyboard
    page.keyboard.press("Enter")
    frame.wait_for_selector("[data-result]:has-text(\"'photo' (binary data, bytea)\")")
    assert frame.input_value("[data-what]") == "sales.people"

    frame.click("[data-edit]")
    frame.fill("[data-edit-form] [name=name]", "erp (prod)")
    frame.fill("[data-edit-form] [name=url]", f"postgresql://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}")
    frame.click("[data-edit-form] button:has-text('Test and save')")
    frame.wait_for_selector("[data-screen=connections][data-ready] [data-connection] :text('erp (prod)')")
    frame.click("[data-test]")
    frame.wait_for_selector("[data-result]:has-text('Works:')")
    db.session.expire_all()
    [row] = TenantScope(account.id).all(Connection)
    assert row.name == "erp (prod)" and stored.parameters(row)["password"] == pg["password"]
