"""Where an export's rows go: a target opens a writer for the columns and says where the file ended up.

A download target writes CSV or .xlsx to a stream its caller provides (a local file for the CLI, an
encrypted blob for a run). Database tables and file stores through a connection are targets with the same
three calls, built in backend/connectors/targets.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

from backend.errors import ConfigError
from backend.pipeline.export.soql import NUMERIC_TYPES, Column
from backend.pipeline.export.writers import FORMATS, ExportWriter, open_writer


class ExportTarget(Protocol):
    def open(self, columns: list[Column]) -> ExportWriter: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def format_for(name: str) -> str:
    """csv or xlsx from a file name; anything else is refused."""
    fmt = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if fmt not in FORMATS:
        raise ConfigError(f"Export to a .csv or .xlsx file, not {name!r}.")
    return fmt


class DownloadTarget:
    """A CSV or Excel file written to the stream `open_stream()` gives; `close_stream(ok)` ends it."""

    def __init__(self, fmt: str, open_stream: Callable[[], BinaryIO],
                 close_stream: Callable[[bool], None] | None = None) -> None:
        self.fmt, self._open_stream, self._close_stream = fmt, open_stream, close_stream
        self._writer: ExportWriter | None = None

    def open(self, columns: list[Column]) -> ExportWriter:
        numeric = {c.name for c in columns if c.type in NUMERIC_TYPES}
        self._writer = open_writer(self.fmt, self._open_stream(), [c.name for c in columns], numeric)
        return self._writer

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._close_stream:
            self._close_stream(True)

    def abort(self) -> None:
        if self._close_stream:
            self._close_stream(False)

