"""Result parts of a run in the encrypted blob store, and their concatenation into the final files.

The runner writes one part per chunk (`success/000012`, `error/000012`, `rollback/000012`); a part
counts only once it is closed without an error, and writing a part again replaces the old one, so a
resumed run never duplicates rows. At the end the parts of each kind become one CSV file (header
once) with the account's retention.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from backend.errors import InflowError
from backend.extensions import db
from backend.models.storage import Blob
from backend.storage.blobs import CHUNK_SIZE, BlobStore, BlobWriter, expiry_for

BOM = b"\xef\xbb\xbf"
STORE_REFUSED = ("Inflow could not save this run's result files: the file store refused a write (full or failing). "
                 "Salesforce keeps the records it accepted; no result file is offered, because it would be "
                 "incomplete.")


class ResultStoreFailed(InflowError):
    """A result part or file could not be written to the blob store: the run fails with STORE_REFUSED."""


def store_refused(err: SQLAlchemyError) -> ResultStoreFailed:
    return ResultStoreFailed(STORE_REFUSED, detail=f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")


class PartWriter:
    """A write-only part: `close()` (or leaving a `with` block normally) commits it; an exception drops it."""

    def __init__(self, writer: BlobWriter, on_commit: Callable[[str], None]) -> None:
        self._writer = writer
        self._on_commit = on_commit
        self.closed = False

    def write(self, data: bytes) -> int:
        try:
            return self._writer.write(bytes(data))
        except SQLAlchemyError as err:
            raise store_refused(err) from err

    def writable(self) -> bool:
        return not self.closed

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._writer.finish()
            except SQLAlchemyError as err:
                raise store_refused(err) from err  # left incomplete: never served, purged at expiry
            self._on_commit(self._writer.blob_id)

    def discard(self) -> None:
        self.closed = True  # left incomplete: never served, purged at expiry

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def natural_key(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


class BlobResultParts:
    """The ResultParts protocol over BlobStore; blob names are `run/<run id>/<part name>`."""

    def __init__(self, store: BlobStore, account_id: str, run_id: str, retention_days: int) -> None:
        self.store, self.account_id, self.run_id = store, account_id, run_id
        self.retention_days = retention_days
        self._prefix = f"run/{run_id}/"

    def _expiry(self) -> datetime:
        # Parts must outlive the run even when the account keeps results for 0 days.
        return expiry_for("result", max(self.retention_days, 1))

    def _open(self, name: str, kind: str) -> PartWriter:
        full = self._prefix + name
        writer = self.store.create(self.account_id, kind, name=full, expires_at=self._expiry())
        return PartWriter(writer, lambda blob_id: self._drop_others(full, keep=blob_id))

    def open_part(self, name: str) -> PartWriter:
        return self._open(name, "result")

    def snapshot(self, name: str) -> PartWriter:
        """Rollback snapshots live as long as results (the run can be rolled back until then)."""
        return self._open(name, "rollback")

    def has_part(self, name: str) -> bool:
        return self.blob_id(name) is not None

    def read(self, name: str) -> BinaryIO | None:
        """A committed part's plaintext stream, or None when there is no such part."""
        blob_id = self.blob_id(name)
        return None if blob_id is None else self.open_blob(blob_id)

    def part_names(self, prefix: str = "") -> list[str]:
        with db.engine.connect() as conn:
            names = conn.execute(select(Blob.name).where(
                Blob.account_id == self.account_id, Blob.complete.is_(True),
                Blob.name.startswith(self._prefix + prefix, autoescape=True))).scalars()
            return sorted({n[len(self._prefix):] for n in names}, key=natural_key)

    def part_ids(self, prefix: str) -> list[tuple[str, str]]:
        """(name, blob id) of each committed part under `prefix`, in part order: what `assemble` joins."""
        return [(name, blob_id) for name in self.part_names(prefix) if (blob_id := self.blob_id(name))]

    def open_blob(self, blob_id: str) -> BinaryIO:
        return self.store.open(self.account_id, blob_id)

    def create_file(self, file_name: str, expires_at: datetime) -> BlobWriter:
        """A result file of the run, incomplete (never served) until its writer finishes."""
        return self.store.create(self.account_id, "result", name=file_name, expires_at=expires_at)

    def blob_id(self, name: str) -> str | None:
        """The committed part `name`'s blob id, or None."""
        with db.engine.connect() as conn:
            return conn.execute(select(Blob.id).where(
                Blob.account_id == self.account_id, Blob.name == self._prefix + name,
                Blob.complete.is_(True)).order_by(Blob.created_at.desc())).scalar()

    def drop_other_copies(self, file_name: str, keep: str) -> None:
        """Delete every blob of the account named `file_name` (a whole name, no run prefix) but `keep`."""
        self._drop_others(file_name, keep)

    def _drop_others(self, full_name: str, keep: str) -> None:
        with db.engine.connect() as conn:
            ids = list(conn.execute(select(Blob.id).where(Blob.account_id == self.account_id, Blob.name == full_name,
                                                          Blob.id != keep)).scalars())
        self.store.delete_many(self.account_id, ids)

    def delete_parts(self, prefixes: Iterable[str]) -> None:
        self.store.delete_many(self.account_id, [blob for prefix in prefixes for _, blob in self.part_ids(prefix)])

    def assemble(self, prefix: str, file_name: str, empty_header: Callable[[BinaryIO], None]) -> str:
        """Concatenate the parts under `prefix` into one result file; returns its blob id.

        Every part is a complete CSV with its header (and maybe a BOM); the file gets one BOM, so Excel
        reads UTF-8, and the first part's header. With no parts, `empty_header(stream)` writes the file.
        """
        out = self.create_file(file_name, expiry_for("result", self.retention_days))
        try:
            join_parts((self.read(n) for n in self.part_names(prefix)), out, empty_header)
            return out.finish().id
        except SQLAlchemyError as err:
            discard_quietly(out)
            raise store_refused(err) from err


def discard_quietly(writer: BlobWriter) -> None:
    """Delete a half-written file if the store lets us; if not, it stays incomplete: never served, purged."""
    try:
        writer.discard()
    except SQLAlchemyError:
        pass


class PartJoin:
    """CSV parts (each with its header, maybe a BOM) written to `out` as one file: one BOM, one header.

    A block of a part is in memory at a time (1 MiB; a header longer than that, whole).
    """

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.count = out, 0

    def add(self, stream: BinaryIO) -> None:
        """Copied a block at a time: the store fetches the part's next block while this one is written."""
        with stream:
            data = stream.read(CHUNK_SIZE).removeprefix(BOM)
            while (end := _header_end(data)) == len(data) and (more := stream.read(CHUNK_SIZE)):
                data += more  # a header longer than a block
            self.out.write(BOM + data if self.count == 0 else data[end:])
            while block := stream.read(CHUNK_SIZE):
                self.out.write(block)
        self.count += 1

    def end(self, empty_header: Callable[[BinaryIO], None]) -> None:
        """With no part at all, `empty_header(out)` writes the file (its header alone)."""
        if self.count == 0:
            empty_header(self.out)


def join_parts(parts: Iterable[BinaryIO | None], out: BinaryIO, empty_header: Callable[[BinaryIO], None]) -> int:
    """Write CSV parts to `out` as one file (see PartJoin); returns how many parts were joined."""
    join = PartJoin(out)
    for stream in parts:
        if stream is not None:
            join.add(stream)
    join.end(empty_header)
    return join.count


def _header_end(data: bytes) -> int:
    """Offset just after the first CSV record (the header), honouring quoted line breaks."""
    quoted = False
    for i in range(len(data)):
        byte = data[i]
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x0A and not quoted:
            return i + 1
    return len(data)
