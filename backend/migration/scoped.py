"""A Journal and ResultParts seen through a name prefix, so each step and pass of a run has its own."""

from __future__ import annotations

from typing import Any, BinaryIO

from backend.pipeline.parts import ResultParts
from backend.pipeline.sinks.base import Journal


class ScopedJournal:
    def __init__(self, inner: Journal, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix

    def get(self, key: str) -> Any | None:
        return self.inner.get(self.prefix + key)

    def put(self, key: str, value: Any) -> None:
        self.inner.put(self.prefix + key, value)

    def keys(self) -> list[str]:
        return [k.removeprefix(self.prefix) for k in self.inner.keys() if k.startswith(self.prefix)]


class ScopedParts:
    def __init__(self, inner: ResultParts, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix

    def open_part(self, name: str) -> BinaryIO:
        return self.inner.open_part(self.prefix + name)

    def has_part(self, name: str) -> bool:
        return self.inner.has_part(self.prefix + name)

    def snapshot(self, name: str) -> BinaryIO:
        return self.inner.snapshot(self.prefix + name)

    def read(self, name: str) -> BinaryIO | None:
        return self.inner.read(self.prefix + name)
