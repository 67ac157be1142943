"""Uploads go straight into the encrypted blob store: no plaintext temporary file, ever."""

from __future__ import annotations

import hmac

from flask import Blueprint, Request, abort, g, jsonify, request

from backend.extensions import db
from backend.models import Account
from backend.services import get_blob_store, get_settings
from backend.storage.blobs import BlobWriter, expiry_for

bp = Blueprint("uploads", __name__)


class InflowRequest(Request):
    """Replaces Werkzeug's stream factory, which spools parts over 500 KiB to plaintext temp files."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        target = g.get("upload_target")
        if target is None:
            abort(400, description="files can only be uploaded to an upload endpoint")
        writer = target(filename or "upload", content_type or "application/octet-stream")
        g.setdefault("upload_writers", []).append(writer)
        return writer


def dev_account() -> Account:
    """Until canvas sign-in exists, the development token acts for one local development account."""
    settings = get_settings()
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if settings.is_production or not settings.dev_upload_token or not token:
        abort(401, description="missing or invalid token")
    if not hmac.compare_digest(token, settings.dev_upload_token):
        abort(401, description="missing or invalid token")
    account = db.session.scalars(db.select(Account).where(Account.company == "Development")).first()
    if account is None:
        account = Account(company="Development", region=settings.region)
        db.session.add(account)
        db.session.commit()
    return account


@bp.post("/api/uploads")
def upload():
    account = dev_account()
    store = get_blob_store()

    def target(filename: str, content_type: str) -> BlobWriter:
        return store.create(account.id, "upload", name=filename, content_type=content_type,
                            expires_at=expiry_for("upload", account.retention_days))

    g.upload_target = target
    files = request.files.getlist("file")
    if not files:
        abort(400, description="send the file as multipart form field 'file'")
    blobs = [f.stream.finish() for f in files]
    return jsonify([{"id": b.id, "name": b.name, "size": b.size, "expires_at": b.expires_at.isoformat()}
                    for b in blobs]), 201
