"""A job's schedule in Chromium inside localorg's Lightning tab: the time zone defaults to the Salesforce
user's, the next five runs follow the rule as it is typed, a bad rule says what to write, saving and pausing
show in the card; an upload job says why it cannot be scheduled."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.extensions import db
from backend.models import Account, Job, OrgConnection, TenantScope
from backend.models.connections import Connection
from tests.browser.conftest import shot
from tests.browser.host import install_app, open_tab, screen

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sf_org(make_org, live_app, inflow_url):  # noqa: F811
    org = make_org(source_dir=ROOT / "force-app", namespace="inflow")
    install_app(org, inflow_url)
    return org


def _job(sf_org, *, from_connection: bool) -> str:
    db.session.expire_all()
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    scope = TenantScope(account.id)
    org = scope.all(OrgConnection)[0]
    source = {"type": "csv", "config": {}, "blob_id": "gone"}
    if from_connection:
        conn = scope.add(Connection(type="postgresql", name="ERP"))
        db.session.flush()
        source = {"type": "csv", "config": {}, "connection_id": conn.id}
    job = scope.add(Job(name="Nightly contacts", source=source, org_connection_id=org.id, object_name="Contact",
                        operation="insert", mapping={"object": "Contact", "operation": "insert", "fields": []}))
    db.session.commit()
    return job.id


def _open_job(frame, job_id: str) -> None:
    frame.evaluate(f"location.hash = '#/jobs/{job_id}'")
    screen(frame, "job")


def test_a_schedule_is_previewed_as_typed_saved_and_paused(page, sf_org):
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    _open_job(frame, _job(sf_org, from_connection=True))
    card = "[data-schedule]"
    frame.wait_for_selector(f"{card} [data-next] tr")
    # localorg's admin has TimeZoneSidKey America/Los_Angeles: the canvas context carries it.
    assert frame.input_value("[data-field=tz]") == "America/Los_Angeles"
    frame.select_option("[data-field=form]", "daily")
    frame.fill("[data-field=value]", "02:30")
    frame.fill("[data-field=tz]", "Europe/Berlin")
    frame.wait_for_function(
        "() => [...document.querySelectorAll('[data-next] tr td:first-child')]"
        ".every(td => /T0[23]:[03]0:00\\+0[12]:00$/.test(td.textContent))"
        " && document.querySelectorAll('[data-next] tr').length === 5")
    utc = frame.inner_text("[data-next] tr:first-child td:nth-child(2)")
    assert utc.endswith("+00:00") and utc[11:16] in ("00:30", "01:30", "01:00")
    frame.fill("[data-field=value]", "25:99")
    frame.wait_for_selector("[data-schedule-error]:has-text('HH:MM')")
    frame.fill("[data-field=value]", "02:30")
    frame.wait_for_function("() => document.querySelector('[data-schedule-error]').textContent === ''")
    frame.click("[data-action=save-schedule]")
    frame.wait_for_selector("[data-schedule-state]:has-text('Runs daily 02:30 (Europe/Berlin).')")
    shot(page, "30-schedule-saved")
    frame.click("[data-action=pause]")
    frame.wait_for_selector("[data-schedule-state]:has-text('Paused')")
    db.session.expire_all()
    job = db.session.scalars(db.select(Job).where(Job.name == "Nightly contacts")).one()
    assert (job.schedule, job.schedule_tz, job.schedule_paused) == ("daily 02:30", "Europe/Berlin", True)


def test_an_upload_job_says_why_it_cannot_be_scheduled(page, sf_org):
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    _open_job(frame, _job(sf_org, from_connection=False))
    frame.wait_for_selector("[data-schedule-reason]:has-text('uploads are kept for one hour')")
    assert not frame.is_visible("[data-action=save-schedule]")
