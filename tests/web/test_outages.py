"""Outages say so (issue 14): with the database or Redis stopped, API routes answer 503 JSON with Retry-After
and pages a short 503 page, never a stack trace; when the store is back the same app answers again."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from flask_migrate import upgrade

from backend import create_app
from backend.extensions import db
from backend.models import Account, User
from backend.security import sessions
from backend.security.tokens import issue_app_token
from backend.services import get_keyring, get_redis, get_settings
from backend.web.outages import MESSAGE, RETRY_AFTER_SECONDS
from tests.stores import ThrowawayPostgres, ThrowawayRedis

HTTPS = "https://localhost"


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="inflow-outage-"))  # not under pytest's 0700 tree: postgres reads it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def throwaway_redis(workdir: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(workdir)
    server.start()
    yield server
    server.close()


@pytest.fixture
def throwaway_postgres(workdir: Path) -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres(workdir)
    server.start()
    yield server
    server.close()


@pytest.fixture
def app_config(app_config: dict, throwaway_redis: ThrowawayRedis) -> dict:
    """The shared app (SQLite or PostgreSQL, per INFLOW_TEST_DATABASES) on a Redis this test may stop."""
    return {**app_config, "redis_url": throwaway_redis.url}


def signed_in(client) -> dict[str, str]:
    """An admin with a canvas app token (returned as headers) and a browser cookie session (set on client)."""
    account = Account(company="Acme", region="eu-frankfurt")
    db.session.add(account)
    db.session.flush()
    user = User(account_id=account.id, email="ada@acme.example", role="admin", email_verified=True)
    db.session.add(user)
    db.session.commit()
    token, _ = issue_app_token(get_keyring(), account_id=account.id, user_id=user.id, org_connection_id=None,
                               region="eu-frankfurt", ttl_seconds=900)
    cookie, _ = sessions.create(get_redis(), get_settings(), user.id, account.id)
    client.set_cookie(sessions.COOKIE_NAME, cookie, domain="localhost", secure=True)
    return {"Authorization": f"Bearer {token}"}


def api(client, headers):
    return client.get("/api/instances", headers=headers)


def page(client):
    return client.get("/settings", base_url=HTTPS, headers={"Accept": "text/html"})


def assert_unavailable(api_answer, page_answer) -> None:
    assert api_answer.status_code == 503 and api_answer.get_json() == {"error": "unavailable", "message": MESSAGE}
    assert api_answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    html = page_answer.get_data(as_text=True)
    assert page_answer.status_code == 503 and page_answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert page_answer.mimetype == "text/html" and MESSAGE in html
    assert "Traceback" not in html and "Error" not in html and "psycopg" not in html


def assert_working(api_answer, page_answer) -> None:
    assert api_answer.status_code == 200 and api_answer.get_json() == []
    assert page_answer.status_code == 200 and "Acme" in page_answer.get_data(as_text=True)


def test_redis_outage_answers_503_and_the_same_app_recovers_when_redis_is_back(app, client, throwaway_redis):
    headers = signed_in(client)
    assert_working(api(client, headers), page(client))
    throwaway_redis.stop()
    assert_unavailable(api(client, headers), page(client))
    throwaway_redis.start()  # same port, data kept on disk: sessions and revocations survive a restart
    assert_working(api(client, headers), page(client))


def test_database_outage_answers_503_and_the_same_app_recovers_when_postgres_is_back(
        redis_url, throwaway_postgres, tmp_path):
    pg_app = create_app({"env": "test", "database_url": throwaway_postgres.url, "redis_url": redis_url,
                         "instance_path": tmp_path / "instance"})
    with pg_app.app_context():
        upgrade()
        client = pg_app.test_client()
        headers = signed_in(client)
        assert_working(api(client, headers), page(client))
        throwaway_postgres.stop()
        assert_unavailable(api(client, headers), page(client))
        throwaway_postgres.start()
        assert_working(api(client, headers), page(client))
        db.session.remove()
        db.engine.dispose()
    redis_lib.Redis.from_url(redis_url).flushdb()
