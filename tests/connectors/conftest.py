"""The kits of the conformance suite, each against a real server started or prepared for this session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connectors import filestores, oauth_standins, servers
from tests.connectors.kits import Kit

KITS = ["postgresql", "mysql", "s3", "https", "sftp", "ftps", "dropbox", "gsheets"]


@pytest.fixture(scope="session")
def postgres_params() -> Iterator[dict]:
    with servers.postgres_database() as params:
        yield params


@pytest.fixture(scope="session")
def mysql_params() -> Iterator[dict]:
    with servers.mysql_database() as params:
        yield params


def _database_kit(type_name: str, params: dict, table: str, schema: str, bad: dict, forbidden: str) -> Kit:
    columns = servers.COLUMNS
    return Kit(type_name, params,
               spec={"table": table, "columns": columns, "time_zone": "Europe/Berlin"},
               missing={"table": f"{schema}.no_such_table"},
               browse=[("", schema), (schema, "people")],
               bad_credentials=bad,
               forbidden={"table": forbidden})


@pytest.fixture(scope="session")
def s3_params() -> Iterator[dict]:
    with filestores.moto_s3() as params:
        yield params


def _file_kit(type_name: str, params: dict, bad: dict, metadata: dict) -> Kit:
    return Kit(type_name, params, spec={"path": "exports/people*.csv"},
               missing={"path": "exports/no_such_table.csv"}, browse=[("", "exports"), ("exports", "people.csv")],
               bad_credentials=bad, forbidden={"path": "private/secret.csv"}, metadata=metadata)


@pytest.fixture(scope="session")
def https_params(localorg) -> Iterator[dict]:
    folder = Path(localorg.ca_path).parent
    with filestores.https_site(folder / "server.pem", folder / "server.key") as params:
        yield params


@pytest.fixture(scope="session")
def sftp_params(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with filestores.sftp_server(filestores.drop_folder(tmp_path_factory.mktemp("sftp"))) as params:
        yield params


@pytest.fixture(scope="session")
def ftps_params(localorg, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = Path(localorg.ca_path).parent
    root = filestores.drop_folder(tmp_path_factory.mktemp("ftps"))
    with filestores.ftps_server(root, folder / "server.pem", folder / "server.key") as params:
        yield params


@pytest.fixture(scope="session")
def standins(localorg) -> Iterator[oauth_standins.Standins]:
    folder = Path(localorg.ca_path).parent
    with oauth_standins.standins(folder / "server.pem", folder / "server.key") as state:
        yield state


def _oauth_kit(type_name: str, state: oauth_standins.Standins) -> Kit:
    bad = {"refresh_token": "wrong-password"}  # pragma: allowlist secret
    if type_name == "dropbox":
        return _file_kit("dropbox", state.params("dropbox"), bad, {"api_url": "https://169.254.169.254"})
    return Kit("gsheets", state.params("google"), spec={"path": "people"}, missing={"path": "no_such_table"},
               browse=[("", "people")], bad_credentials=bad,
               forbidden={"spreadsheet_id": oauth_standins.FORBIDDEN_SPREADSHEET, "path": "people"},
               metadata={"sheets_url": "https://169.254.169.254"})


@pytest.fixture(params=KITS)
def kit(request: pytest.FixtureRequest) -> Kit:
    if request.param == "postgresql":
        return _database_kit("postgresql", request.getfixturevalue("postgres_params"), "sales.people", "sales",
                             # the suite's PostgreSQL trusts every password on loopback: an unknown role it refuses
                             {"user": "no_such_role"}, "sales.secret")
    if request.param == "s3":
        return _file_kit("s3", request.getfixturevalue("s3_params"),
                         {"secret_access_key": "wrong-password"},  # pragma: allowlist secret
                         {"endpoint_url": "http://169.254.169.254"})
    if request.param == "sftp":
        return _file_kit("sftp", request.getfixturevalue("sftp_params"),
                         {"password": "wrong-password"}, {"host": "169.254.169.254"})  # pragma: allowlist secret
    if request.param == "ftps":
        return _file_kit("ftps", request.getfixturevalue("ftps_params"),
                         {"password": "wrong-password"}, {"host": "169.254.169.254"})  # pragma: allowlist secret
    if request.param == "https":
        return Kit("https", request.getfixturevalue("https_params"), spec={"path": ""},
                   missing={"path": "no_such_table.csv"}, browse=[("", "people.csv")],
                   bad_credentials={"password": "wrong-password"},  # pragma: allowlist secret
                   forbidden={"path": "/private/secret.csv"},
                   metadata={"url": "https://169.254.169.254/latest/meta-data/"})
    if request.param in ("dropbox", "gsheets"):
        return _oauth_kit(request.param, request.getfixturevalue("standins"))
    params = request.getfixturevalue("mysql_params")
    return _database_kit("mysql", params, f"{params['database']}.people", params["database"],
                         {"password": "wrong-password"},  # pragma: allowlist secret
                         f"{params['database']}_private.secret")
