"""Simulated record-lock contention (UNABLE_TO_LOCK_ROW) for rows processed in parallel.

Salesforce locks a row's parent (the Account of a Contact) and the row itself while it is written;
parallel batches touching the same parent collide. localorg models this deterministically:
within one parallel job the first unit (Bulk 1.0 batch, or Bulk 2.0 internal batch of 10,000 rows)
that touches a parent owns it; a row of another unit touching that parent fails with probability
`Knobs.lock_rate`, drawn from a hash of (`lock_seed`, unit, row number) so a run is reproducible.
Bulk 2.0 jobs that are in flight at the same time (one closed while another is still queued or running)
collide the same way on parents the earlier job touched. Serial-mode jobs, and parallel jobs whose batches
are ordered by parent, never collide. REST writes are not part of the model.
"""

from __future__ import annotations

import zlib
from typing import Any

from .errors import SfError
from .ids import to18
from .schema import Field, SObjectType
from .store import Store

LOCK_MESSAGE = "unable to obtain exclusive access to this record or 1 records: {0}"
_NOT_PARENTS = ("User", "RecordType", "Group")


def lock_error(record_id: str) -> SfError:
    return SfError("UNABLE_TO_LOCK_ROW", LOCK_MESSAGE.format(record_id), [])


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
            if (f.type == "reference" and not set(f.reference_to) & set(_NOT_PARENTS)) or \
                    (f.name == "Id" and op != "insert"):
                self.columns.append((col, f, None))
            return
        rel, _, key = col.partition(".")
        target, _, rel = rel.rpartition(":")
        ref = obj.relationship(rel) if key else None
        if ref is None or set(ref.reference_to) & set(_NOT_PARENTS):
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
                found = self.store.table(target).find(key_field.name, raw) if key_field.name != "Id" else [raw]
                rid = found[0] if len(found) == 1 else None
            if rid:
                out.append(rid)
        return out

    def check(self, unit: int, row_no: int, values: dict[str, Any],
              foreign: list[dict[str, int]] | None = None) -> SfError | None:
        """UNABLE_TO_LOCK_ROW when a parent of this row is owned by another unit (or by a job that ran at
        the same time: `foreign`) and the draw says so."""
        if self.rate <= 0 or not self.columns:
            return None
        for rid in self._parents(values):
            owner = self.owner.setdefault(rid, unit)
            if (owner != unit or any(rid in f for f in foreign or ())) and self._draw(unit, row_no):
                return lock_error(rid)
        return None

    def _draw(self, unit: int, row_no: int) -> bool:
        h = zlib.crc32(f"{self.seed}:{unit}:{row_no}".encode())
        return h / 0xFFFFFFFF < self.rate
