"""The import wizard in Chromium with "From a connection": a PostgreSQL table (columns and a WHERE filter) and a
CSV file in an S3 bucket (moto_server) are previewed, mapped, saved and run by the real worker; the records
arrive in localorg."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models import Account, Job, TenantScope
from tests.browser.conftest import shot
from tests.browser.host import open_tab, screen
from tests.browser.test_importer import _settled, _wait_for_state, sf_org, sfapi  # noqa: F401
from tests.connectors import filestores, servers


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        servers.add_contacts_table(params, [("Lovelace", "ada@example.com"), ("Hopper", "grace@example.com"),
                                            ("Skipped", "skip@example.com")])
        yield params


@pytest.fixture(scope="module")
def s3() -> Iterator[dict]:
    with filestores.moto_s3() as params:
        client = boto3.client("s3", endpoint_url=params["endpoint_url"], region_name=params["region"],
                              aws_access_key_id=params["access_key_id"],
                              aws_secret_access_key=params["secret_access_key"])
        client.put_object(Bucket=params["bucket"], Key="exports/contacts.csv",
                          Body=b"Last Name,Email\nTuring,alan@example.com\nHamilton,margaret@example.com\n")
        yield params


def _save_connection(sf_org, name: str, type_name: str, params: dict) -> str:  # noqa: F811
    db.session.expire_all()
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    row = stored.create(TenantScope(account.id), name, type_name, params)
    db.session.commit()
    return row.id


def _from_connection(page, sf_org, name: str, type_name: str, params: dict):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    cid = _save_connection(sf_org, name, type_name, params)
    frame.click("a.slds-button:has-text('New import')")
    screen(frame, "wizard")
    frame.click("label[for=mode-connection]")
    assert frame.is_hidden("[data-mode-panel=upload]") and frame.is_visible("[data-mode-panel=connection]")
    frame.focus("[data-conn]")  # keyboard: the connection is chosen in a native select
    frame.select_option("[data-conn]", cid)
    _settled(frame)  # browsing has filled the suggestions
    return frame


def _run_to_localorg(frame, worker) -> None:
    _settled(frame)
    frame.click("[data-next='2']")
    frame.fill("[data-object]", "Contact")
    frame.dispatch_event("[data-object]", "change")
    frame.wait_for_selector("[data-object-help]:has-text('Contact (Contact)')")
    _settled(frame)
    frame.click("[data-next='3']")
    _settled(frame)
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-validation-summary]")
    _settled(frame)
    frame.click("[data-action=save-run]")
    screen(frame, "run")
    _wait_for_state(frame, "succeeded", worker)


def test_a_postgresql_table_is_imported_through_the_wizard(page, sf_org, sfapi, worker, pg):  # noqa: F811
    frame = _from_connection(page, sf_org, "ERP", "postgresql", {**pg, "tls": False})
    assert frame.query_selector("[data-table-list] option[value='sales.contacts']")
    frame.fill("#c-table", "sales.contacts")
    frame.fill("#c-columns", "Last Name, Email")
    frame.fill("#c-where", "\"Email\" <> 'skip@example.com'")
    frame.focus("[data-conn-preview]")
    frame.page.keyboard.press("Enter")
    frame.wait_for_selector("[data-source-counts]:has-text('ERP: sales.contacts')")
    assert "2 columns · first 2 rows shown" in frame.inner_text("[data-source-counts]")
    sample = frame.inner_text("[data-source-sample] table")
    assert "Lovelace" in sample and "Skipped" not in sample and "Secret" not in sample
    shot(frame.page, "45-wizard-connection")
    _run_to_localorg(frame, worker)
    found = sfapi.query("SELECT LastName, Email FROM Contact ORDER BY LastName")["records"]
    assert [(r["LastName"], r["Email"]) for r in found] == [("Hopper", "grace@example.com"),
                                                           ("Lovelace", "ada@example.com")]

    db.session.expire_all()  # editing the saved job shows its connection source as it was chosen, read again
    [job] = db.session.scalars(db.select(Job)).all()
    assert job.name == "Contact from ERP: sales.contacts"
    assert job.source == {"type": "connection", "connection_id": job.source["connection_id"],
                          "read": {"table": "sales.contacts", "columns": ["Last Name", "Email"],
                                   "where": "\"Email\" <> 'skip@example.com'"}}
    frame.evaluate(f"location.hash = '#/jobs/{job.id}/edit'")
    screen(frame, "wizard")
    frame.wait_for_selector("[data-source-counts]:has-text('ERP: sales.contacts')")
    assert frame.is_checked("#mode-connection") and frame.is_visible("#c-where")
    assert (frame.input_value("#c-columns"), frame.input_value("#c-where")) == ("Last Name, Email",
                                                                               "\"Email\" <> 'skip@example.com'")


def test_a_file_in_an_s3_bucket_is_imported_through_the_wizard(page, sf_org, sfapi, worker, s3):  # noqa: F811
    frame = _from_connection(page, sf_org, "Drop", "s3", s3)
    assert frame.query_selector("[data-path-list] option[value='/exports']")
    frame.fill("#c-path", "exports/contacts*.csv")
    frame.click("[data-conn-preview]")
    frame.wait_for_selector("[data-source-counts]:has-text('Drop: exports/contacts*.csv')")
    assert "Turing" in frame.inner_text("[data-source-sample] table")
    _run_to_localorg(frame, worker)
    found = sfapi.query("SELECT LastName, Email FROM Contact ORDER BY LastName")["records"]
    assert [(r["LastName"], r["Email"]) for r in found] == [("Hamilton", "margaret@example.com"),
                                                           ("Turing", "alan@example.com")]
