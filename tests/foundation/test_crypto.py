"""AES-256-GCM values: unique nonces, tamper detection, and binding to row and tenant."""

from __future__ import annotations

import pytest

from backend.security.crypto import (
    NONCE_BYTES,
    Binding,
    DecryptionError,
    Keyring,
    generate_keyring,
    key_id_of,
)

HERE = Binding("acct-a", "org_connections", "access_token", "row-1")


@pytest.mark.promise("aes256-at-rest-with-rotation")
def test_round_trip_and_format_carries_version_and_key_id():
    ring = generate_keyring()
    token = ring.encrypt_text("00D-secret-token", HERE)
    assert ring.decrypt_text(token, HERE) == "00D-secret-token"
    assert "secret" not in token
    assert key_id_of(token) == ring.primary
    assert len(next(iter(ring.keys.values()))) == 32  # AES-256


def test_ten_thousand_encryptions_use_ten_thousand_nonces():
    ring = generate_keyring()
    header = 2 + len(ring.primary)
    nonces = {bytes(ring.encrypt(b"same", HERE)[header:header + NONCE_BYTES]) for _ in range(10_000)}
    assert len(nonces) == 10_000


def test_flipping_any_byte_fails_with_a_clear_error():
    ring = generate_keyring()
    value = bytearray(ring.encrypt(b"refresh-token", HERE))
    for position in (len(value) - 1, len(value) // 2, 2 + len(ring.primary) + 1):
        tampered = bytearray(value)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError, match="failed authentication"):
            ring.decrypt(bytes(tampered), HERE)


@pytest.mark.parametrize("elsewhere", [
    Binding("acct-a", "org_connections", "access_token", "row-2"),
    Binding("acct-b", "org_connections", "access_token", "row-1"),
    Binding("acct-a", "org_connections", "refresh_token", "row-1"),
    Binding("acct-a", "connections", "access_token", "row-1"),
])
@pytest.mark.promise("tenant-isolation")
def test_a_value_moved_to_another_row_column_table_or_tenant_does_not_decrypt(elsewhere):
    ring = generate_keyring()
    value = ring.encrypt(b"secret", HERE)
    with pytest.raises(DecryptionError, match="does not belong"):
        ring.decrypt(value, elsewhere)


def test_unknown_key_and_garbage_are_reported():
    ring, other = generate_keyring(), generate_keyring()
    with pytest.raises(DecryptionError, match="not in the keyring"):
        ring.decrypt(other.encrypt(b"x", HERE), HERE)
    with pytest.raises(DecryptionError, match="unknown version"):
        ring.decrypt(b"\x07garbage-garbage-garbage-garbage", HERE)


def test_keyring_json_round_trip_and_validation():
    ring = generate_keyring().with_new_primary()
    again = Keyring.from_json(ring.to_json())
    assert again.primary == ring.primary and again.keys == ring.keys
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring({"k1": b"short"}, "k1")
    with pytest.raises(ValueError, match="keyring is not valid JSON"):
        Keyring.from_json("{}")
