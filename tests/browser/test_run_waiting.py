"""A run that waits says why and until when, on its page in Chromium (issue 21): Salesforce answers 503, the
worker reschedules the run, the page shows "Waiting: <reason> - resumes at <time>"; when Salesforce is back the
run goes on by itself and the note goes away."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from backend.extensions import db
from backend.models import Account, TenantScope
from backend.runs import service
from tests.browser.conftest import shot
from tests.browser.host import screen
from tests.browser.test_first_job import _new_import, _review
from tests.browser.test_importer import _wait_for_state, sf_org  # noqa: F401

WAITING = re.compile(r"Waiting: Retry 1 of 5: Salesforce failed \(503\); try again later\. - resumes at "
                     r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")


def test_a_run_waiting_for_salesforce_says_why_and_when_it_resumes(page, sf_org, worker, tmp_path):  # noqa: F811
    frame = _new_import(page, sf_org, tmp_path, "people.csv",
                        "Last Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\n")
    _review(frame)
    sf_org.knobs.unavailable = 503  # Salesforce is down when the worker starts the run
    frame.click("[data-action=save-run]")
    screen(frame, "run")
    note = frame.wait_for_selector("[data-field=waiting]:not(.slds-hide)", timeout=120_000)
    shown = WAITING.fullmatch(note.inner_text())
    assert shown, note.inner_text()
    assert frame.inner_text("[data-field=state]") == "Running" and frame.inner_text("[data-field=phase]") == "paused"
    shot(page, "18-run-waiting")

    run_id = frame.get_attribute("[data-screen=run]", "data-run")
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    resumes = datetime.fromisoformat(service.progress(TenantScope(account.id), run_id)["paused_until"])
    assert shown.group(1) == f"{resumes.astimezone(UTC):%Y-%m-%d %H:%M:%S}"  # the worker's own resume time, in UTC

    sf_org.knobs.unavailable = 0  # Salesforce is back: the rescheduled run goes on by itself
    _wait_for_state(frame, "succeeded", worker)
    assert frame.is_hidden("[data-field=waiting]") and frame.inner_text("[data-field=succeeded]") == "2"
