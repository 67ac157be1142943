"""Uploads go straight into the encrypted blob store: no plaintext temporary file, ever, and nothing kept
of an upload that is refused (wrong kind of file: 400) or cut off (over the size limit: 413).

An upload endpoint calls `accept_uploads(create, judge)` before it touches `request.files`. Each multipart
file part is then held in memory until its first bytes (`SNIFF_BYTES`) are in, `judge` sees them, and only
if it finds nothing to refuse is a blob created and written. Any error answer (4xx/5xx) of the request
deletes the blobs it created, so a body cut off by the size limit leaves no chunks behind.
"""

from __future__ import annotations

import hmac
import io
import logging
from collections.abc import Callable

from flask import Blueprint, Request, Response, abort, current_app, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from backend.extensions import db
from backend.models import Account
from backend.models.storage import Blob
from backend.pipeline.sources.sniff import SNIFF_BYTES
from backend.services import get_blob_store, get_settings
from backend.storage.blobs import BlobWriter, expiry_for

bp = Blueprint("uploads", __name__)
log = logging.getLogger(__name__)

Create = Callable[[str, str], BlobWriter]  # (file name, content type) -> a new blob
Judge = Callable[[str, bytes, bool], str | None]  # (file name, first bytes, whole file?) -> refusal
_ACCEPT = "inflow.upload_accept"  # on request.environ, not `g`: tests share one app context across requests
_WRITERS = "inflow.upload_writers"


class UploadRefused(BadRequest):
    """The file is not what it was uploaded as; the description tells the user what to upload instead."""


def accept_uploads(create: Create, judge: Judge | None = None) -> None:
    """Let this request's multipart file parts stream into blobs from `create`, each after `judge` has
    seen its first bytes and found nothing to refuse (then 400 and nothing stored)."""
    request.environ[_ACCEPT] = (create, judge)


class InflowRequest(Request):
    """Replaces Werkzeug's stream factory, which spools parts over 500 KiB to plaintext temp files."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        accept = self.environ.get(_ACCEPT)
        if accept is None:
            abort(400, description="files can only be uploaded to an upload endpoint")
        return HeldUpload(*accept, filename or "upload", content_type or "application/octet-stream",
                          self.environ.setdefault(_WRITERS, []))


class HeldUpload(io.RawIOBase):
    """One multipart file part: its first bytes wait in memory to be judged; then a BlobWriter takes over."""

    def __init__(self, create: Create, judge: Judge | None, filename: str, content_type: str,
                 created: list[BlobWriter]):
        super().__init__()
        self._create, self._judge, self._created = create, judge, created
        self.filename, self.content_type = filename, content_type
        self._head = bytearray()
        self._writer: BlobWriter | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self._writer is not None:
            return self._writer.write(data)
        self._head += data
        if len(self._head) >= SNIFF_BYTES:
            self._open(complete=False)
        return len(data)

    def _open(self, complete: bool) -> BlobWriter:
        head = bytes(self._head)
        refusal = self._judge(self.filename, head, complete) if self._judge else None
        if refusal:
            raise UploadRefused(description=refusal)
        self._writer = self._create(self.filename, self.content_type)
        self._created.append(self._writer)
        self._writer.write(head)
        self._head.clear()
        return self._writer

    def finish(self) -> Blob:
        return (self._writer or self._open(complete=True)).finish()

    def seek(self, offset: int, whence: int = 0) -> int:  # Werkzeug rewinds a part once it is complete
        return (self._writer or self._open(complete=True)).seek(offset, whence)

    def readable(self) -> bool:
        return self._writer is not None and self._writer.readable()

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._writer is None:
            raise io.UnsupportedOperation("the upload has not been stored yet")
        return self._writer.readinto(buffer)


@bp.after_app_request
def discard_failed_uploads(response: Response) -> Response:
    """A request that answers with an error keeps none of the files it streamed in."""
    if response.status_code >= 400:
        for writer in request.environ.pop(_WRITERS, []):
            try:
                writer.discard()
            except SQLAlchemyError:  # the database is away (that may be the error): expiry purges it in 1 h
                log.warning("could not discard upload %s; it expires within the hour", writer.blob_id)
    return response


@bp.app_errorhandler(UploadRefused)
def upload_refused(error: UploadRefused) -> tuple[Response, int]:
    return jsonify(error="upload_refused", message=error.description), 400


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[Response | str, int]:
    limit = _size(current_app.config["MAX_CONTENT_LENGTH"])
    message = (f"The file is larger than Inflow accepts in one upload ({limit}). Split it into smaller "
               "files, or import it from a connection (database, SFTP, storage bucket) instead.")
    if request.path.startswith("/api/"):
        return jsonify(error="too_large", message=message), 413
    return render_template("canvas/error.html", title="File too large", message=message), 413


def _size(count: int) -> str:
    for unit, factor in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if count >= factor:
            return f"{count / factor:g} {unit}"
    return f"{count} bytes"


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

    def create(filename: str, content_type: str) -> BlobWriter:
        return store.create(account.id, "upload", name=filename, content_type=content_type,
                            expires_at=expiry_for("upload", account.retention_days))

    accept_uploads(create)
    files = request.files.getlist("file")
    if not files:
        abort(400, description="send the file as multipart form field 'file'")
    blobs = [f.stream.finish() for f in files]
    return jsonify([{"id": b.id, "name": b.name, "size": b.size, "expires_at": b.expires_at.isoformat()}
                    for b in blobs]), 201
