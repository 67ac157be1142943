"""Salesforce record ids: 15/18-character forms, checksum suffix and per-prefix generators."""

from __future__ import annotations

import itertools
import re
import threading

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[0-9A-Za-z]{15}$")
_ID18 = re.compile(r"^[0-9A-Za-z]{18}$")


_UPPER_BITS = str.maketrans({c: ("1" if "A" <= c <= "Z" else "0") for c in _B62})


def checksum(id15: str) -> str:
    """Return the 3-character suffix that makes a 15-character id case-insensitively unique.

    Each 5-character chunk gives a 5-bit number (bit j set when char j is A-Z), mapped through A-Z0-5.
    """
    bits = id15.translate(_UPPER_BITS)
    return (_SUFFIX[int(bits[4::-1], 2)] + _SUFFIX[int(bits[9:4:-1], 2)] + _SUFFIX[int(bits[14:9:-1], 2)])


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


_PAIRS = [a + b for a in _B62 for b in _B62]


def _b62(n: int, width: int) -> str:
    """n in base 62, zero-padded to `width` (an even number) characters."""
    out = ""
    for _ in range(width // 2):
        n, r = divmod(n, 3844)
        out = _PAIRS[r] + out
    return out


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
