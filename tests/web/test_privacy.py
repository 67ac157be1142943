"""Data rights: an admin exports everything (without secrets) or deletes the account (tokens revoked at
Salesforce, every row and blob gone; the audit history stays, pseudonymous and without personal data)."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Account, AuditEvent, Blob, BlobChunk, Connection, OrgConnection, User
from backend.models.base import utcnow
from backend.security.pseudonyms import pseudonym, pseudonym_key
from backend.services import get_blob_store, get_keyring
from backend.web.privacy import tenant_tables
from tests.accounts_support import PASSWORD, Browser, app_config, localorg_ca, sign_up, smtp  # noqa: F401


def _account_id(email: str) -> str:
    return db.session.scalars(select(User.account_id).where(User.email == email)).one()


def _connect_org(account_id: str, sf_org, localorg_server) -> tuple[str, str]:  # noqa: F811
    """An org connection holding real localorg tokens (as the OAuth flow would store them)."""
    app = sf_org.register_app("Inflow", ["https://localhost/instances/oauth/callback"])
    refresh = sf_org.sessions.new_refresh_token(sf_org.admin_id, app.consumer_key, "api refresh_token")
    access = sf_org.sessions.issue(sf_org.admin_id, app.consumer_key, "api refresh_token", refresh).token
    row = OrgConnection(account_id=account_id, org_id=sf_org.id, instance_url=sf_org.instance_url,
                        login_url=localorg_server.base_url)
    row.set_secret("access_token", access)
    row.set_secret("refresh_token", refresh)
    db.session.add(row)
    db.session.commit()
    return access, refresh


def _seed_files(account_id: str) -> None:
    store = get_blob_store()
    store.put(account_id, "result", b"Id,Name\n001,Live Row\n", name="../../etc/success.csv",
              expires_at=utcnow() + timedelta(days=3))
    store.put(account_id, "result", b"Id,Name\n002,Expired Row\n", name="old.csv",
              expires_at=utcnow() - timedelta(seconds=1))
    conn = Connection(account_id=account_id, type="postgresql", name="warehouse")
    conn.set_secret("parameters", '{"host": "db.example", "password": "pg-canary-secret"}')
    db.session.add(conn)
    db.session.commit()


@pytest.mark.promise("gdpr-export-and-erasure")
def test_export_has_all_data_and_live_files_but_no_secrets(client, smtp, org, localorg, localorg_ca):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    account_id = _account_id("ada@example.com")
    access, refresh = _connect_org(account_id, org, localorg)
    _seed_files(account_id)

    response = browser.submit("/settings", "/settings/export", {})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = archive.namelist()
    everything = b"".join(archive.read(n) for n in names)
    for secret in (access.encode(), refresh.encode(), b"pg-canary-secret", b"$argon2id$"):
        assert secret not in everything
    users = json.loads(archive.read("users.json"))
    assert [u["email"] for u in users] == ["ada@example.com"] and "password_hash" not in users[0]
    orgs = json.loads(archive.read("org_connections.json"))
    assert orgs[0]["org_id"] == org.id and orgs[0]["access_token"].startswith("[not exported")
    assert json.loads(archive.read("account.json"))["company"] == "Acme"
    files = [n for n in names if n.startswith("files/")]
    assert len(files) == 1 and files[0].endswith("/success.csv") and ".." not in files[0]  # expired file left out
    assert archive.read(files[0]) == b"Id,Name\n001,Live Row\n"
    assert "data.exported" in set(db.session.scalars(select(AuditEvent.action)))


def test_only_admins_export_or_delete_and_never_by_get(client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    assert browser.get("/settings/export").status_code == 405
    assert browser.get("/settings/delete-account").status_code == 405
    user = db.session.scalars(select(User)).one()
    user.role = "user"
    db.session.commit()
    assert browser.submit("/settings", "/settings/export", {}).status_code == 403
    assert browser.submit("/settings", "/settings/delete-account", {"confirm": "Acme"}).status_code == 403


def _rows_for(account_id: str) -> dict[str, int]:
    counts = {t.name: db.session.scalar(select(func.count()).select_from(t).where(t.c.account_id == account_id))
              for t in tenant_tables()}
    counts["accounts"] = db.session.scalar(select(func.count()).select_from(Account).where(Account.id == account_id))
    counts["blob_chunks"] = db.session.scalar(select(func.count()).select_from(BlobChunk).join(
        Blob, Blob.id == BlobChunk.blob_id, isouter=True).where(Blob.id.is_(None)))  # orphans
    return counts


@pytest.mark.promise("disconnect-revokes", "gdpr-export-and-erasure")
def test_delete_account_revokes_tokens_and_erases_every_row(client, smtp, org, localorg, localorg_ca):  # noqa: F811
    keep = Browser(client.application.test_client(), ip="192.0.2.99")
    sign_up(keep, smtp, "other@keep.example", company="Keep")
    browser = Browser(client)
    sign_up(browser, smtp)
    account_id, keep_id = _account_id("ada@example.com"), _account_id("other@keep.example")
    access, refresh = _connect_org(account_id, org, localorg)
    _seed_files(account_id)
    _seed_files(keep_id)
    chunks_before = db.session.scalar(select(func.count()).select_from(BlobChunk))
    keep_rows = _rows_for(keep_id)
    assert _rows_for(account_id)["blobs"] == 2

    for form, status in (({"confirm": "Acme", "password": "guess"}, 403), ({"confirm": "Acme"}, 403),
                         ({"confirm": "Not the name", "password": PASSWORD}, 400)):
        wrong = browser.submit("/settings", "/settings/delete-account", form)
        assert wrong.status_code == status and _rows_for(account_id)["accounts"] == 1
    # The password given a moment ago is a proof for five minutes; the company name is asked every time.
    done = browser.submit("/settings", "/settings/delete-account", {"confirm": "acme"})
    assert done.status_code == 200

    # Revoked at Salesforce: neither token works there any more.
    assert org.sessions.check(access) is None
    assert org.sessions.refresh_tokens[refresh].revoked
    db.session.expire_all()
    counts = _rows_for(account_id)
    assert all(n == 0 for n in counts.values()), counts
    assert db.session.scalar(select(func.count()).select_from(BlobChunk)) == chunks_before - 2
    assert _rows_for(keep_id) == keep_rows  # the other tenant is untouched
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.deleted")).one()
    alias = functools.partial(pseudonym, pseudonym_key(get_keyring())[1])
    assert (event.account_id, event.target) == (alias(account_id), alias(account_id)) and event.ip == ""
    assert event.details["tokens_revoked"] == 2 and event.details["revocation_failures"] == 0
    # The session of the deleted account no longer works.
    assert browser.get("/settings").status_code == 401


def _dump() -> str:
    """Every row of every table, as text: what a database dump would hold."""
    return "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                     for row in db.session.execute(select(table)))


@pytest.mark.promise("audit-trail")
def test_deletion_keeps_the_audit_history_under_pseudonyms_without_personal_data(client, smtp):  # noqa: F811
    ip = "198.51.100.23"
    browser = Browser(client, ip=ip)
    sign_up(browser, smtp)
    account_id = _account_id("ada@example.com")
    admin_id = db.session.scalars(select(User.id).where(User.email == "ada@example.com")).one()
    browser.submit("/settings", "/settings/retention", {"retention_days": "7"})
    browser.submit("/settings", "/settings/invite", {"email": "bob@example.com", "first_name": "Bobbington",
                                                     "last_name": "Babbage", "role": "user"})
    bob_id = db.session.scalars(select(User.id).where(User.email == "bob@example.com")).one()
    probed = uuid4().hex
    assert browser.get(f"/api/instances/{probed}").status_code == 404  # access.denied, the path as target
    before = [(e.action, e.created_at) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.account_id == account_id).order_by(AuditEvent.created_at))]
    assert {"signup", "retention.changed", "user.invited", "access.denied"} <= {a for a, _ in before}

    assert browser.submit("/settings", "/settings/delete-account", {"confirm": "Acme", "password": PASSWORD}
                          ).status_code == 200

    db.session.expire_all()
    alias = functools.partial(pseudonym, pseudonym_key(get_keyring())[1])
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at)).all()
    # Who, what and when survive: every event, in order, under the account's pseudonym, plus the deletion.
    assert [(e.action, e.created_at) for e in events[:-2]] == before
    assert [e.action for e in events[-2:]] == ["auth.reauthenticated", "account.deleted"]
    assert {e.account_id for e in events} == {alias(account_id)}
    assert all(e.ip == "" and (e.user_id or "p").startswith("p") for e in events)
    by_admin = {e.action for e in events if e.user_id == alias(admin_id)}  # one user's events stay linkable
    assert {"signup", "retention.changed", "user.invited", "auth.reauthenticated", "account.deleted"} <= by_admin
    invited = next(e for e in events if e.action == "user.invited")
    assert invited.target == alias(bob_id) and invited.details == {"role": "user"}
    denied = next(e for e in events if e.action == "access.denied")
    assert denied.target == f"/api/instances/{alias(probed)}"
    dump = _dump()
    for personal in ("ada@example.com", "bob@example.com", "Ada", "Lovelace", "Bobbington", "Babbage", "Acme",
                     ip, "198.51.100", account_id, admin_id, bob_id, probed):
        assert personal not in dump, personal
