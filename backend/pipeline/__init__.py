"""The pure import engine: sources, mapping, results. Imports neither Flask nor RQ (see README.md here)."""

from __future__ import annotations

from backend.pipeline.chunk import DEFAULT_CHUNK_SIZE, Chunk, RejectedRow

__all__ = ["DEFAULT_CHUNK_SIZE", "Chunk", "RejectedRow"]
