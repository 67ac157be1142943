"""Encrypted blobs (uploads, result files, rollback snapshots) stored as chunks with an expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import db
from backend.models.base import TenantOwned, UTCDateTime

BLOB_KINDS = ("upload", "result", "rollback", "export")


class Blob(TenantOwned, db.Model):
    __tablename__ = "blobs"

    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(128), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class BlobChunk(db.Model):
    __tablename__ = "blob_chunks"

    blob_id: Mapped[str] = mapped_column(String(32), ForeignKey("blobs.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
