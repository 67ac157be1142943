"""The Source interface every source type implements, and the registry that finds a type by name."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, ClassVar

from backend.errors import ConfigError, SourceError
from backend.pipeline.chunk import Chunk, default_chunk_rows

OpenStream = Callable[[], BinaryIO]

_REGISTRY: dict[str, type[Source]] = {}


class Source:
    """A readable table: subclasses set `type` and `config_schema` and implement the three methods.

    `config` is the JSON the UI form produced from `config_schema`. File sources get their bytes from
    `open_stream`, a callable returning a fresh binary file-like object positioned at the start (the
    blob store's decrypting stream); it may be called more than once. A seekable binary file object
    is accepted too and rewound before each use. `warnings` collects problems
    the user should see but that do not stop the import (e.g. an encoding guessed as Windows-1252).
    """

    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    def __init__(self, config: dict[str, Any] | None = None, *, open_stream: OpenStream | BinaryIO | None = None,
                 chunk_size: int | None = None) -> None:
        self.config = dict(config or {})
        is_file = open_stream is not None and not callable(open_stream)
        self.open_stream = stream_opener(open_stream) if is_file else open_stream
        self.chunk_size = chunk_size
        self.warnings: list[str] = []
        self._check_config()

    def _check_config(self) -> None:
        props = self.config_schema.get("properties", {})
        for name in self.config_schema.get("required", []):
            if self.config.get(name) in (None, ""):
                raise ConfigError(f"{self.label or self.type}: setting '{name}' is required.")
        for name, value in self.config.items():
            allowed = props.get(name, {}).get("enum")
            if allowed is not None and value not in allowed:
                raise ConfigError(f"{self.label or self.type}: '{value}' is not a valid {name}; "
                                  f"choose one of {', '.join(map(str, allowed))}.")

    def _open(self) -> BinaryIO:
        if self.open_stream is None:
            raise ConfigError(f"{self.label or self.type}: no file was given.")
        return self.open_stream()

    def chunk_rows(self, columns: int) -> int:
        """Rows per chunk: `chunk_size` if the caller chose one, else sized to the number of columns."""
        return self.chunk_size or default_chunk_rows(columns)

    def test_connection(self) -> None:
        """Raise SourceError (or ConfigError) if the source cannot be read; return None if it can."""
        self.columns()

    def columns(self) -> list[str]:
        """The source's column names, in order."""
        raise NotImplementedError

    def read(self) -> Iterator[Chunk]:
        """Stream the rows as chunks of at most `chunk_rows(len(columns))` rows; never loads everything."""
        raise NotImplementedError


def header_row(config: dict[str, Any]) -> int:
    """The 1-based row the column names are on (`header_row` setting); ConfigError if it is not a number."""
    value = config.get("header_row", 1)
    try:
        row = int(value if value not in (None, "") else 1)
    except (TypeError, ValueError):
        raise ConfigError(f"The header row must be a line number, not '{value}'.") from None
    if not 1 <= row <= 1000:
        raise ConfigError("The header row must be between 1 and 1000.")
    return row


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a source type available by its `type` name."""
    if not cls.type:
        raise ValueError(f"{cls.__name__} has no type name")
    _REGISTRY[cls.type] = cls
    return cls


def source_class(type_name: str) -> type[Source]:
    """The registered class for `type_name`, or ConfigError naming the known types."""
    try:
        return _REGISTRY[type_name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigError(f"Unknown source type '{type_name}'; known types: {known}.") from None


def create_source(type_name: str, config: dict[str, Any] | None = None, **kwargs: Any) -> Source:
    """Instantiate a registered source type with its config (kwargs: open_stream, chunk_size, limits)."""
    return source_class(type_name)(config, **kwargs)


def source_types() -> list[dict[str, Any]]:
    """Every registered type with its label and JSON schema, for the UI's source picker."""
    return [{"type": t, "label": c.label or t, "config_schema": c.config_schema}
            for t, c in sorted(_REGISTRY.items())]


def stream_opener(data: bytes | BinaryIO) -> OpenStream:
    """An `open_stream` callable over bytes or a seekable binary file (tests, CLI)."""
    if isinstance(data, bytes | bytearray):
        return lambda: io.BytesIO(data)
    if not getattr(data, "seekable", lambda: False)():
        raise SourceError("The file stream cannot be re-read; pass a callable that reopens it.")

    def reopen() -> BinaryIO:
        data.seek(0)
        return data
    return reopen
