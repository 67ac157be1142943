"""The blob store: encrypted chunks, streaming, uploads that never touch disk in plain text, purge."""

from __future__ import annotations

import io
import os
import sqlite3
import tempfile
import threading
from datetime import timedelta

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import delete, select

from backend import create_app
from backend.extensions import db
from backend.models import Blob, BlobChunk, NotFound
from backend.models.base import utcnow
from backend.security.crypto import DecryptionError
from backend.services import get_blob_store
from backend.storage.blobs import CHUNK_SIZE, ChunksLost, expiry_for
from tests.foundation.factories import account

TOKEN = {"Authorization": "Bearer dev-token-for-tests"}


def csv_bytes(size: int) -> bytes:
    line = b"Jane,Doe,jane.doe@example.com,+49 30 1234567\n"
    return b"First,Last,Email,Phone\n" + line * (size // len(line))


@pytest.mark.promise("uploads-encrypted")
def test_streamed_blob_round_trips_and_is_encrypted(app):
    acct = account()
    data = csv_bytes(3 * CHUNK_SIZE + 123)
    writer = get_blob_store().create(acct.id, "result", expires_at=expiry_for("result", 14))
    for start in range(0, len(data), 65536):
        writer.write(data[start:start + 65536])
    blob = writer.finish()
    assert blob.chunk_count == 4 and blob.size == len(data)
    chunks = list(db.session.scalars(select(BlobChunk.data).where(BlobChunk.blob_id == blob.id)))
    assert all(b"jane.doe@example.com" not in c for c in chunks)
    reader = get_blob_store().open(acct.id, blob.id)
    assert b"".join(iter(lambda: reader.read(10_000), b"")) == data


@pytest.mark.promise("uploads-encrypted")
def test_a_tampered_chunk_is_detected(app):
    acct = account()
    blob = get_blob_store().put(acct.id, "result", b"a,b\n1,2\n", expires_at=expiry_for("result", 1))
    chunk = db.session.get(BlobChunk, (blob.id, 0))
    chunk.data = chunk.data[:-1] + bytes([chunk.data[-1] ^ 1])
    db.session.commit()
    with pytest.raises(DecryptionError):
        get_blob_store().read_all(acct.id, blob.id)


def test_a_blob_whose_chunks_the_database_lost_is_never_completed(app):
    """A database that crashes loses the chunks not yet on its disk (PostgreSQL commits chunks without waiting
    for the disk); the writer's next statement reconnects unaware. finish() counts them and refuses."""
    acct = account()
    writer = get_blob_store().create(acct.id, "result", expires_at=expiry_for("result", 14))
    writer.write(csv_bytes(3 * CHUNK_SIZE))
    db.session.execute(delete(BlobChunk).where(BlobChunk.blob_id == writer.blob_id, BlobChunk.seq == 1))
    db.session.commit()
    with pytest.raises(ChunksLost, match="4 chunks written, 3 stored"):
        writer.finish()
    assert db.session.get(Blob, writer.blob_id).complete is False
    with pytest.raises(NotFound):
        get_blob_store().open(acct.id, writer.blob_id)


def test_a_reader_left_after_its_first_chunk_stops_reading_ahead(app):
    """A range read (a piece of a split run) takes what it needs and leaves: nothing keeps reading behind it."""
    acct = account()
    data = csv_bytes(6 * CHUNK_SIZE)
    blob = get_blob_store().put(acct.id, "upload", data, expires_at=expiry_for("upload", 1))
    chunks = get_blob_store().iter_chunks(blob)
    assert next(chunks) == data[:CHUNK_SIZE]
    chunks.close()
    assert not [t for t in threading.enumerate() if t.name == "read-ahead"]
    assert b"".join(get_blob_store().iter_chunks(blob, 4)) == data[4 * CHUNK_SIZE:]


@pytest.mark.promise("external-data-in-memory", "uploads-encrypted")
def test_five_megabyte_upload_leaves_no_plaintext_file(app, live_server, tmp_path, monkeypatch):
    watched = tmp_path / "tmp"
    watched.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(watched))
    opened: list[str] = []
    real_open = os.open

    def spy_open(path, flags, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)  # sees every file the upload path would create
    data = csv_bytes(5 * 1024 * 1024)
    response = requests.post(f"{live_server}/api/uploads", headers=TOKEN, timeout=60,
                             files={"file": ("contacts.csv", io.BytesIO(data), "text/csv")})
    monkeypatch.undo()
    assert response.status_code == 201, response.text
    (info,) = response.json()
    assert info["size"] == len(data) and info["name"] == "contacts.csv"
    assert list(watched.iterdir()) == []
    assert not [p for p in opened if not p.endswith((".db", ".db-wal", ".db-shm", "-journal"))]
    stored = b"".join(db.session.scalars(select(BlobChunk.data).where(BlobChunk.blob_id == info["id"])))
    assert b"jane.doe@example.com" not in stored and len(stored) > len(data)
    acct_id = db.session.get(Blob, info["id"]).account_id
    assert get_blob_store().read_all(acct_id, info["id"]) == data


def test_upload_needs_the_token(client):
    response = client.post("/api/uploads", data={"file": (io.BytesIO(b"a"), "a.csv")})
    assert response.status_code == 401


@pytest.mark.promise("uploads-deleted-after-1h", "results-kept-14-days")
def test_purge_deletes_exactly_what_expired(app):
    acct = account()
    store, now = get_blob_store(), utcnow()
    upload = store.put(acct.id, "upload", b"u", expires_at=expiry_for("upload", 14, now))
    result = store.put(acct.id, "result", b"r", expires_at=expiry_for("result", 14, now))
    short = store.put(acct.id, "result", b"s", expires_at=expiry_for("result", 2, now))
    assert upload.expires_at == now + timedelta(hours=1)

    assert store.purge_expired(now + timedelta(minutes=59)) == 0
    assert store.purge_expired(now + timedelta(hours=1, seconds=1)) == 1
    assert store.purge_expired(now + timedelta(hours=1, seconds=1)) == 0
    with pytest.raises(NotFound):
        store.read_all(acct.id, upload.id)
    assert store.purge_expired(now + timedelta(days=3)) == 1
    assert store.read_all(acct.id, result.id) == b"r"
    assert [b.id for b in db.session.scalars(select(Blob))] == [result.id]
    assert not db.session.scalars(select(BlobChunk).where(BlobChunk.blob_id == short.id)).all()


@pytest.mark.promise("uploads-deleted-after-1h")
def test_an_expired_blob_is_not_served_before_purge(app):
    acct = account()
    blob = get_blob_store().put(acct.id, "result", b"x", expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        get_blob_store().read_all(acct.id, blob.id)


def test_a_new_sqlite_database_stores_blob_chunks_in_large_pages(tmp_path):
    """Embedded default: a 1 MiB chunk spans 16 pages of 64 KiB rather than 256 of 4 KiB (docs/benchmarks.md)."""
    path = tmp_path / "inflow.db"
    app = create_app({"env": "test", "database_url": f"sqlite:///{path}", "redis_url": "redis://unused",
                      "instance_path": tmp_path / "instance"})
    with app.app_context():
        upgrade()
        acct = account()
        data = csv_bytes(2 * CHUNK_SIZE)
        blob = get_blob_store().put(acct.id, "result", data, expires_at=expiry_for("result", 1))
        assert get_blob_store().read_all(acct.id, blob.id) == data
        db.session.remove()
        db.engine.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 65536
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
