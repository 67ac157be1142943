"""Writing a file to a file store: a stream written under a temporary name and renamed at `commit()`, so a
reader never sees half a file (S3: a multipart upload, which shows the object only when it completes)."""

from __future__ import annotations

import posixpath


class Upload:
    """A writable binary stream; `commit()` makes the file appear under its name, `abort()` leaves nothing."""

    def write(self, data: bytes) -> int:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        return None


def temp_name(path: str) -> str:
    """`folder/.name.part` beside the final name (same folder: a rename, not a copy)."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f".{name}.part") if folder else f".{name}.part"
