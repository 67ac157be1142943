"""`inflow export --connection NAME --path P` into Dropbox (the HTTPS stand-in): Contacts out of localorg into a
CSV file at the given path, replaced whole on each run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models.base import TenantScope
from backend.runs.parts import BOM
from tests.connectors import oauth_standins
from tests.runs.factories import account


@pytest.fixture(scope="module")
def standins(localorg) -> Iterator[oauth_standins.Standins]:
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


@pytest.fixture
def app_config(app_config, standins, localorg, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(localorg.ca_bundle))
    return {**app_config, **standins.settings()}


def _export(app, org, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "export", *args, "--instance-url", org.instance_url,
                                              "--access-token", org.ready_token])


def test_contacts_into_a_csv_file_on_dropbox(app, org, sf, standins):
    row = stored.create(TenantScope(account().id), "drop", "dropbox",
                        {"path": "", "refresh_token": standins.grant("dropbox")})
    db.session.commit()
    sf.Contact.create({"LastName": "Lee", "Title": "=SUM(A1)"})
    sf.Contact.create({"LastName": "Kim", "Title": "Head of Sales"})
    for _ in range(2):
        result = _export(app, org, "--object", "Contact", "--fields", "LastName,Title", "--connection", "drop",
                         "--path", "/out/contacts.csv")
        assert result.exit_code == 0, result.output
        assert "2 record(s) of Contact exported to file /out/contacts.csv on drop" in result.output
    data, _ = standins.files["/out/contacts.csv"]
    assert data.startswith(BOM)
    rows = sorted(csv.reader(io.StringIO(data[len(BOM):].decode())))
    assert rows == [["Kim", "Head of Sales"], ["LastName", "Title"], ["Lee", "'=SUM(A1)"]]
    assert [e.name for e in stored.connector(row, allow_loopback=True).browse("/out")] == ["contacts.csv"]

