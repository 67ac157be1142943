"""Files written to S3 (moto_server), SFTP (AsyncSSH), FTPS (pyftpdlib) and Dropbox (the HTTPS stand-in): a
reader sees the old file or the whole new one, never half of one; an abandoned upload leaves nothing behind; S3
and Dropbox uploads stream in parts. Every writing session (file stores and databases) passes the egress guard."""

from __future__ import annotations

import pytest

from backend.connectors import ConnectorError, create_connector, targets
from backend.connectors.dropbox_upload import PART_BYTES as DROPBOX_PART_BYTES
from backend.connectors.s3 import PART_BYTES
from backend.pipeline.export import Column

STORES = ["s3", "sftp", "ftps", "dropbox"]
BLOCK = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def dropbox_params(standins) -> dict:
    return standins.params("dropbox")


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest):
    return create_connector(request.param, request.getfixturevalue(f"{request.param}_params"), allow_loopback=True)


def _read(connector, path: str) -> bytes:
    stream = connector.open_file(path)
    try:
        return stream.read()
    finally:
        stream.close()


def _names(connector, folder: str = "exports") -> list[str]:
    return [e.name for e in connector.browse(folder)]


def test_a_file_appears_whole_only_when_committed_and_replaces_the_old_one(store) -> None:
    connector = store
    path = f"exports/upload-{store.type}.csv"
    first = connector.upload(path)
    first.write(b"id,name\n1,Old\n")
    first.commit()
    upload = connector.upload(path)
    upload.write(b"id,name\n")
    upload.write(b"2,New\n")
    assert _read(connector, path) == b"id,name\n1,Old\n"  # mid-upload a reader still gets the old file
    upload.commit()
    assert _read(connector, path) == b"id,name\n2,New\n"
    assert not [n for n in _names(connector) if n.endswith(".part")]


def test_an_abandoned_upload_leaves_nothing(store) -> None:
    connector = store
    path = f"exports/abandoned-{store.type}.csv"
    upload = connector.upload(path)
    upload.write(b"id\n1\n")
    upload.abort()
    names = _names(connector)
    assert f"abandoned-{store.type}.csv" not in names and not [n for n in names if n.endswith(".part")]


def test_a_folder_the_user_may_not_write_is_refused_before_any_row(store) -> None:
    with pytest.raises(ConnectorError) as caught:
        store.upload("private/out.csv").commit()
    assert caught.value.stage == "permission"


def test_s3_streams_a_large_file_in_parts(s3_params: dict) -> None:
    connector = create_connector("s3", s3_params, allow_loopback=True)
    block = BLOCK
    upload = connector.upload("exports/large.bin")
    for _ in range(2 * PART_BYTES // len(block) + 3):
        upload.write(block)
    upload.commit()
    head = connector.client().head_object(Bucket=s3_params["bucket"], Key="exports/large.bin")
    assert head["ContentLength"] == (2 * PART_BYTES // len(block) + 3) * len(block)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: never the whole file in one request


def _dropbox_calls(standins, since: int) -> list[str]:
    return [c.removeprefix("POST /2/files/") for c in standins.calls[since:] if "/2/files/upload" in c]


def test_dropbox_sends_a_small_file_in_one_upload(standins, dropbox_params: dict) -> None:
    connector = create_connector("dropbox", dropbox_params, allow_loopback=True)
    since = len(standins.calls)
    upload = connector.upload("exports/small.csv")
    upload.write(b"id,name\n1,\xc3\x89mile\n")
    upload.commit()
    assert _dropbox_calls(standins, since) == ["upload"]
    assert _read(connector, "exports/small.csv") == b"id,name\n1,\xc3\x89mile\n"


def test_dropbox_streams_a_large_file_through_an_upload_session(standins, dropbox_params: dict) -> None:
    connector = create_connector("dropbox", dropbox_params, allow_loopback=True)
    blocks = 2 * DROPBOX_PART_BYTES // len(BLOCK) + 3
    since = len(standins.calls)
    upload = connector.upload("exports/large.bin")
    for i in range(blocks):
        upload.write(bytes([i]) + BLOCK[1:])
    assert "large.bin" not in _names(connector)  # two parts are at Dropbox, yet no file until finished
    upload.commit()
    assert _dropbox_calls(standins, since) == ["upload_session/start", "upload_session/append_v2",
                                               "upload_session/finish"]  # one part in memory at a time
    data = _read(connector, "exports/large.bin")
    assert len(data) == blocks * len(BLOCK)
    assert [data[i * len(BLOCK)] for i in range(blocks)] == list(range(blocks))  # every block, in order


def test_dropbox_abandoning_a_started_session_leaves_nothing(standins, dropbox_params: dict) -> None:
    connector = create_connector("dropbox", dropbox_params, allow_loopback=True)
    upload = connector.upload("exports/half.bin")
    for _ in range(DROPBOX_PART_BYTES // len(BLOCK) + 1):
        upload.write(BLOCK)
    upload.abort()
    assert "half.bin" not in _names(connector)


def test_dropbox_says_so_when_its_upload_session_is_gone(standins, dropbox_params: dict) -> None:
    connector = create_connector("dropbox", dropbox_params, allow_loopback=True)
    upload = connector.upload("exports/expired.bin")
    for _ in range(DROPBOX_PART_BYTES // len(BLOCK)):
        upload.write(BLOCK)
    standins.sessions.clear()  # Dropbox ended the session (they expire after 7 days)
    upload.write(b"x")
    with pytest.raises(ConnectorError) as caught:
        upload.commit()
    assert caught.value.message == "Dropbox: the upload of exports/expired.bin broke off (lookup_failed/not_found); " \
                                   "export again."
    assert "expired.bin" not in _names(connector)


@pytest.mark.promise("egress-guard")
def test_dropbox_uploads_pass_the_egress_guard(dropbox_params: dict) -> None:
    connector = create_connector("dropbox", {**dropbox_params, "content_url": "https://169.254.169.254"},
                                 allow_loopback=True)
    upload = connector.upload("exports/contacts.csv")
    upload.write(b"id\n1\n")
    with pytest.raises(ConnectorError) as caught:
        upload.commit()
    assert caught.value.stage == "egress" and "169.254.169.254" in caught.value.message


@pytest.mark.promise("egress-guard")
@pytest.mark.parametrize(("type_name", "metadata"), [
    ("s3", {"endpoint_url": "http://169.254.169.254"}), ("sftp", {"host": "169.254.169.254"}),
    ("ftps", {"host": "169.254.169.254"}), ("postgresql", {"host": "169.254.169.254"}),
    ("mysql", {"host": "169.254.169.254"})])
def test_writing_sessions_pass_the_egress_guard(request: pytest.FixtureRequest, type_name: str, metadata: dict) -> None:
    params = request.getfixturevalue({"postgresql": "postgres_params", "mysql": "mysql_params"}.get(
        type_name, f"{type_name}_params"))
    connector = create_connector(type_name, {**params, **metadata}, allow_loopback=True)
    target = targets.for_connector(connector, table="contacts" if connector.kind == "database" else None,
                                   path="exports/contacts.csv")
    with pytest.raises(ConnectorError) as caught:
        target.open([Column("Id", "id"), Column("LastName")])
    assert caught.value.stage == "egress" and "169.254.169.254" in caught.value.message
