"""What only the OAuth connectors do, against the HTTPS stand-ins: Dropbox listings over several pages, every
matching file and archive moves; Sheets ranges and ragged rows; an access token refreshed only when expired
and handed back for storing; a revoked grant refused; the provider URLs as settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.connectors import ConnectorError, create_connector
from backend.settings import Settings
from tests.connectors import oauth_standins


def _rows(source) -> list[dict[str, str]]:
    return [row for chunk in source.read() for row in chunk.frame.to_dict("records")]


@pytest.fixture
def own_standins(localorg) -> Iterator[oauth_standins.Standins]:
    """Stand-ins of this test's own, for tests that move files."""
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


def test_dropbox_lists_every_page_reads_every_match_and_archives(own_standins):
    dropbox = create_connector("dropbox", own_standins.params("dropbox"), allow_loopback=True)
    assert [e.name for e in dropbox.browse("exports")] == ["people-old.csv", "people.csv", "readme.txt"]
    assert "POST /2/files/list_folder/continue" in own_standins.calls  # two entries a page
    every = dropbox.source({"path": "batches/batch-*.csv", "pick": "every"})
    assert [r["LastName"] for r in _rows(every)] == ["Lee", "Kim", "Park"]
    assert dropbox.archive(every.paths, "batches/done") == ["batches/done/batch-1.csv", "batches/done/batch-2.csv"]
    assert "/batches/done/batch-2.csv" in own_standins.files and "/batches/batch-1.csv" not in own_standins.files
    assert [e.name for e in dropbox.browse("batches")] == ["done"]


def test_sheets_reads_a_range_pads_short_rows_and_lists_sheets(standins):
    sheets = create_connector("gsheets", standins.params("google"), allow_loopback=True)
    assert [(e.name, e.kind) for e in sheets.browse()] == [("people", "table"), ("Notes", "table")]
    rows = _rows(sheets.source({"table": "people!A1:G4"}))
    assert rows[2] == {"id": "3", "name": "Plain", "amount": "9007199254740993.000000", "active": "", "born": "",
                       "seen": "", "note": ""}  # Sheets leaves trailing empty cells out
    assert _rows(sheets.source({"path": "Notes"})) == [{"note": "hello"}]
    with pytest.raises(ConnectorError) as caught:
        sheets.source({"spreadsheet_id": "no-such-spreadsheet", "path": "people"})
    assert caught.value.stage == "missing" and "Requested entity was not found" in str(caught.value)


def test_the_access_token_is_refreshed_only_when_expired_and_handed_back(standins):
    params = standins.params("dropbox")
    seen: list[dict] = []
    first = create_connector("dropbox", params, allow_loopback=True)
    first.on_tokens = seen.append
    first.test()
    assert len(seen) == 1 and seen[0]["refresh_token"] == params["refresh_token"]
    assert seen[0]["access_token"] in standins.access and seen[0]["expires_at"] > time.time() + 3600
    refreshes = standins.calls.count("POST /oauth2/token")
    live = create_connector("dropbox", {**params, **seen[0]}, allow_loopback=True)
    live.on_tokens = seen.append
    live.test()
    assert standins.calls.count("POST /oauth2/token") == refreshes and len(seen) == 1
    expired = create_connector("dropbox", {**params, **seen[0], "expires_at": int(time.time()) - 1},
                               allow_loopback=True)
    expired.on_tokens = seen.append
    expired.test()
    assert standins.calls.count("POST /oauth2/token") == refreshes + 1 and seen[1]["access_token"] != seen[0][
        "access_token"]


def test_an_access_token_the_provider_ended_early_is_refreshed_once(standins):
    params = {**standins.params("google"), "access_token": "ya29.ended-early", "expires_at": int(time.time()) + 3000}
    seen: list[dict] = []
    sheets = create_connector("gsheets", params, allow_loopback=True)
    sheets.on_tokens = seen.append
    assert sheets.test().startswith("Connected to Google Sheets")
    assert len(seen) == 1 and seen[0]["access_token"] in standins.access


@pytest.mark.parametrize("provider", ["dropbox", "google"])
def test_after_revoking_the_grant_is_refused(standins, provider):
    params = standins.params(provider)
    type_name = "dropbox" if provider == "dropbox" else "gsheets"
    create_connector(type_name, params, allow_loopback=True).revoke()
    assert params["refresh_token"] in standins.revoked
    with pytest.raises(ConnectorError) as caught:
        create_connector(type_name, params, allow_loopback=True).test()
    assert caught.value.stage == "auth" and params["refresh_token"] not in str(caught.value)


def test_provider_urls_are_settings_defaulting_to_the_real_providers():
    default = Settings.from_env({}, check=False)
    assert (default.dropbox_api_url, default.dropbox_content_url) == ("https://api.dropboxapi.com",
                                                                      "https://content.dropboxapi.com")
    assert default.google_sheets_url == "https://sheets.googleapis.com"
    assert default.google_revoke_url == "https://oauth2.googleapis.com/revoke"
    moved = Settings.from_env({"INFLOW_DROPBOX_API_URL": "https://dbx.test",
                               "INFLOW_GOOGLE_TOKEN_URL": "https://g.test/token",
                               "INFLOW_GOOGLE_CLIENT_SECRET": "s3cret"}, check=False)  # pragma: allowlist secret
    assert (moved.dropbox_api_url, moved.google_token_url) == ("https://dbx.test", "https://g.test/token")
    assert "s3cret" not in repr(moved)
