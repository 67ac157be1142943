"""AES-256-GCM keyring: every value carries a format version, key id and nonce, bound to where it lives."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12  # 96-bit random nonce, the size GCM is specified for
TAG_BYTES = 16


class DecryptionError(Exception):
    """A stored value did not decrypt: tampered, moved to another row or tenant, or its key is gone."""


@dataclass(frozen=True)
class Binding:
    """Where a value lives; it is authenticated with the ciphertext so a copy elsewhere fails."""

    account_id: str
    table: str
    column: str
    row_id: str

    def aad(self) -> bytes:
        return "|".join((self.account_id, self.table, self.column, self.row_id)).encode()


class Keyring:
    """Named 256-bit keys, one of them primary (used for new values); old ones still decrypt."""

    def __init__(self, keys: dict[str, bytes], primary: str):
        if primary not in keys:
            raise ValueError(f"primary key {primary!r} is not in the keyring")
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), not {len(key)}")
            if not kid.isascii() or not 0 < len(kid) < 64 or ":" in kid:
                raise ValueError(f"key id {kid!r} must be short ASCII without ':'")
        self.keys = dict(keys)
        self.primary = primary

    # -- values ------------------------------------------------------------------
    def encrypt(self, plaintext: bytes | memoryview, binding: Binding) -> bytearray:
        kid = self.primary.encode()
        nonce = os.urandom(NONCE_BYTES)
        header = bytes([FORMAT_VERSION, len(kid)]) + kid
        start = len(header) + NONCE_BYTES
        # Sealed in place after header and nonce: joining them to the ciphertext copied every 1 MiB blob chunk.
        value = bytearray(start + memoryview(plaintext).nbytes + TAG_BYTES)
        value[:start] = header + nonce
        with memoryview(value) as view, view[start:] as sealed:
            AESGCM(self.keys[self.primary]).encrypt_into(nonce, plaintext, header + binding.aad(), sealed)
        return value

    def decrypt(self, value: bytes, binding: Binding) -> bytes:
        kid, header, body = _split(value)
        key = self.keys.get(kid)
        if key is None:
            raise DecryptionError(f"value was encrypted with key {kid!r}, which is not in the keyring")
        try:
            return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], header + binding.aad())
        except InvalidTag:
            raise DecryptionError(
                f"value in {binding.table}.{binding.column} failed authentication: it was altered "
                "or does not belong to this row/account"
            ) from None

    def encrypt_text(self, text: str, binding: Binding) -> str:
        return base64.urlsafe_b64encode(self.encrypt(text.encode(), binding)).decode()

    def decrypt_text(self, token: str, binding: Binding) -> str:
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except ValueError:
            raise DecryptionError(f"value in {binding.table}.{binding.column} is not valid base64") from None
        return self.decrypt(raw, binding).decode()

    # -- serialisation ---------------------------------------------------------------
    def to_json(self) -> str:
        keys = {kid: base64.b64encode(k).decode() for kid, k in self.keys.items()}
        return json.dumps({"primary": self.primary, "keys": keys}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            data = json.loads(text)
            keys = {kid: base64.b64decode(v) for kid, v in data["keys"].items()}
            return cls(keys, data["primary"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"keyring is not valid JSON of the form "
                             f'{{"primary": id, "keys": {{id: base64}}}}: {exc}') from None

    def with_new_primary(self) -> Keyring:
        kid = new_key_id()
        return Keyring({**self.keys, kid: AESGCM.generate_key(256)}, kid)

    def without(self, kid: str) -> Keyring:
        if kid == self.primary:
            raise ValueError(f"key {kid!r} is the primary key; rotate to a new key before retiring it")
        if kid not in self.keys:
            raise ValueError(f"key {kid!r} is not in the keyring")
        return Keyring({k: v for k, v in self.keys.items() if k != kid}, self.primary)


def key_id_of(value: bytes | str) -> str:
    """The key id a stored value was encrypted with (bytes, or the base64 text form)."""
    raw = base64.urlsafe_b64decode(value.encode()) if isinstance(value, str) else value
    return _split(raw)[0]


def new_key_id() -> str:
    return "k" + secrets.token_hex(4)


def generate_keyring() -> Keyring:
    kid = new_key_id()
    return Keyring({kid: AESGCM.generate_key(256)}, kid)


def load_keyring(keys_json: str, key_file: Path | None, dev_file: Path | None) -> Keyring:
    """Configured keys win; in development a keyring is generated once into an ignored file."""
    if keys_json:
        return Keyring.from_json(keys_json)
    if key_file:
        return Keyring.from_json(key_file.read_text())
    if dev_file is None:
        raise ValueError("no keyring configured: set INFLOW_KEYS or INFLOW_KEY_FILE")
    if not dev_file.exists():
        save_keyring(generate_keyring(), dev_file)
    return Keyring.from_json(dev_file.read_text())


def save_keyring(keyring: Keyring, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(keyring.to_json())
    os.replace(tmp, path)


def _split(value: bytes) -> tuple[str, bytes, memoryview]:
    if len(value) < 2 or value[0] != FORMAT_VERSION:
        raise DecryptionError("value is not in Inflow's encrypted format (unknown version)")
    end = 2 + value[1]
    if len(value) < end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("value is truncated")
    # The body as a view: a copy of a 1 MiB blob chunk cost more CPU than decrypting it.
    return value[2:end].decode("ascii", "replace"), value[:end], memoryview(value)[end:]
