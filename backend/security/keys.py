"""Key rotation and retirement: re-encrypt every secret and blob, and refuse to drop a key in use."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from backend.extensions import db
from backend.models import SECRET_MODELS, Blob, BlobChunk
from backend.security.crypto import Keyring, key_id_of
from backend.storage.blobs import BlobStore


def key_usage() -> Counter[str]:
    """How many stored values (secrets and blob chunks) each key id encrypts."""
    usage: Counter[str] = Counter()
    for model in SECRET_MODELS:
        for column in model.__secret_columns__:
            for (value,) in db.session.execute(select(getattr(model, column)).where(
                    getattr(model, column).is_not(None))):
                usage[key_id_of(value)] += 1
    for (data,) in db.session.execute(select(BlobChunk.data)).yield_per(200):
        usage[key_id_of(data)] += 1
    return usage


def reencrypt_all(old: Keyring, new: Keyring) -> int:
    """Decrypt with `old`, encrypt under `new.primary`; returns the number of values rewritten."""
    count = 0
    for model in SECRET_MODELS:
        for row in db.session.scalars(select(model)):
            for column in model.__secret_columns__:
                value = row.get_secret(column, old)
                if value is not None:
                    row.set_secret(column, value, new)
                    count += 1
    db.session.commit()
    store = BlobStore(new)
    for blob_id, account_id in db.session.execute(select(Blob.id, Blob.account_id)).all():
        store.reencrypt(blob_id, account_id)
        count += 1
    return count


def retire(keyring: Keyring, kid: str) -> Keyring:
    """The keyring without `kid`, or ValueError while anything still uses it."""
    in_use = key_usage().get(kid, 0)
    if in_use:
        raise ValueError(f"key {kid} still encrypts {in_use} stored value(s); run `keys rotate` first")
    return keyring.without(kid)
