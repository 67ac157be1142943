"""Writing a file to Dropbox: `files/upload` when the whole file fits in one part, else an upload session
(`files/upload_session/start`, `/append_v2`, `/finish` with cursor {session_id, offset} and commit {path, mode
overwrite}). Parts of PART_BYTES are sent as they fill: one part in memory, never the whole file. Dropbox
shows the file at its path only when the upload or the session's finish succeeds, so an abandoned upload
leaves nothing (an unfinished session expires at Dropbox after 7 days)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.connectors.uploads import Upload

Send = Callable[[str, dict[str, Any], bytes], dict[str, Any]]  # (files/ endpoint, Dropbox-API-Arg, body) -> answer

PART_BYTES = 8 * 1024 ** 2  # files/upload takes up to 150 MB; sessions take parts of any size in sequence


class DropboxUpload(Upload):
    def __init__(self, send: Send, path: str) -> None:
        self.send, self.path = send, path
        self.buffer = bytearray()
        self.session_id: str | None = None
        self.offset = 0  # bytes Dropbox holds in the session

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= PART_BYTES:
            part = bytes(self.buffer[:PART_BYTES])
            del self.buffer[:PART_BYTES]
            self._append(part)
        return len(data)

    def _append(self, part: bytes) -> None:
        if self.session_id is None:
            self.session_id = self.send("upload_session/start", {"close": False}, part)["session_id"]
        else:
            self.send("upload_session/append_v2", {"cursor": self._cursor(), "close": False}, part)
        self.offset += len(part)

    def commit(self) -> None:
        body, commit = bytes(self.buffer), {"path": f"/{self.path}", "mode": "overwrite", "autorename": False,
                                             "mute": True}
        self.buffer.clear()
        if self.session_id is None:
            self.send("upload", commit, body)
        else:
            self.send("upload_session/finish", {"cursor": self._cursor(), "commit": commit}, body)
        self.session_id = None

    def abort(self) -> None:
        self.buffer.clear()
        self.session_id = None  # never finished: nothing at the path

    def _cursor(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "offset": self.offset}
