"""Simulated record-lock contention (UNABLE_TO_LOCK_ROW) for rows written concurrently.

Salesforce locks a row's parent (the Account of a Contact) and the row itself while it is written;
concurrent writers touching the same parent collide. localorg models this deterministically, at
`Knobs.lock_rate`, with draws from a hash of `lock_seed` so that a run is reproducible:

- Bulk: within one parallel job the first unit (Bulk 1.0 batch, or Bulk 2.0 internal batch of 10,000
  rows) that touches a parent owns it; a row of another unit touching that parent fails when the draw
  (seed, unit, row number) says so. Bulk 2.0 jobs in flight at the same time (one closed while another is
  still queued or running) collide the same way on parents the earlier job touched. Serial-mode jobs,
  and parallel jobs whose batches are ordered by parent, never collide among themselves.
- REST (sObject create/update/upsert/delete, /composite/sobjects, /composite): every org has a
  `LockRegistry` of the parent ids held by in-flight writers, i.e. REST write requests (from the moment
  they start writing until they answer; the `latency_ms` knob is slept while holding) and running Bulk
  batches. A REST row whose parents (reference ids, relationship keys, and its own Id for
  update/upsert/delete) are held by another writer fails when the draw (seed, request sequence, row)
  says so; a request running alone never collides. Bulk rows do not collide with REST holders.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable
from typing import Any

from .errors import SfError
from .ids import to18
from .schema import Field, SObjectType
from .store import Store

LOCK_MESSAGE = "unable to obtain exclusive access to this record or 1 records: {0}"
NOT_PARENTS = ("User", "RecordType", "Group")


def lock_error(record_id: str) -> SfError:
    return SfError("UNABLE_TO_LOCK_ROW", LOCK_MESSAGE.format(record_id), [])


def drawn(seed: int, unit: int | str, row_no: int, rate: float) -> bool:
    """The seeded draw: does row `row_no` of `unit` lose its lock?"""
    return zlib.crc32(f"{seed}:{unit}:{row_no}".encode()) / 0xFFFFFFFF < rate


class Holder:
    """One in-flight writer (a REST request or a running Bulk batch) and the parent ids it holds."""

    def __init__(self, registry: LockRegistry, hid: int) -> None:
        self.registry = registry
        self.id = hid
        self.held: set[str] = set()
        self.contested: set[str] = set()   # parents another writer held when this one reserved them
        self.seq: int | None = None        # REST requests: order of first claim, names their draws
        self.rows = 0

    def take(self, rid: str) -> None:
        if rid not in self.held:
            self.registry.take(self, [rid])

    def release(self) -> None:
        self.registry.release(self)


class LockRegistry:
    """The parent ids held by an org's in-flight writers; all changes under one small lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, set[int]] = {}
        self._holders = 0
        self._seq = 0

    def holder(self) -> Holder:
        with self._lock:
            self._holders += 1
            return Holder(self, self._holders)

    def holds(self, rid: str) -> bool:
        """Whether any writer holds `rid` now."""
        with self._lock:
            return bool(self._held.get(rid))

    def _other(self, holder: Holder, rid: str) -> bool:
        owners = self._held.get(rid)
        return bool(owners) and (len(owners) > 1 or holder.id not in owners)

    def _take(self, holder: Holder, parents: Iterable[str]) -> None:
        for rid in parents:
            self._held.setdefault(rid, set()).add(holder.id)
            holder.held.add(rid)

    def _sequence(self, holder: Holder) -> int:
        if holder.seq is None:
            self._seq += 1
            holder.seq = self._seq
        return holder.seq

    def take(self, holder: Holder, parents: Iterable[str]) -> None:
        with self._lock:
            self._take(holder, parents)

    def reserve(self, holder: Holder, parents: Iterable[str]) -> None:
        """Take what is free; remember what another writer holds (a /composite before its subrequests)."""
        with self._lock:
            self._sequence(holder)
            for rid in parents:
                if self._other(holder, rid):
                    holder.contested.add(rid)
                else:
                    self._take(holder, [rid])

    def claim_rows(self, holder: Holder, rows: list[list[str]], rate: float, seed: int) -> list[str | None]:
        """For each row (its parent ids): the parent it could not lock, or None after taking them all.

        One request's rows are claimed at once, so the request that comes second is the one that collides.
        """
        out: list[str | None] = []
        with self._lock:
            seq = self._sequence(holder)
            for parents in rows:
                row_no, holder.rows = holder.rows, holder.rows + 1
                busy = [p for p in parents if p in holder.contested or self._other(holder, p)]
                if busy and drawn(seed, f"r{seq}", row_no, rate):
                    out.append(busy[0])
                    continue
                self._take(holder, parents)
                out.append(None)
        return out

    def release(self, holder: Holder) -> None:
        with self._lock:
            for rid in holder.held:
                owners = self._held.get(rid)
                if owners is not None:
                    owners.discard(holder.id)
                    if not owners:
                        del self._held[rid]
            holder.held.clear()


class LockTracker:
    """Parents touched by the units of one parallel job, and the seeded draw deciding collisions."""

    def __init__(self, store: Store, obj: SObjectType, header: list[str], op: str, rate: float,
                 seed: int) -> None:
        self.store = store
        self.rate = rate
        self.seed = seed
        self.owner: dict[str, int] = {}
        self.columns: list[tuple[str, Field, Field | None]] = []
        for col in header:
            self._add_column(obj, col, op)

    def _add_column(self, obj: SObjectType, col: str, op: str) -> None:
        f = obj.field(col)
        if f is not None:
            if (f.type == "reference" and not set(f.reference_to) & set(NOT_PARENTS)) or \
                    (f.name == "Id" and op != "insert"):
                self.columns.append((col, f, None))
            return
        rel, _, key = col.partition(".")
        target, _, rel = rel.rpartition(":")
        ref = obj.relationship(rel) if key else None
        if ref is None or set(ref.reference_to) & set(NOT_PARENTS):
            return
        parent = self.store.schema.get(target or ref.reference_to[0])
        key_field = parent.field(key) if parent is not None else None
        if key_field is not None and (key_field.external_id or key_field.id_lookup):
            self.columns.append((col, ref, key_field))

    def _parents(self, values: dict[str, Any]) -> list[str]:
        out = []
        for col, f, key_field in self.columns:
            raw = values.get(col)
            if not raw:
                continue
            if key_field is None:
                rid = to18(raw) if isinstance(raw, str) else None
            else:
                target = col.partition(".")[0].rpartition(":")[0] or f.reference_to[0]
                with self.store.lock:   # rows may be checked outside the write lock (see bulk_engine)
                    found = self.store.table(target).find(key_field.name, raw) if key_field.name != "Id" \
                        else [raw]
                rid = found[0] if len(found) == 1 else None
            if rid:
                out.append(rid)
        return out

    def check(self, unit: int, row_no: int, values: dict[str, Any],
              foreign: list[dict[str, int]] | None = None, holder: Holder | None = None) -> SfError | None:
        """UNABLE_TO_LOCK_ROW when a parent of this row is owned by another unit (or by a job that ran at
        the same time: `foreign`) and the draw says so. Parents are registered with `holder`, so REST
        writes see them held while the batch runs."""
        if self.rate <= 0 or not self.columns:
            return None
        for rid in self._parents(values):
            owner = self.owner.setdefault(rid, unit)
            if holder is not None:
                holder.take(rid)
            if (owner != unit or any(rid in f for f in foreign or ())) and drawn(self.seed, unit, row_no,
                                                                                  self.rate):
                return lock_error(rid)
        return None
