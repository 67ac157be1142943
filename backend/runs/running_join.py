"""A run's success and error files, joined while the run goes on instead of after its last chunk.

Each chunk's parts are appended once every earlier chunk is done, so when the last Bulk job's results
arrive only its own parts are left to join: the files are ready when the import is (a million rows'
success file took 2.7 s to join at the end, with Salesforce idle).

The parts stay the record of truth and keep their crash safety: the files are incomplete blobs, never
served, until `files()` finishes them, and it does so only when they hold exactly the parts the run ended
with (same names, same blobs, same order). Anything else (a part written again after it was appended, a
write the store refused, chunks done out of reach) leaves `files()` returning None: the caller joins the
parts from scratch as before, and what was written here is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy.exc import SQLAlchemyError

from backend.errors import InflowError
from backend.pipeline.parts import part_name
from backend.runs.parts import BlobResultParts, PartJoin, discard_quietly, store_refused
from backend.security.crypto import DecryptionError
from backend.storage.blobs import BlobWriter, expiry_for

log = logging.getLogger(__name__)

KINDS = ("success", "error")


class RunningJoin:
    """`chunk_done(index)` as the runner journals each chunk; `files()` at the end."""

    def __init__(self, parts: BlobResultParts, file_names: dict[str, str]) -> None:
        self.parts = parts
        # Kept past the run's start until finished: the account's retention is set again at the end.
        running = expiry_for("result", max(parts.retention_days, 1))
        self.writers: dict[str, BlobWriter] = {}
        try:
            for kind in KINDS:
                self.writers[kind] = parts.create_file(file_names[kind], running)
        except SQLAlchemyError as err:
            log.warning("run %s: result files will be joined at the end (%s)", parts.run_id, type(err).__name__)
            self.discard()
        self.joins = {kind: PartJoin(w) for kind, w in self.writers.items()}
        self.joined: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
        self.waiting: set[int] = set()
        self.next = 0  # the first chunk not appended yet (an unsplit run numbers its chunks from 0)

    @property
    def broken(self) -> bool:
        return len(self.writers) != len(KINDS)

    def chunk_done(self, index: int) -> None:
        """Chunk `index` is journaled done (its parts are final): append every chunk now in order."""
        if self.broken:
            return
        self.waiting.add(index)
        try:
            while self.next in self.waiting:
                self.waiting.discard(self.next)
                for kind in KINDS:
                    name = part_name(kind, self.next)
                    blob_id = self.parts.blob_id(name)
                    if blob_id is not None:
                        self.joins[kind].add(self.parts.open_blob(blob_id))
                        self.joined[kind].append((name, blob_id))
                self.next += 1
        except (SQLAlchemyError, InflowError, DecryptionError) as err:  # the join at the end says what is wrong
            log.warning("run %s: result files will be joined at the end (%s)", self.parts.run_id, type(err).__name__)
            self.discard()

    def files(self, empty_headers: dict[str, Callable[[BinaryIO], None]]) -> dict[str, str] | None:
        """{"success": blob id, "error": blob id} when the files hold exactly the run's parts, else None.

        A store that refuses the last writes raises ResultStoreFailed, as joining at the end would.
        """
        if self.broken or any(self.joined[kind] != self.parts.part_ids(f"{kind}/") for kind in KINDS):
            self.discard()
            return None
        expires = expiry_for("result", self.parts.retention_days)
        done: dict[str, str] = {}
        try:
            for kind in KINDS:
                self.joins[kind].end(empty_headers[kind])
                done[kind] = self.writers[kind].finish(expires).id
        except SQLAlchemyError as err:
            for blob_id in done.values():  # one file without the other: offer neither
                self.parts.store.delete(self.parts.account_id, blob_id)
            self.discard()
            raise store_refused(err) from err
        self.writers = {}
        return done

    def discard(self) -> None:
        """Delete the files not finished (nothing once `files()` returned them)."""
        for writer in self.writers.values():
            if writer.writable():
                discard_quietly(writer)
        self.writers = {}
