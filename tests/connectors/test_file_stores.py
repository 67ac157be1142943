"""What only file stores do: host key pinning (SFTP), every matching file as one run, archive moves, HTTPS
redirects and the size cap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.connectors import ConnectorError, create_connector
from tests.connectors import filestores


def _rows(source) -> list[dict[str, str]]:
    return [row for chunk in source.read() for row in chunk.frame.to_dict("records")]


@pytest.fixture
def own_sftp(tmp_path: Path) -> Iterator[tuple[dict, Path]]:
    """A server of this test's own, for tests that move files."""
    root = filestores.drop_folder(tmp_path / "drop")
    with filestores.sftp_server(root) as params:
        yield params, root


def test_first_test_learns_the_host_key_and_reading_needs_it_pinned(sftp_params):
    unpinned = create_connector("sftp", {**sftp_params, "host_key": ""}, allow_loopback=True)
    message = unpinned.test()
    assert unpinned.learned == {"host_key": sftp_params["host_key"]}
    assert sftp_params["host_key"] in message and "accept it to pin it" in message
    with pytest.raises(ConnectorError) as caught:
        _rows(unpinned.source({"path": "exports/people.csv"}))
    assert caught.value.stage == "host_key" and "not accepted yet" in str(caught.value)


def test_a_changed_host_key_is_refused_before_the_password_is_sent(sftp_params):
    changed = create_connector("sftp", {**sftp_params, "host_key": "SHA256:" + "A" * 43}, allow_loopback=True)
    with pytest.raises(ConnectorError) as caught:
        changed.test()
    assert caught.value.stage == "host_key"
    assert str(caught.value).startswith("The server's host key has changed: accepted SHA256:AAAA")
    assert f"offered {sftp_params['host_key']}" in str(caught.value)
    assert sftp_params["password"] not in str(caught.value)


def test_every_matching_file_is_one_run_and_different_headers_are_refused(sftp_params):
    sftp = create_connector("sftp", sftp_params, allow_loopback=True)
    every = sftp.source({"path": "batches/batch-*.csv", "pick": "every"})
    assert every.paths == ["batches/batch-1.csv", "batches/batch-2.csv"]
    assert [r["LastName"] for r in _rows(every)] == ["Lee", "Kim", "Park"]
    assert [r["name"] for r in _rows(sftp.source({"path": "exports/people*.csv"}))][0] == "Zoë Ångström, \"quoted\""
    with pytest.raises(Exception, match="has other columns than"):
        _rows(sftp.source({"path": "exports/people*.csv", "pick": "every"}))


def test_archive_moves_the_files_read(own_sftp):
    params, root = own_sftp
    sftp = create_connector("sftp", params, allow_loopback=True)
    source = sftp.source({"path": "batches/*.csv", "pick": "every"})
    assert len(_rows(source)) == 3
    assert sftp.archive(source.paths, "batches/done") == ["batches/done/batch-1.csv", "batches/done/batch-2.csv"]
    assert sorted(p.name for p in (root / "batches" / "done").iterdir()) == ["batch-1.csv", "batch-2.csv"]
    assert [e.name for e in sftp.browse("batches")] == ["done"]


def test_s3_reads_newest_and_lists_folders(s3_params):
    s3 = create_connector("s3", s3_params, allow_loopback=True)
    assert {e.name: e.kind for e in s3.browse("")} == {"exports": "folder", "private": "folder"}
    assert [e.name for e in s3.matches("exports/*.csv")][0] in ("people.csv", "people-old.csv")
    assert len(_rows(s3.source({"path": "exports/people.csv"}))) == 3


def test_https_follows_a_redirect_on_the_same_host_only(https_params):
    site = create_connector("https", https_params, allow_loopback=True)
    assert len(_rows(site.source({"path": "latest.csv"}))) == 3
    with pytest.raises(ConnectorError) as caught:
        _rows(site.source({"path": "elsewhere.csv"}))
    assert caught.value.stage == "egress" and "redirected to another host" in str(caught.value)


def test_https_stops_at_the_size_cap(https_params):
    site = create_connector("https", {**https_params, "max_bytes": 100}, allow_loopback=True)
    with pytest.raises(ConnectorError, match="larger than 100 bytes, the limit for one import"):
        _rows(site.source({}))


@pytest.fixture
def hangs_up_at_tls() -> Iterator[dict]:
    """An FTP server that greets, then closes the connection when asked for TLS (a crashed or overloaded one)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"220 ready\r\n")
                conn.recv(100)  # AUTH TLS

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield {"host": "127.0.0.1", "port": listener.getsockname()[1], "user": "u", "password": "p", "path": ""}
    thread.join(5)


def test_an_ftps_server_hanging_up_at_tls_is_a_tls_failure_that_names_the_host(hangs_up_at_tls):
    store = create_connector("ftps", hangs_up_at_tls, allow_loopback=True)
    with pytest.raises(ConnectorError) as caught:
        store.test()
    assert caught.value.stage == "tls"
    assert "127.0.0.1 closed the connection when asked for TLS" in str(caught.value)
