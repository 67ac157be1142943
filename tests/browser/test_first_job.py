"""A first real job in Chromium, as a Data Loader user would do it: a review that blocks what would fail, upsert
results with created and updated counts, Excel downloads that keep values as typed, a confirmed re-run."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from tests.browser.host import open_tab, screen
from tests.browser.test_importer import _settled, _wait_for_state, sf_org, sfapi  # noqa: F401


def _new_import(page, sf_org, tmp_path: Path, name: str, text: str):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("a.slds-button:has-text('New import')")
    screen(frame, "wizard")
    src = tmp_path / name
    src.write_text(text)
    frame.set_input_files("[data-file]", str(src))
    frame.wait_for_selector(f"[data-upload-text]:has-text('{name} uploaded')")
    _settled(frame)
    frame.click("[data-next='2']")
    frame.fill("[data-object]", "Contact")
    frame.dispatch_event("[data-object]", "change")
    frame.wait_for_selector("[data-object-help]:has-text('Contact (Contact)')")
    _settled(frame)
    return frame


def _review(frame) -> None:
    _settled(frame)
    frame.click("[data-next='3']")
    _settled(frame)
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-validation] .slds-notify, [data-validation-summary]")
    _settled(frame)


def test_the_review_blocks_a_run_that_would_fail_and_explains_why(page, sf_org, tmp_path):  # noqa: F811
    frame = _new_import(page, sf_org, tmp_path, "no-last-names.csv", "First Name,Email\nAda,ada@example.com\n")
    _review(frame)
    assert frame.is_disabled("[data-action=save-run]")
    reason = frame.inner_text("[data-run-blocked]")
    assert reason == "Cannot run yet: Last Name (LastName) is required for new records but is not mapped."
    assert frame.get_attribute("[data-action=save-run]", "aria-describedby") == "run-blocked"
    assert not frame.is_disabled("[data-action=save]")  # an unfinished job can still be saved


def test_an_upsert_by_email_is_allowed_says_why_and_reports_created_and_updated(page, sf_org, sfapi, worker,  # noqa: F811
                                                                               tmp_path):
    sfapi.Contact.create({"LastName": "Lovelace", "Email": "ada@example.com", "Phone": "+1 (555) 000-0000"})
    text = ("Last Name,Email,Phone\nLovelace,ada@example.com,+1 (555) 174-9779\n"
            "Hopper,grace@example.com,+1 (555) 863-6593\n")
    frame = _new_import(page, sf_org, tmp_path, "people.csv", text)
    frame.select_option("[data-operation]", "upsert")
    frame.select_option("[data-match]", "Email")
    _review(frame)
    notes = frame.inner_text("[data-validation]")
    assert "Notes (they do not stop the run)" in notes
    assert "records are matched by query; several matches are rejected." in notes
    assert not frame.is_disabled("[data-action=save-run]") and frame.inner_text("[data-run-blocked]") == ""
    frame.click("[data-action=save-run]")
    screen(frame, "run")
    _wait_for_state(frame, "succeeded", worker)
    assert (frame.inner_text("[data-field=created]"), frame.inner_text("[data-field=updated]")) == ("1", "1")

    with page.expect_download() as download:
        frame.click("[data-action=download][data-kind=success][data-format=xlsx]")
    assert download.value.suggested_filename.startswith("Contact from people.csv - Contact - success - ")
    assert download.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert [row[2:] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("Lovelace", "ada@example.com", "+1 (555) 174-9779"), ("Hopper", "grace@example.com", "+1 (555) 863-6593")]


def test_run_now_on_a_saved_insert_asks_first_and_can_skip_existing_records(page, sf_org, sfapi, worker,  # noqa: F811
                                                                            tmp_path):
    frame = _new_import(page, sf_org, tmp_path, "people.csv",
                        "Last Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\n")
    _review(frame)
    frame.click("[data-action=save-run]")
    screen(frame, "run")
    _wait_for_state(frame, "succeeded", worker)
    frame.click("a:has-text('All runs of this job')")
    screen(frame, "job")
    frame.click("[data-action=run]")
    dialog = frame.wait_for_selector("[data-confirm]:not(.slds-hide)")
    assert "The last run inserted 2 Contacts on " in dialog.inner_text()
    assert frame.evaluate("() => document.activeElement.textContent.trim()") == "Don't run"  # the safe choice
    page.keyboard.press("Escape")
    assert frame.is_hidden("[data-confirm]") and sfapi.query("SELECT Id FROM Contact")["totalSize"] == 2

    frame.click("[data-action=run]")
    assert frame.is_checked("[data-skip-existing]") and frame.input_value("[data-skip-field]") == "Email"
    frame.click("[data-action=run-confirm]")
    screen(frame, "run")
    _wait_for_state(frame, "succeeded", worker)
    assert (frame.inner_text("[data-field=created]"), frame.inner_text("[data-field=skipped]")) == ("0", "2")
    assert sfapi.query("SELECT Id FROM Contact")["totalSize"] == 2  # no duplicates
    frame.click("a:has-text('All runs of this job')")
    screen(frame, "job")
    frame.click("a.slds-button:has-text('Edit')")  # "Save and run" of the edited job asks the same question
    screen(frame, "wizard")
    frame.wait_for_selector("[data-source-summary]:has-text('people.csv')")
    _settled(frame)
    frame.click("[data-next='2']")
    _review(frame)
    frame.click("[data-action=save-run]")
    screen(frame, "job")
    dialog = frame.wait_for_selector("[data-confirm]:not(.slds-hide)")
    assert "The last run inserted 0 Contacts on " in dialog.inner_text()
    assert "; 2 rows were skipped." in dialog.inner_text()
    frame.click("[data-action=run-cancel]")
    assert sfapi.query("SELECT Id FROM Contact")["totalSize"] == 2


def test_day_first_dates_are_detected_and_a_wrong_format_blocks_the_run_in_plain_words(page, sf_org, tmp_path):  # noqa: F811
    frame = _new_import(page, sf_org, tmp_path, "born.csv",
                        "Last Name,Birthdate\nLovelace,10/12/1815\nHopper,09/12/1906\nTuring,23/06/1912\n")
    _settled(frame)
    frame.click("[data-next='3']")
    frame.wait_for_selector("[data-date-help]:has-text(\"Detected from the values of 'Birthdate'.\")")
    _settled(frame)
    assert frame.input_value("[data-option=date_format]") == "eu_slash"
    assert "31/01/2026 style" in frame.inner_text("[data-option=date_format] option:checked")
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-validation-summary]")
    assert frame.inner_text("[data-validation-summary]") == "3 rows read: 3 ready to import, 0 with errors."
    _settled(frame)

    frame.click("[data-step='4'] [data-next='3']")  # Back to the mapping
    _settled(frame)
    frame.select_option("[data-option=date_format]", "iso")
    _settled(frame)
    frame.click("[data-next='4']")
    frame.wait_for_selector("[data-validation] .slds-alert_error")
    _settled(frame)
    reason = frame.inner_text("[data-run-blocked]")
    assert "written like 10/12/1815 (31/01/2026 style), not in 2026-01-31 style" in reason
    assert "eu_slash" not in reason and "iso" not in reason.replace("ISO", "")
    assert frame.is_disabled("[data-action=save-run]")


def test_source_settings_change_the_preview_at_once_and_the_row_count_shows(page, sf_org, tmp_path):  # noqa: F811
    frame = open_tab(page, sf_org)
    screen(frame, "home")
    frame.click("a.slds-button:has-text('New import')")
    screen(frame, "wizard")
    src = tmp_path / "export.csv"
    src.write_bytes("Export für Q1\nName;Stadt\nJürgen;Köln\nAnn;Bonn\n".encode("cp1252"))
    frame.set_input_files("[data-file]", str(src))
    frame.wait_for_selector("[data-upload-text]:has-text('export.csv uploaded')")
    _settled(frame)
    assert frame.inner_text("[data-detected]") == "Reading with encoding Windows-1252, comma delimited."
    assert frame.inner_text("[data-source-counts]").endswith("1 column · 3 rows")
    frame.fill("[data-src=header_row]", "2")
    frame.dispatch_event("[data-src=header_row]", "change")
    frame.wait_for_selector("[data-source-counts]:has-text('2 columns · 2 rows')")
    _settled(frame)
    assert "Jürgen" in frame.inner_text("[data-source-sample]")
    assert frame.inner_text("[data-detected]") == "Reading with encoding Windows-1252, semicolon delimited."

    workbook = openpyxl.Workbook()
    workbook.active.title = "Cover"
    workbook.active.append(["Q1 contacts"])
    data = workbook.create_sheet("Data")
    data.append(["Last Name", "Email"])
    data.append(["Lovelace", "ada@example.com"])
    workbook.save(tmp_path / "book.xlsx")
    frame.set_input_files("[data-file]", str(tmp_path / "book.xlsx"))
    frame.wait_for_selector("[data-upload-text]:has-text('book.xlsx uploaded')")
    _settled(frame)
    assert frame.inner_text("[data-detected]") == 'Reading with sheet "Data".'
    assert frame.inner_text("[data-source-counts]").endswith("2 columns · 1 row")
    frame.select_option("[data-src=sheet]", "Cover")
    frame.wait_for_selector("[data-source-counts]:has-text('1 column · 0 rows')")
