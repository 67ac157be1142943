"""Salesforce record ids: 15/18-character forms, checksum suffix and per-prefix generators."""

from __future__ import annotations

import itertools
import re
import threading

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[0-9A-Za-z]{15}$")
_ID18 = re.compile(r"^[0-9A-Za-z]{18}$")


def checksum(id15: str) -> str:
    """Return the 3-character suffix that makes a 15-character id case-insensitively unique."""
    out = []
    for start in (0, 5, 10):
        flags = 0
        for j, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                flags |= 1 << j
        out.append(_SUFFIX[flags])
    return "".join(out)


def to18(value: str) -> str | None:
    """Normalise a 15- or 18-character id to 18 characters; None when it is not an id."""
    if len(value) == 15 and _ID15.match(value):
        return value + checksum(value)
    if len(value) == 18 and _ID18.match(value):
        head = value[:15]
        if value[15:].upper() != checksum(head):
            return None
        return head + checksum(head)
    return None


def to15(value: str) -> str:
    """The 15-character form used inside Salesforce error messages."""
    return value[:15]


def _b62(n: int, width: int) -> str:
    chars = []
    for _ in range(width):
        n, r = divmod(n, 62)
        chars.append(_B62[r])
    return "".join(reversed(chars))


class IdFactory:
    """Thread-safe generator of fresh 18-character ids for one org (pod id fixed per org)."""

    def __init__(self, pod: str = "5g00") -> None:
        self.pod = pod
        self._counters: dict[str, itertools.count] = {}
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            n = next(counter)
        id15 = prefix + self.pod + _b62(n, 8)
        return id15 + checksum(id15)
