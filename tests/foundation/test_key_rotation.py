"""`keys rotate` re-encrypts every secret and blob; `keys retire` drops an unused key and refuses one in use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import BlobChunk, Connection, OrgConnection
from backend.security.crypto import key_id_of
from backend.services import get_blob_store, get_keyring
from backend.storage.blobs import CHUNK_SIZE, expiry_for
from tests.foundation.factories import account, tenant_rows


def stored_key_ids() -> set[str]:
    ids = {key_id_of(v) for m in (OrgConnection, Connection) for c in m.__secret_columns__
           for v in db.session.scalars(select(getattr(m, c))) if v}
    ids |= {key_id_of(d) for d in db.session.scalars(select(BlobChunk.data))}
    return ids


@pytest.mark.promise("aes256-at-rest-with-rotation")
def test_rotate_then_retire_old_key(app):
    acct = account()
    tenant_rows(acct)
    payload = b"Id,Name\n" + b"001,Acme\n" * (CHUNK_SIZE // 4)  # spans several chunks
    blob = get_blob_store().put(acct.id, "result", payload, expires_at=expiry_for("result", 14))
    old = get_keyring().primary
    assert stored_key_ids() == {old}

    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new = get_keyring().primary
    assert new != old and f"new primary key {new}" in result.output
    db.session.expire_all()
    assert stored_key_ids() == {new}

    result = runner.invoke(args=["keys", "retire", old])
    assert result.exit_code == 0, result.output
    assert set(get_keyring().keys) == {new}
    org = db.session.scalars(select(OrgConnection)).one()
    assert org.get_secret("access_token") == "access-Acme"
    assert get_blob_store().read_all(acct.id, blob.id) == payload


@pytest.mark.promise("aes256-at-rest-with-rotation")
def test_retiring_a_key_in_use_is_refused(app):
    tenant_rows(account())
    runner = app.test_cli_runner()
    old = get_keyring().primary
    runner.invoke(args=["keys", "rotate"])
    db.session.commit()
    # A value written under the old key after rotation (e.g. a restore from backup) keeps it in use.
    ring = get_keyring()
    org = db.session.scalars(select(OrgConnection)).one()
    from backend.security.crypto import Keyring

    org.set_secret("access_token", "restored", Keyring(ring.keys, old))
    db.session.commit()
    result = runner.invoke(args=["keys", "retire", old])
    assert result.exit_code != 0
    assert f"key {old} still encrypts 1 stored value(s)" in result.output
    assert old in get_keyring().keys


def test_the_primary_key_cannot_be_retired(app):
    result = app.test_cli_runner().invoke(args=["keys", "retire", get_keyring().primary])
    assert result.exit_code != 0 and "is the primary key" in result.output
