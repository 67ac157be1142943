"""Result files joined while the run goes on: the same bytes as joining the parts at the end, or nothing.

The parts stay the truth: when the files built along the way do not hold exactly the run's parts (a part
written again, a chunk never reported, a store that refused a write), they are deleted and the caller
joins the parts as before.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import select, text

from backend.extensions import db
from backend.models import Blob
from backend.models.base import utcnow
from backend.pipeline.results import ErrorFileWriter, SuccessFileWriter
from backend.runs.parts import BOM, BlobResultParts, ResultStoreFailed
from backend.runs.running_join import RunningJoin
from backend.services import get_blob_store
from tests.runs.factories import account, bare_run

COLS = ["Name", "Note"]
HEADERS = {"success": lambda s: SuccessFileWriter(s, COLS), "error": lambda s: ErrorFileWriter(s, COLS)}
NAMES = {"success": "r-success.csv", "error": "r-errors.csv"}


def _parts(retention_days: int = 3) -> BlobResultParts:
    acct = account(retention_days=retention_days)
    run = bare_run(acct)
    return BlobResultParts(get_blob_store(), acct.id, run.id, retention_days)


def _success(parts: BlobResultParts, index: int, names: list[str]) -> None:
    buf = io.BytesIO()
    frame = pd.DataFrame({"Name": names, "Note": [f'row "{n}"\nof chunk {index}' for n in names]}, dtype="string")
    SuccessFileWriter(buf, COLS, bom=False).write(frame, [f"003{index:06d}{i:09d}" for i in range(len(names))],
                                                  [True] * len(names))
    with parts.open_part(f"success/{index:06d}") as out:
        out.write(buf.getvalue())


def _error(parts: BlobResultParts, index: int, name: str) -> None:
    buf = io.BytesIO()
    frame = pd.DataFrame({"Name": [name], "Note": ["bad"]}, dtype="string")
    ErrorFileWriter(buf, COLS, bom=False).write(frame, [index * 10], ["REQUIRED_FIELD_MISSING:LastName"])
    with parts.open_part(f"error/{index:06d}") as out:
        out.write(buf.getvalue())


def _at_the_end(parts: BlobResultParts) -> dict[str, bytes]:
    store = get_blob_store()
    return {kind: store.read_all(parts.account_id, parts.assemble(f"{kind}/", f"end-{kind}.csv", HEADERS[kind]))
            for kind in ("success", "error")}


def _files_named(parts: BlobResultParts) -> list[tuple[str, bool]]:
    return db.session.execute(select(Blob.name, Blob.complete).where(
        Blob.account_id == parts.account_id, Blob.name.in_(NAMES.values())).order_by(Blob.name)).all()


def test_files_joined_along_the_way_are_the_files_joined_at_the_end(app):
    parts = _parts(retention_days=3)
    joining = RunningJoin(parts, NAMES)
    # Chunks finish out of order; chunk 2 has no success part, chunk 3 no error part, chunk 5 neither.
    _success(parts, 1, ["Bo", "Cy"])
    _error(parts, 1, "Dee")
    joining.chunk_done(1)
    assert joining.next == 0  # chunk 0 is not done yet: nothing is appended out of order
    _success(parts, 0, ["Al"])
    joining.chunk_done(0)
    _error(parts, 2, "Eve")
    _success(parts, 3, ["Fay"])
    joining.chunk_done(3)
    joining.chunk_done(2)
    joining.chunk_done(5)
    _success(parts, 4, ["Gus"])
    _error(parts, 4, "Hal")
    joining.chunk_done(4)
    files = joining.files(HEADERS)
    assert files is not None
    store = get_blob_store()
    got = {kind: store.read_all(parts.account_id, blob_id) for kind, blob_id in files.items()}
    assert got == _at_the_end(parts)
    assert got["success"].startswith(BOM) and got["success"].count(BOM) == 1
    assert [line.split(b",")[2] for line in got["success"].split(b"\r\n")[1:] if line.startswith(b'003')] == [
        b"Al", b"Bo", b"Cy", b"Fay", b"Gus"]
    blob = db.session.get(Blob, files["success"])
    assert blob.complete and 2.9 < (blob.expires_at - utcnow()).total_seconds() / 86400 <= 3


def test_no_parts_at_all_give_header_only_files(app):
    parts = _parts()
    joining = RunningJoin(parts, NAMES)
    joining.chunk_done(0)
    files = joining.files(HEADERS)
    assert get_blob_store().read_all(parts.account_id, files["error"]) == BOM + b"sf__Row,sf__Error,Name,Note\r\n"
    assert get_blob_store().read_all(parts.account_id, files["success"]) == _at_the_end(parts)["success"]


def test_a_part_written_again_after_it_was_appended_leaves_the_join_to_the_end(app):
    parts = _parts()
    joining = RunningJoin(parts, NAMES)
    _success(parts, 0, ["first attempt"])
    joining.chunk_done(0)
    _success(parts, 0, ["second attempt"])  # replaced after it was appended
    assert joining.files(HEADERS) is None
    assert _files_named(parts) == []  # what was joined along the way is gone, not left half-made
    assert b"second attempt" in _at_the_end(parts)["success"]


def test_a_chunk_never_reported_leaves_the_join_to_the_end(app):
    parts = _parts()
    joining = RunningJoin(parts, NAMES)
    _success(parts, 0, ["Al"])
    _success(parts, 1, ["Bo"])
    joining.chunk_done(1)  # chunk 0's parts exist, but it was never reported done
    assert joining.files(HEADERS) is None
    assert _files_named(parts) == []


def test_a_store_refusing_the_join_along_the_way_fails_the_end_the_same_way(app, failing_store):
    parts = _parts()
    joining = RunningJoin(parts, NAMES)
    _success(parts, 0, ["Al" * 600_000])  # over a blob chunk: the file writes while the run goes on
    failing_store("%-success.csv")
    joining.chunk_done(0)  # no exception in the middle of the run
    assert joining.files(HEADERS) is None
    with pytest.raises(ResultStoreFailed, match="file store refused a write"):
        parts.assemble("success/", NAMES["success"], HEADERS["success"])
    with db.engine.begin() as conn:
        complete = conn.execute(text("SELECT count(*) FROM blobs WHERE name LIKE '%-success.csv' AND complete"))
        assert complete.scalar() == 0


def test_a_store_refusing_the_last_write_offers_neither_file(app, failing_store):
    parts = _parts()
    joining = RunningJoin(parts, NAMES)
    _success(parts, 0, ["Al"])
    _error(parts, 0, "Bo")
    joining.chunk_done(0)
    failing_store("%-errors.csv")
    with pytest.raises(ResultStoreFailed):
        joining.files(HEADERS)
    assert _files_named(parts) == []
