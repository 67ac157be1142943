"""Encrypted blob store with expiry: uploads, result files and rollback snapshots."""

from backend.storage.blobs import BlobReader, BlobStore, BlobWriter, expiry_for

__all__ = ["BlobReader", "BlobStore", "BlobWriter", "expiry_for"]
