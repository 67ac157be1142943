"""What every sink shares: the row results of a written chunk and the Journal it checkpoints into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from backend.pipeline.mapping import MappedChunk

LOCK_ERROR = "UNABLE_TO_LOCK_ROW"


class Journal(Protocol):
    """Crash-safety store (Runs implements it durably): a put is committed before it returns."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...

    def keys(self) -> list[str]: ...


@dataclass
class RowResults:
    """Per-row outcome aligned with a MappedChunk's rows: an error text of "" means success."""

    ids: np.ndarray       # object: 18-char id or None
    created: np.ndarray   # bool
    errors: np.ndarray    # object: "" or "CODE:message"

    @classmethod
    def empty(cls, n: int) -> RowResults:
        return cls(np.full(n, None, dtype=object), np.zeros(n, dtype=bool), np.full(n, "", dtype=object))

    @classmethod
    def from_lists(cls, rows: list[list[Any]]) -> RowResults:
        """From journaled [id, created, error] triples."""
        out = cls.empty(len(rows))
        for i, (rid, created, err) in enumerate(rows):
            out.ids[i], out.created[i], out.errors[i] = rid, bool(created), err or ""
        return out

    def to_lists(self) -> list[list[Any]]:
        return [[i, bool(c), e] for i, c, e in zip(self.ids, self.created, self.errors, strict=True)]

    @property
    def ok(self) -> np.ndarray:
        return self.errors == ""

    def locked(self) -> np.ndarray:
        return np.array([str(e).startswith(LOCK_ERROR) for e in self.errors], dtype=bool)


@dataclass
class Outcome:
    """A chunk the sink has finished: its rows as sent and what Salesforce said about each."""

    index: int
    mapped: MappedChunk
    results: RowResults


def collection_error(item: dict[str, Any]) -> str:
    errs = item.get("errors") or []
    if not errs:
        return "UNKNOWN_EXCEPTION:no error given"
    e = errs[0]
    fields = ",".join(e.get("fields") or [])
    return f"{e.get('statusCode') or e.get('errorCode')}:{e.get('message')}" + (f" ({fields})" if fields else "")
