"""Production refuses to start without keys and secrets; /healthz reports database and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend import create_app
from backend.extensions import db
from backend.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_production_without_keys_or_secret_names_what_is_missing():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"INFLOW_ENV": "production", "DATABASE_URL": "postgresql+psycopg://db/inflow"})
    message = str(info.value)
    assert "INFLOW_KEYS" in message and "SALESFORCE_CLIENT_SECRET" in message
    assert "DATABASE_URL" not in message


def test_production_refuses_sqlite_and_reports_each_missing_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLOW_", "SALESFORCE_", "DATABASE"))}
    env.update(INFLOW_ENV="production", SALESFORCE_CLIENT_ID="cid", INFLOW_INSTANCE_PATH=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", "from backend import create_app; create_app()"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "refuses to start in production without" in result.stderr
    assert "INFLOW_KEYS" in result.stderr and "DATABASE_URL pointing at PostgreSQL" in result.stderr
    assert not (tmp_path / "keys.json").exists()


PRODUCTION = {"INFLOW_ENV": "production", "INFLOW_KEYS": '{"primary": "k1", "keys": {"k1": "x"}}',
              "SALESFORCE_CLIENT_ID": "cid", "SALESFORCE_CLIENT_SECRET": "secret", "INFLOW_REGION": "eu-frankfurt",
              "DATABASE_URL": "postgresql+psycopg://inflow@pg.fra.internal/inflow",
              "REDIS_URL": "redis://redis.fra.internal:6379/0",
              "INFLOW_REGION_HOSTS": "eu-frankfurt=pg.fra.internal,redis.fra.internal;"
                                     "us-dallas=pg.dal.internal,redis.dal.internal"}


def test_without_inflow_env_the_app_fails_closed_as_production(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("INFLOW_", "SALESFORCE_", "DATABASE", "REDIS_URL"))}
    env["INFLOW_INSTANCE_PATH"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-c", "from backend import create_app; create_app()"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "refuses to start in production without" in result.stderr
    for named in ("INFLOW_KEYS", "SALESFORCE_CLIENT_SECRET", "SALESFORCE_CLIENT_ID", "DATABASE_URL", "REDIS_URL",
                  "INFLOW_REGION_HOSTS"):
        assert named in result.stderr
    assert not (tmp_path / "keys.json").exists() and not (tmp_path / "inflow.db").exists()


def test_a_complete_production_configuration_starts():
    settings = Settings.from_env(PRODUCTION)
    assert settings.is_production and settings.region_hosts["us-dallas"] == ("pg.dal.internal", "redis.dal.internal")


@pytest.mark.parametrize(("variable", "url", "says"), [
    ("DATABASE_URL", "postgresql+psycopg://inflow@pg.dal.internal/inflow", "it belongs to us-dallas"),
    ("REDIS_URL", "redis://redis.dal.internal:6379/0", "it belongs to us-dallas"),
    ("DATABASE_URL", "postgresql+psycopg://inflow@db.elsewhere.example/inflow", "not listed in INFLOW_REGION_HOSTS"),
])
@pytest.mark.promise("data-stays-in-region")
def test_production_refuses_storage_of_another_region(variable, url, says):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**PRODUCTION, variable: url})
    assert variable in str(info.value) and says in str(info.value) and "eu-frankfurt" in str(info.value)


def test_malformed_region_hosts_are_refused():
    with pytest.raises(SettingsError, match="INFLOW_REGION_HOSTS entry"):
        Settings.from_env({**PRODUCTION, "INFLOW_REGION_HOSTS": "mars=pg.mars"})


def test_development_generates_keys_once_into_the_instance_folder(tmp_path):
    app = create_app({"env": "development", "instance_path": tmp_path, "database_url": "sqlite://"})
    key_file = tmp_path / "keys.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = create_app({"env": "development", "instance_path": tmp_path, "database_url": "sqlite://"})
    assert app.extensions["inflow.keyring"].keys == again.extensions["inflow.keyring"].keys


def test_unknown_region_is_refused():
    with pytest.raises(SettingsError, match="INFLOW_REGION must be one of"):
        Settings.from_env({"INFLOW_REGION": "mars-base"})


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "region": "eu-frankfurt", "database": "ok", "redis": "ok"}


def test_healthz_says_when_redis_is_unreachable(app_config):
    app = create_app({**app_config, "redis_url": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["redis"].startswith("unreachable")


@pytest.mark.promise("secrets-never-logged")
def test_logs_never_carry_tokens(caplog):
    import logging

    from backend.logs import RedactSecrets

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call with %s", ("Bearer 00Dabc!secret",), None)
    RedactSecrets().filter(record)
    assert "00Dabc" not in record.getMessage() and "[redacted]" in record.getMessage()


@pytest.mark.promise("secrets-never-logged")
def test_logs_never_carry_oauth_codes_or_app_tokens():
    import logging

    from backend.logs import RedactSecrets

    line = "GET /instances/oauth/callback?code=aPrx.secret&state=st4te-value token %s"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, line, ("ift1.sealed-app-token",), None)
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert "aPrx" not in message and "st4te" not in message and "sealed-app-token" not in message


def test_the_org_call_cap_is_a_setting_within_salesforce_s_25():
    assert Settings.from_env(PRODUCTION).org_concurrent_calls == 20
    assert Settings.from_env({**PRODUCTION, "INFLOW_ORG_CONCURRENT_CALLS": "25"}).org_concurrent_calls == 25
    with pytest.raises(SettingsError, match="INFLOW_ORG_CONCURRENT_CALLS must be 1 to 25"):
        Settings.from_env({**PRODUCTION, "INFLOW_ORG_CONCURRENT_CALLS": "40"})


def test_the_salesforce_call_timeout_is_a_setting_of_positive_seconds():
    assert Settings.from_env(PRODUCTION).salesforce_timeout_seconds == 300
    short = Settings.from_env({**PRODUCTION, "INFLOW_SALESFORCE_TIMEOUT_SECONDS": "2.5"})
    assert short.salesforce_timeout_seconds == 2.5
    with pytest.raises(SettingsError, match="INFLOW_SALESFORCE_TIMEOUT_SECONDS must be a positive number"):
        Settings.from_env({**PRODUCTION, "INFLOW_SALESFORCE_TIMEOUT_SECONDS": "0"})
