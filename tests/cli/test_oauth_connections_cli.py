"""`inflow connections add NAME dropbox:///folder?refresh_token=...` and `gsheets://ID?refresh_token=...` (client id
and secret from the settings) against the HTTPS stand-ins, then `inflow import --connection` into localorg and
`connections remove` revoking the grant. Tokens are never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models.connections import Connection
from tests.connectors import oauth_standins, servers
from tests.runs.factories import account


@pytest.fixture(scope="module")
def standins(localorg) -> Iterator[oauth_standins.Standins]:  # noqa: F811
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


@pytest.fixture
def app_config(app_config, standins, localorg, monkeypatch):  # noqa: F811
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(localorg.ca_bundle))
    return {**app_config, **standins.settings()}


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", *args])


@pytest.mark.parametrize(("provider", "url", "connected", "read"), [
    ("dropbox", "dropbox:///exports?refresh_token={token}", "Connected to Dropbox (3 item(s) in /exports)",
     "people.csv"),
    ("google", f"gsheets://{oauth_standins.SPREADSHEET}?refresh_token={{token}}",
     "Connected to Google Sheets spreadsheet 'People export' (2 sheet(s))", "people"),
])
def test_add_import_and_remove_an_oauth_connection(app, org, sf, standins, tmp_path, monkeypatch, provider, url,
                                                   connected, read):
    account()
    refresh = standins.grant(provider)
    added = _cli(app, "connections", "add", "partner", url.format(token=refresh))
    assert added.exit_code == 0, added.output
    assert connected in added.output and refresh not in added.output
    listed = _cli(app, "connections", "list").output
    assert "partner\t" in listed and refresh not in listed and "sl." not in listed and "ya29." not in listed
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"fields": [{"field": "LastName", "column": "name"}]}))
    monkeypatch.chdir(tmp_path)
    result = _cli(app, "import", "--connection", "partner", "--path", read, "--object", "Contact",
                  "--mapping", str(mapping), "--instance-url", org.instance_url, "--access-token", org.ready_token,
                  "--api", "rest")
    assert result.exit_code == 0, result.output
    assert "3 read, 3 succeeded, 0 failed" in result.output
    names = sorted(r["LastName"] for r in sf.query_all("SELECT LastName FROM Contact")["records"])
    assert names == sorted(row[1] for row in servers.ROWS)
    removed = _cli(app, "connections", "remove", "partner")
    assert removed.exit_code == 0 and "access revoked at the provider" in removed.output
    assert refresh in standins.revoked and db.session.scalars(select(Connection)).all() == []


def test_a_refused_refresh_token_is_one_line_and_saves_nothing(app, standins):
    account()
    result = _cli(app, "connections", "add", "partner", "dropbox:///exports?refresh_token=not-a-grant")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "auth failed: Dropbox refused the authorization (refresh token is invalid or revoked)" in result.output
    assert "not-a-grant" not in result.output
    assert db.session.scalars(select(Connection)).all() == []
