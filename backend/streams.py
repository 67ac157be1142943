"""A readable binary stream over an iterator of byte blocks (decrypted blob chunks, COPY data, downloads)."""

from __future__ import annotations

import io
from collections.abc import Iterator


class IterStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte blocks."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._block: bytes | bytearray | memoryview = b""
        self._buf = memoryview(b"")  # a view: taking a small read off a big block copies nothing else

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while not self._buf:
            try:
                self._block = next(self._blocks)
            except StopIteration:
                return False
            self._buf = memoryview(self._block)
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._fill():
            return 0
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes of the current block (all the rest without a size). A whole `bytes` block is handed
        on as it is: io's `read` copies every block twice (into a buffer, then into bytes), under the GIL."""
        if size is None or size < 0:
            return self.readall()
        if not self._fill():
            return b""
        return self._take(min(size, len(self._buf)))

    def rest(self) -> Iterator[bytes]:
        """What is left as blocks (the rest of the current one first), for a reader that takes whole blocks."""
        if self._buf:
            yield self._take(len(self._buf))
        yield from self._blocks

    def _take(self, n: int) -> bytes:
        """The next `n` bytes of the current block: the block itself when that is all of a `bytes` block."""
        piece, self._buf = self._buf[:n], self._buf[n:]
        return self._block if isinstance(self._block, bytes) and n == len(self._block) else bytes(piece)

    def readall(self) -> bytes:
        """The rest in one piece, joined from whole blocks (io's default reads 8 KiB at a time)."""
        rest = [bytes(self._buf), *self._blocks]
        self._buf = memoryview(b"")
        return b"".join(rest)
