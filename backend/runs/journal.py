"""The runner's crash-safety journal, kept durably in the Run row's checkpoint JSON (or in memory for the CLI)."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import select, update

from backend.extensions import db
from backend.models.runs import Run


class RunJournal:
    """`get(key)` / `put(key, value)` over Run.checkpoint; each put is committed before it returns.

    Writes go through their own short transaction on the engine, never the ORM session, so a put
    cannot be rolled back with unrelated work and holds no lock while the runner talks to Salesforce.
    Values must be JSON; they are stored as JSON, so tuples come back as lists.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        with db.engine.connect() as conn:
            stored = conn.execute(select(Run.checkpoint).where(Run.id == run_id)).scalar()
        self._data: dict[str, Any] = dict(stored or {})

    def get(self, key: str) -> Any | None:
        return copy.deepcopy(self._data.get(key))

    def put(self, key: str, value: Any) -> None:
        value = json.loads(json.dumps(value))  # fail here, not at commit, on values JSON cannot hold
        data = {**self._data, key: value}
        with db.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == self.run_id).values(checkpoint=data))
        self._data = data

    def keys(self) -> list[str]:
        return list(self._data)

    def clear(self) -> None:
        with db.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == self.run_id).values(checkpoint={}))
        self._data = {}


class MemoryJournal:
    """The same protocol in memory: the CLI runs once, start to end, in one process."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return copy.deepcopy(self._data.get(key))

    def put(self, key: str, value: Any) -> None:
        self._data[key] = json.loads(json.dumps(value))

    def keys(self) -> list[str]:
        return list(self._data)
