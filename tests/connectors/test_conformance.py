"""Every connector passes the same suite against its real server: connect, test, browse, preview, read every
row with its types, bad credentials, a missing object, no permission, the egress guard, and no disk writes."""

from __future__ import annotations

import builtins
import io
import os
import tempfile

import pytest

from backend.connectors import ConnectorError
from tests.connectors import servers
from tests.connectors.kits import Kit


def _rows(source) -> list[dict[str, str]]:
    return [row for chunk in source.read() for row in chunk.frame.to_dict("records")]


def test_test_connection_says_what_it_reached(kit: Kit) -> None:
    message = kit.connector().test()
    assert message.startswith("Connected to") and not [s for s in kit.secrets if s in message]


def test_browse_lists_containers_and_objects(kit: Kit) -> None:
    connector = kit.connector()
    for path, name in kit.browse:
        assert name in [e.name for e in connector.browse(path)]


def test_read_gives_every_row_with_faithful_types(kit: Kit) -> None:
    source = kit.connector().source(kit.spec)
    assert source.columns() == servers.COLUMNS
    assert _rows(source) == servers.EXPECTED


def test_preview_gives_the_first_rows(kit: Kit) -> None:
    columns, rows = kit.connector().preview(kit.spec, rows=2)
    assert columns == servers.COLUMNS
    assert rows == [list(r.values()) for r in servers.EXPECTED[:2]]


def test_bad_credentials_are_an_auth_failure_without_the_secret(kit: Kit) -> None:
    with pytest.raises(ConnectorError) as caught:
        kit.connector(**kit.bad_credentials).test()
    assert caught.value.stage == "auth"
    assert "wrong-password" not in str(caught.value) and not [s for s in kit.secrets if s in str(caught.value)]


def test_a_missing_object_is_named(kit: Kit) -> None:
    with pytest.raises(ConnectorError) as caught:
        _rows(kit.connector().source(kit.missing))
    assert caught.value.stage == "missing" and "no_such_table" in str(caught.value)


def test_an_object_the_login_may_not_read_is_a_permission_failure(kit: Kit) -> None:
    if kit.forbidden is None:
        pytest.fail("every kit names something its login may not read")
    with pytest.raises(ConnectorError) as caught:
        _rows(kit.connector().source(kit.forbidden))
    assert caught.value.stage == "permission"


def test_the_egress_guard_refuses_loopback_and_metadata_addresses(kit: Kit) -> None:
    with pytest.raises(ConnectorError) as caught:
        kit.connector(allow_loopback=False).test()
    assert caught.value.stage == "egress" and "loopback" in str(caught.value)
    with pytest.raises(ConnectorError) as caught:
        kit.connector(**kit.metadata).test()
    assert caught.value.stage == "egress" and "metadata" in str(caught.value)


def test_reading_writes_nothing_to_disk(kit: Kit, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TMPDIR read-only and every open for writing recorded: a whole read must open none."""
    locked = tmp_path / "readonly"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("TMPDIR", str(locked))
    monkeypatch.setattr(tempfile, "tempdir", None)
    writes: list[str] = []
    real_open, real_io_open, real_os_open = builtins.open, io.open, os.open

    def spy_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def spy_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(str(path))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    try:
        assert _rows(kit.connector().source(kit.spec)) == servers.EXPECTED
    finally:
        monkeypatch.setattr(builtins, "open", real_open)
        monkeypatch.setattr(io, "open", real_io_open)
        locked.chmod(0o700)
    assert writes == []
