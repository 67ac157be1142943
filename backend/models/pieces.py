"""Pieces of one run: stretches of its rows that any worker may take, each a lease of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import IdMixin, UTCDateTime

PIECE_STATES = ("free", "taken", "done", "failed", "skipped")  # taken + expired lease = free again


class RunPiece(IdMixin, db.Model):
    """Rows [first_row, first_row + rows) of a run's uploaded file: bytes [start_offset, end_offset), whose
    first record is on line `first_line`; its chunks are numbered from `first_chunk` in the run's parts."""

    __tablename__ = "run_pieces"
    __table_args__ = (UniqueConstraint("run_id", "piece_no", name="uq_run_pieces_run_piece"),)

    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    piece_no: Mapped[int] = mapped_column(Integer)
    org_key: Mapped[str] = mapped_column(String(64), index=True)  # the org at Salesforce: its cap is shared
    first_row: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    start_offset: Mapped[int] = mapped_column(BigInteger)
    end_offset: Mapped[int] = mapped_column(BigInteger)
    first_line: Mapped[int] = mapped_column(Integer)
    first_chunk: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="free", index=True)
    taken_by: Mapped[str | None] = mapped_column(String(32), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # a retry's wait
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the piece's journal
