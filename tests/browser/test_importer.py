"""The importer in Chromium, inside localorg's Lightning tab, against the real stack (HTTPS web, worker, localorg).

Each step saves a screenshot under test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from simple_salesforce import Salesforce

from backend.extensions import db
from backend.models import Account, OrgConnection, TenantScope
from tests.browser.conftest import ARTIFACTS as ARTIFACTS_DIR
from tests.browser.conftest import shot
from tests.browser.host import canvas_frame, frontdoor, install_app, open_record, open_tab, screen

ROOT = Path(__file__).resolve().parents[2]
CSV = ("First Name,Last Name,Email,Company\n"
       "Ada,Lovelace,ada@example.com,Analytical Engines\n"
       "Grace,Hopper,grace@example.com,Nowhere Inc\n"
       "Alan,Turing,alan@example.com,Analytical Engines\n")
RUN_WAIT_MS = 120_000  # a bound on waiting for the worker, not a claim about speed


@pytest.fixture
def sf_org(make_org, live_app, inflow_url):  # noqa: F811
    """An org with the package's objects (namespace inflow) and the Inflow canvas app installed."""
    org = make_org(source_dir=ROOT / "force-app", namespace="inflow")
    install_app(org, inflow_url)
    return org


@pytest.fixture
def sfapi(sf_org, sf_session):  # noqa: F811
    return Salesforce(instance_url=sf_org.instance_url, session_id=sf_org.ready_token, session=sf_session)


def _wait_for_state(frame, state: str, worker) -> None:
    """Wait for the run screen to show `state`; on giving up, say what it showed and what the worker said."""
    try:
        frame.wait_for_selector(f"[data-field=state][data-state={state}]", timeout=RUN_WAIT_MS)
    except PlaywrightTimeout:
        shown = frame.inner_text("[data-field=state]"), frame.inner_text("[data-field=error]")
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        lines = (worker.communicate(timeout=30)[0] or "").splitlines()
        useful = "\n".join(line for line in lines if "recover_runs" not in line)  # the sweep's every-15-s noise
        (ARTIFACTS_DIR / "worker.log").write_text(useful)
        pytest.fail(f"the run never showed {state}; it showed {shown}; worker output:\n{useful[-6000:]}")


def _settled(frame) -> None:
    """Wait until the wizard has nothing loading, validating or waiting to re-render (its data-state), so what is
    clicked next stays where it is between the mouse going down and coming up."""
    frame.wait_for_selector("[data-screen=wizard][data-state=ready]")


def _upload(frame, tmp_path: Path) -> None:
    src = tmp_path / "contacts.csv"
    src.write_text(CSV)
    frame.set_input_files("[data-file]", str(src))
    frame.wait_for_selector("[data-upload-text]:has-text('contacts.csv uploaded')")


def _choose_target(frame) -> None:
    _settled(frame)
    frame.click("[data-next='2']")
    frame.fill("[data-object]", "Contact")
    frame.dispatch_event("[data-object]", "change")
    frame.wait_for_selector("[data-object-help]:has-text('Contact (Contact)')")
    _settled(frame)  # the describe of Contact has arrived


def test_import_with_a_lookup_then_download_errors_and_roll_back(page, sf_org, sfapi, worker, tmp_path):
    sfapi.Account.create({"Name": "Analytical Engines"})
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    assert frame.inner_text("h1") == "Imports"
    shot(page, "01-home-1280")

    frame.click("a.slds-button:has-text('New import')")
    screen(frame, "wizard")
    _upload(frame, tmp_path)
    assert "Analytical Engines" in frame.inner_text("[data-source-sample]")
    shot(page, "02-wizard-source")
    _choose_target(frame)
    shot(page, "03-wizard-target")
    frame.click("[data-next='3']")
    frame.wait_for_selector("[data-row=LastName] .inflow-confidence-high")
    _settled(frame)
    # The one adjustment: Company feeds Account (a lookup by the account's Name), not found automatically.
    frame.select_option("[data-add-field]", "AccountId")
    frame.select_option("select[data-value=AccountId]", "Company")
    assert frame.input_value("[data-lookup=AccountId] [data-lk=match_field]") == "Name"
    frame.wait_for_selector("[data-preview-of=AccountId]:has-text('Analytical Engines')")
    # A formula with its live preview on the first rows.
    frame.select_option("[data-add-field]", "Description")
    frame.select_option("select[data-kind=Description]", "formula")
    frame.fill("input[data-value=Description]", '"Imported from " & UPPER([Company])')
    frame.wait_for_selector("[data-preview-of=Description]:has-text('Imported from ANALYTICAL ENGINES')")
    # A picklist: the file says "Website", the org's Lead Source value is "Web".
    frame.select_option("[data-add-field]", "LeadSource")
    frame.select_option("select[data-kind=LeadSource]", "formula")
    frame.fill("input[data-value=LeadSource]", '"Website"')
    _settled(frame)
    frame.click("[data-row=LeadSource] summary")
    frame.fill("textarea[data-value-map=LeadSource]", "Website = Web")
    frame.wait_for_selector("[data-preview-of=LeadSource]:has-text('Web · Web')")
    shot(page, "04-wizard-mapping-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    shot(page, "04-wizard-mapping-360")
    page.set_viewport_size({"width": 1280, "height": 900})

    _settled(frame)
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-validation-summary]")
    assert frame.inner_text("[data-validation-summary]") == "3 rows read: 2 ready to import, 1 with errors."
    assert "no Account has Name 'Nowhere Inc'" in frame.inner_text("[data-validation]")
    assert sfapi.query("SELECT Id FROM Contact")["totalSize"] == 0  # review writes nothing
    shot(page, "05-wizard-review")

    _settled(frame)
    frame.click("[data-action=save-run]")
    screen(frame, "run")
    _wait_for_state(frame, "partial", worker)
    assert frame.get_attribute("[data-bar]", "aria-valuenow") == "100"
    announced = "Run Finished with errors. 2 succeeded, 1 failed."
    frame.wait_for_selector(f"#inflow-announcer[aria-live=polite]:has-text('{announced}')")
    assert frame.inner_text("[data-field=succeeded]") == "2" and frame.inner_text("[data-field=failed]") == "1"
    frame.wait_for_selector("[data-error-list] li")
    assert "1 × AccountId: no Account has Name 'Nowhere Inc'" in frame.inner_text("[data-error-list]")
    assert {r["LastName"] for r in sfapi.query("SELECT LastName FROM Contact")["records"]} == {"Lovelace", "Turing"}
    link = frame.wait_for_selector("[data-record-link]:not(.slds-hide)")
    assert "/lightning/r/inflow__Import_Run__c/" in link.get_attribute("href")
    shot(page, "06-run-finished-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    shot(page, "06-run-finished-360")
    page.set_viewport_size({"width": 1280, "height": 900})

    with page.expect_download() as download:
        frame.click("[data-action=download][data-kind=error][data-format=csv]")
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "sf__Row,sf__Error,First Name,Last Name,Email,Company"
    assert lines[1:] == ["3,AccountId: no Account has Name 'Nowhere Inc',Grace,Hopper,grace@example.com,Nowhere Inc"]

    frame.click("[data-action=rollback]")
    frame.wait_for_selector("[data-confirm]:not(.slds-hide)")
    shot(page, "07-rollback-confirm")
    focused = "() => document.activeElement.textContent.trim()"
    assert frame.evaluate(focused) == "Keep the records"  # the safe choice has the focus
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert frame.evaluate(focused) == "Keep the records"  # focus stays in the dialog
    page.keyboard.press("Shift+Tab")
    assert frame.evaluate(focused) == "Roll back"
    page.keyboard.press("Enter")
    _wait_for_state(frame, "rolled_back", worker)
    assert sfapi.query("SELECT Id FROM Contact")["totalSize"] == 0
    shot(page, "08-rolled-back")

    run_key = frame.get_attribute("[data-screen=run]", "data-run")
    runs = sfapi.query(f"SELECT Id FROM inflow__Import_Run__c WHERE inflow__Run_Key__c = '{run_key}'")
    record_id = runs["records"][0]["Id"]
    record = open_record(page, sf_org, "inflow__Import_Run__c", record_id)
    screen(record, "run")
    assert record.get_attribute("[data-screen=run]", "data-run") == run_key
    record.wait_for_selector("[data-field=state][data-state=rolled_back]")
    assert "Run of Contact from contacts.csv" in record.inner_text("h1")
    shot(page, "09-record-page-run")

    job_id = sfapi.query("SELECT Id FROM inflow__Import_Job__c")["records"][0]["Id"]
    job_page = open_record(page, sf_org, "inflow__Import_Job__c", job_id)
    screen(job_page, "job")
    assert job_page.inner_text("h1") == "Contact from contacts.csv"
    assert job_page.inner_text("table").count("Rolled back") == 1
    shot(page, "10-record-page-job")

    # Editing the saved job brings back its file, target and mapping (with the lookup), and saves changes.
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    assert "Rolled back" in frame.inner_text("[data-screen=home] table")
    shot(page, "11-home-with-a-job-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    shot(page, "11-home-with-a-job-360")
    page.set_viewport_size({"width": 1280, "height": 900})
    frame.click("a.slds-button:has-text('Edit')")
    screen(frame, "wizard")
    frame.wait_for_selector("[data-source-summary]:has-text('contacts.csv')")
    _settled(frame)
    frame.click("[data-next='2']")
    _settled(frame)
    assert frame.input_value("[data-object]") == "Contact"
    frame.click("[data-next='3']")
    _settled(frame)  # step 3 shown with its first preview, the frame sized to it
    assert frame.input_value("select[data-value=AccountId]") == "Company"
    assert frame.is_checked("[data-lookup=AccountId] [data-lk=enabled]")
    frame.click("[data-next='4']")
    _settled(frame)
    frame.fill("[data-name]", "Contacts with accounts")
    frame.click("[data-action=save]")
    screen(frame, "job")
    assert frame.inner_text("h1") == "Contacts with accounts"
    frame.click("[data-action=run]")
    said = frame.wait_for_selector("[data-confirm]:not(.slds-hide) [data-last-run]").inner_text()
    assert said.startswith("The last run inserted 2 Contacts on ") and said.endswith("it was rolled back since.")
    frame.click("[data-action=run-confirm]")
    screen(frame, "run")
    _wait_for_state(frame, "partial", worker)


def _tab_to(page, frame, text: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if frame.evaluate("() => (document.activeElement.innerText || '').replace(/\\s+/g, ' ').trim()") == text:
            return
    raise AssertionError(f"Tab never reached {text!r}")


def test_an_instance_can_be_disconnected(page, sf_org, make_org, worker):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    other = make_org("branch")
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    conn = TenantScope(account.id).add(OrgConnection(name="Branch office", org_id=other.id,
                                                     instance_url=other.instance_url, login_url=other.instance_url))
    conn.set_secret("access_token", other.ready_token)
    db.session.commit()

    # Keyboard only: Tab to the Instances tab of the navigation, Enter; Tab to Disconnect, Enter, confirm.
    _tab_to(page, frame, "Instances")
    page.keyboard.press("Enter")
    screen(frame, "instances")
    item = f"[data-instance='{conn.id}']"
    assert frame.inner_text(f"{item} [data-status]") == "Connected"
    _tab_to(page, frame, "Disconnect Branch office")
    assert frame.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"  # visible focus
    shot(page, "12-instances")
    page.keyboard.press("Enter")
    dialog = frame.wait_for_selector("[data-disconnect-dialog]:not(.slds-hide)")
    assert "Stored tokens: revoked at Salesforce" in dialog.inner_text() and "Run history" in dialog.inner_text()
    assert frame.evaluate("() => document.activeElement.textContent.trim()") == "Keep connected"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    # A destructive action: Inflow asks the admin (who has no Inflow password) to log in to Salesforce again,
    # in a popup, then disconnects.
    frame.wait_for_selector(f"{item} [data-reauth=salesforce] button:focus")
    shot(page, "12a-instance-reauth")
    with page.expect_popup() as opened:
        page.keyboard.press("Enter")
    popup = opened.value
    popup.wait_for_selector("#username")
    popup.fill("#username", sf_org.admin_username)
    popup.fill("#password", sf_org.admin_password)
    popup.click("#oaapprove")
    popup.wait_for_selector("#inflow-oauth-done[data-reauthenticated=yes]")
    frame.wait_for_selector(f"{item} [data-status]:has-text('Disconnected')")
    assert frame.query_selector(f"{item} [data-disconnect]") is None
    db.session.expire_all()
    assert db.session.get(OrgConnection, conn.id).status == "disconnected"
    assert other.sessions.check(other.ready_token) is None  # revoked at Salesforce too
    shot(page, "13-instance-disconnected")


def test_a_tampered_signed_request_shows_an_error_page_and_nothing_else(page, sf_org):
    def tamper(route):
        body = route.request.post_data or ""
        name, _, value = body.partition("=")
        flipped = value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]
        route.continue_(post_data=f"{name}={flipped}")

    page.context.route("**/canvas", tamper)
    page.goto(frontdoor(sf_org, "/lightning/n/Inflow"))
    frame = canvas_frame(page)
    frame.wait_for_selector("h1")
    assert "could not verify" in frame.inner_text("h1")
    assert frame.query_selector("#inflow-screen") is None and frame.query_selector("nav") is None
    assert frame.query_selector("#inflow-boot") is None  # no app token was handed out
    shot(page, "14-tampered")


def test_an_admin_changes_the_retention_inside_the_canvas(page, sf_org):
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/settings']")
    screen(frame, "settings")
    assert "cannot be changed" in frame.inner_text("[data-field=region]")
    frame.fill("#s-retention", "7")
    frame.click("button:has-text('Save retention')")
    frame.wait_for_selector("[data-screen=settings][data-ready] [data-field=retention]:has-text('7 days')")
    db.session.expire_all()
    account = db.session.scalars(db.select(Account).where(Account.salesforce_org_id == sf_org.id)).one()
    assert account.retention_days == 7
    shot(page, "15-settings")


def test_a_dropped_file_runs_with_live_progress_and_can_be_cancelled(page, sf_org, worker):
    rows = "\n".join(f"Ann{i},Lee{i},ann{i}@example.com" for i in range(1200))
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/new']")
    screen(frame, "wizard")
    # Drag and drop: a DataTransfer holding the file, dropped on the drop zone.
    data = frame.evaluate_handle("""text => { const dt = new DataTransfer();
        dt.items.add(new File([text], 'people.csv', {type: 'text/csv'})); return dt; }""",
                                f"First Name,Last Name,Email\n{rows}\n")
    frame.dispatch_event("[data-dropzone]", "dragover", {"dataTransfer": data})
    frame.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": data})
    frame.wait_for_selector("[data-upload-text]:has-text('people.csv uploaded (3 columns)')")
    _choose_target(frame)
    frame.click("[data-next='3']")
    frame.wait_for_selector("[data-row=Email] .inflow-confidence-high")
    _settled(frame)
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-validation-summary]:has-text('1200 rows read: 1200 ready')")
    _settled(frame)
    sf_org.knobs.latency_ms = 1500  # every Salesforce call slow: the run is surely still going when cancelled
    frame.click("[data-action=save-run]")
    screen(frame, "run")
    frame.wait_for_selector("[data-field=state][data-state=running]", timeout=RUN_WAIT_MS)
    frame.wait_for_selector("[data-action=cancel]:not(.slds-hide)")
    shot(page, "16-run-in-progress")
    frame.click("[data-action=cancel]")
    _wait_for_state(frame, "cancelled", worker)
    assert frame.is_hidden("[data-action=cancel]")
    shot(page, "17-run-cancelled")


def test_next_pressed_while_the_object_resolves_still_counts(page, sf_org, tmp_path):
    """Issue 15: typing the object and pressing "Next: mapping" at once. The field's change event comes with the
    mouse going down and the object starts resolving (help line, describe, match key); the mouse comes up while the
    describe is still on its way. Nothing may move under the pointer meanwhile, or the browser sends the click to
    no button at all; and the click must take the user to the mapping once the object has resolved."""
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("[data-nav='#/new']")
    screen(frame, "wizard")
    _upload(frame, tmp_path)
    _settled(frame)
    frame.click("[data-next='2']")
    frame.fill("[data-object]", "Contact")  # typed, not committed: no change event yet
    _settled(frame)
    next_button = frame.locator("[data-step='2'] [data-next='3']")
    box = next_button.bounding_box()
    assert box is not None
    sf_org.knobs.latency_ms = 1000  # the describe stays on its way while the mouse is down
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    frame.wait_for_selector("[data-object-help]:has-text('Contact (Contact)')")
    assert frame.get_attribute("[data-screen=wizard]", "data-state") == "busy"
    assert next_button.bounding_box() == box
    page.mouse.up()
    sf_org.knobs.latency_ms = 0
    frame.wait_for_selector("[data-row=LastName] .inflow-confidence-high")
    _settled(frame)
    assert frame.is_visible("[data-step='3']") and frame.is_hidden("[data-step='2']")
