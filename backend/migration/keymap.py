"""The run's map from source keys to target Ids, per object, and the source keys whose rows failed.

Kept in memory while the run goes; each finished step is also written as a result snapshot
(`keymap/<object>`), which Runs stores encrypted in the blob store with the account's result retention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from backend.pipeline.parts import ResultParts

NEW = "(new)"  # a dry run's stand-in for an Id the insert would create


@dataclass
class KeyMap:
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # object -> source key -> target Id
    failed: dict[str, dict[str, str]] = field(default_factory=dict)  # object -> source key -> message

    def of(self, sobject: str) -> dict[str, str]:
        return self.ids.setdefault(sobject, {})

    def failures(self, sobject: str) -> dict[str, str]:
        return self.failed.setdefault(sobject, {})

    def save(self, parts: ResultParts, sobject: str) -> None:
        with parts.snapshot(f"keymap/{sobject}") as out:
            out.write(json.dumps({"ids": self.of(sobject), "failed": self.failures(sobject)}).encode())

    def load(self, parts: ResultParts, sobject: str) -> bool:
        stream = parts.read(f"keymap/{sobject}")
        if stream is None:
            return False
        with stream:
            data = json.loads(stream.read())
        self.ids[sobject], self.failed[sobject] = data["ids"], data["failed"]
        return True
