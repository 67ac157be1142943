"""File stores (S3, SFTP, FTPS, HTTPS): a path or a glob, the newest or every matching file, parsed by the
existing CSV and Excel sources with all their detection. Bytes are streamed or held in memory, never on disk."""

from __future__ import annotations

import fnmatch
import io
import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar

from backend.connectors.base import Connector, ConnectorError, Entry
from backend.connectors.uploads import Upload
from backend.errors import SourceError
from backend.pipeline.chunk import Chunk
from backend.pipeline.sources import Source, create_source

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PICKS = ("newest", "every")
MAX_FILE_BYTES = 1024 ** 3  # the same ceiling as an upload


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


class FileStore(Connector):
    """A connector whose objects are files. Subclasses implement `browse`, `open_file` and optionally `move`."""

    kind: ClassVar[str] = "files"
    path_required: ClassVar[bool] = True  # an HTTPS connection's URL is itself the file

    def open_file(self, path: str) -> BinaryIO:
        """A fresh readable stream over the file (from the start); held in memory or read from the wire."""
        raise NotImplementedError

    def move(self, path: str, folder: str) -> str:
        raise ConnectorError("config", f"{self.label} connections cannot move files.")

    def upload(self, path: str) -> Upload:
        """A stream that becomes the file at `path` (relative to the connection's folder) on `commit()`."""
        raise ConnectorError("config", f"{self.label} connections cannot take files.")

    def root(self) -> str:
        return (self.params.get("path") or "").strip("/")

    def full(self, path: str) -> str:
        """A spec path is relative to the connection's folder unless it starts with '/'."""
        if path.startswith("/"):
            return path.strip("/")
        return posixpath.join(self.root(), path).strip("/") if self.root() else path.strip("/")

    def matches(self, pattern: str) -> list[Entry]:
        """Files matching `pattern` (a path, or a glob in its last part), newest first."""
        folder, name = posixpath.split(pattern)  # browse() puts the folder under the connection's own
        if not _is_glob(name):
            found = [e for e in self.browse(folder) if e.kind == "file" and e.name == name]
        else:
            found = [e for e in self.browse(folder) if e.kind == "file" and fnmatch.fnmatchcase(e.name, name)]
        if not found:
            raise ConnectorError("missing", f"No file matches {pattern!r}.")
        return sorted(found, key=lambda e: (e.modified or "", e.name), reverse=True)

    def source(self, spec: dict[str, Any]) -> Source:
        pattern = (spec.get("path") or "").strip()
        if not pattern and self.path_required:
            raise ConnectorError("config", "Give a file path or a glob such as exports/*.csv.")
        pick = spec.get("pick") or "newest"
        if pick not in PICKS:
            raise ConnectorError("config", f"pick must be one of {', '.join(PICKS)}.")
        files = self.matches(pattern)
        chosen = files[:1] if pick == "newest" else sorted(files, key=lambda e: e.name)
        sources = [self.file_source(e.path) for e in chosen]
        source = sources[0] if len(sources) == 1 else ChainedSource(sources, [e.path for e in chosen])
        source.paths = [e.path for e in chosen]
        return source

    def file_source(self, path: str) -> Source:
        excel = path.lower().endswith(EXCEL_SUFFIXES)
        if excel:  # a zip needs random access: the workbook is held in memory
            return create_source("xlsx", {}, open_stream=lambda: io.BytesIO(_read_capped(self.open_file(path))))
        return create_source("csv", {}, open_stream=lambda: self.open_file(path))

    def archive(self, paths: list[str], folder: str) -> list[str]:
        """Move each file into `folder` (after a successful run); returns the new paths."""
        return [self.move(p, self.full(folder)) for p in paths]


def _read_capped(stream: BinaryIO) -> bytes:
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(f"The file is larger than {MAX_FILE_BYTES // 1024 ** 2} MB, the limit for one import.")
    return data


class ChainedSource(Source):
    """Every matching file as one run: the same columns in each, read one after another."""

    label = "Files"

    def __init__(self, sources: list[Source], paths: list[str]) -> None:
        super().__init__({})
        self.sources, self.paths = sources, paths

    def columns(self) -> list[str]:
        first = self.sources[0].columns()
        for source, path in zip(self.sources[1:], self.paths[1:], strict=True):
            if [c.casefold() for c in source.columns()] != [c.casefold() for c in first]:
                raise SourceError(f"{path} has other columns than {self.paths[0]}; every file of one run "
                                  "must have the same header.")
        return first

    def read(self) -> Iterator[Chunk]:
        self.columns()
        for source in self.sources:
            for chunk in source.read():
                chunk.frame.columns = self.sources[0].columns()
                yield chunk
