"""The kits of the conformance suite, each against a real server started or prepared for this session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors import servers
from tests.connectors.kits import Kit

KITS = ["postgresql", "mysql"]


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


@pytest.fixture(params=KITS)
def kit(request: pytest.FixtureRequest) -> Kit:
    if request.param == "postgresql":
        return _database_kit("postgresql", request.getfixturevalue("postgres_params"), "sales.people", "sales",
                             # the suite's PostgreSQL trusts every password on loopback: an unknown role it refuses
                             {"user": "no_such_role"}, "sales.secret")
    params = request.getfixturevalue("mysql_params")
    return _database_kit("mysql", params, f"{params['database']}.people", params["database"],
                         {"password": "wrong-password"},  # pragma: allowlist secret
                         f"{params['database']}_private.secret")
