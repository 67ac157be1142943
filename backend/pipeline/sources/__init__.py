"""Source types, registered by name: `create_source("csv", config, open_stream=...)`."""

from __future__ import annotations

from backend.pipeline.sources import csv, xlsx  # noqa: F401  (registration happens on import)
from backend.pipeline.sources.base import (
    OpenStream,
    Source,
    create_source,
    register,
    source_class,
    source_types,
    stream_opener,
)

__all__ = ["OpenStream", "Source", "create_source", "register", "source_class", "source_types",
           "stream_opener"]
