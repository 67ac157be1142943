"""Data rights: an admin downloads all of the account's data, or deletes the account for good.

Export: one JSON file per table holding the account's rows, plus the files (decrypted) that have not
expired. Secrets are NOT exported: OAuth tokens and connection credentials are marked instead, and
password and token hashes are left out. A zip that sits in a Downloads folder must not be a key to the
customer's Salesforce orgs or databases; a reconnect takes a minute, a leaked refresh token lasts for years.

Deletion needs a fresh proof of identity (reauth.py), cancels the Stripe subscription first (refused while
Stripe cannot be reached), revokes the org tokens and the Dropbox / Google Sheets grants, and erases every row and blob;
the audit events stay, pseudonymous and without personal data (models/audit.py `pseudonymize`).
"""

from __future__ import annotations

import functools
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from sqlalchemy import Table, delete, select

from backend.billing.stripe_api import BillingUnavailable, cancel_subscription
from backend.connectors import stored as connections
from backend.extensions import db
from backend.models import AuditEvent, Blob, BlobChunk, OrgConnection, User
from backend.models.audit import pseudonymize, record
from backend.models.base import utcnow
from backend.salesforce.identity import forget_org
from backend.security import egress, sessions
from backend.security.crypto import DecryptionError
from backend.security.pseudonyms import pseudonym, pseudonym_key
from backend.services import get_blob_store, get_keyring, get_redis, get_settings
from backend.web import reauth
from backend.web.auth import audit
from backend.web.authn import admin_required, current_identity

bp = Blueprint("privacy", __name__)

REAUTH_TEXT = {
    "password": "Enter your password to confirm.",  # pragma: allowlist secret
    "salesforce": "Confirm it is you with Salesforce first, then delete within five minutes.",
    "none": "This user cannot confirm who they are; ask another admin to delete the account.",
}
SECRET_MARK = "[not exported: secret; reconnect after importing elsewhere]"
HASH_COLUMNS = frozenset({"password_hash", "token_hash"})


def tenant_tables() -> list[Table]:
    """Every table whose rows belong to an account (new tables are covered without changes here)."""
    return [t for t in db.metadata.sorted_tables if "account_id" in t.c]


def _secret_columns(table: Table) -> set[str]:
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is table:
            return set(getattr(mapper.class_, "__secret_columns__", ()))
    return set()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def table_rows(table: Table, account_id: str) -> list[dict[str, Any]]:
    secrets_ = _secret_columns(table)
    rows = []
    for row in db.session.execute(select(table).where(table.c.account_id == account_id)).mappings():
        item = {k: _jsonable(v) for k, v in row.items() if k not in HASH_COLUMNS}
        for column in secrets_:
            if item.get(column) is not None:
                item[column] = SECRET_MARK
        rows.append(item)
    return rows


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream: zipfile writes into it, the response drains it as it goes."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _file_name(blob: Blob) -> str:
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", (blob.name or "file").rsplit("/", 1)[-1]).strip(". ") or "file"
    return f"files/{blob.id}/{name[:120]}"


def export_zip(account_id: str) -> Iterator[bytes]:
    """The account's data as a zip, streamed: files go through chunk by chunk, never whole in memory."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", "Inflow export. One JSON file per table; files/ holds uploads and "
                         "results that had not expired. Tokens and credentials are not included.\n")
        accounts = db.metadata.tables["accounts"]
        account = db.session.execute(select(accounts).where(accounts.c.id == account_id)).mappings().one()
        archive.writestr("account.json", json.dumps({k: _jsonable(v) for k, v in account.items()}, indent=1))
        for table in tenant_tables():
            rows = table_rows(table, account_id)
            archive.writestr(f"{table.name}.json", json.dumps(rows, indent=1, sort_keys=True))
            yield pipe.drain()
        yield from _export_files(archive, pipe, account_id)
    yield pipe.drain()


def _export_files(archive: zipfile.ZipFile, pipe: _Pipe, account_id: str) -> Iterator[bytes]:
    store = get_blob_store()
    blobs = db.session.scalars(select(Blob).where(
        Blob.account_id == account_id, Blob.complete.is_(True), Blob.expires_at > utcnow())).all()
    for blob in blobs:
        with archive.open(_file_name(blob), "w") as target:
            for chunk in store.iter_chunks(blob):
                target.write(chunk)
                yield pipe.drain()


@bp.post("/settings/export")
@admin_required
def export():
    identity = current_identity()
    audit("data.exported", identity.user)
    db.session.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(export_zip(identity.account.id)), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="inflow-export-{stamp}.zip"', "Cache-Control": "no-store"})


def revoke_org_tokens(account_id: str) -> tuple[int, int]:
    """Revoke every stored Salesforce token at Salesforce; returns (revoked, failed)."""
    revoked = failed = 0
    session = egress.safe_session()
    for org in db.session.scalars(select(OrgConnection).where(OrgConnection.account_id == account_id)):
        forget_org(get_redis(), org.org_id)
        base = (org.login_url or org.instance_url).rstrip("/")
        for column in ("refresh_token", "access_token"):  # a refresh token's revocation ends its access tokens
            try:
                token = org.get_secret(column)
            except DecryptionError:
                failed += 1
                continue
            if token is None:
                continue
            if _revoke(session, base, token):
                revoked += 1
            else:
                failed += 1
    return revoked, failed


def _revoke(session, base_url: str, token: str) -> bool:
    try:
        response = session.post(f"{base_url}/services/oauth2/revoke", data={"token": token}, timeout=30)
    except (egress.EgressBlocked, OSError):
        return False
    if response.status_code == 200:
        return True
    # Already revoked or expired there: the goal (a dead token) holds.
    return response.status_code == 400 and "invalid_token" in response.text


def erase_account(account_id: str) -> int:
    """Delete every row of the account (children first) and every blob chunk, except its audit events
    (pseudonymized first, see _erase_keeping_history); returns rows deleted."""
    deleted = 0
    blob_ids = select(Blob.id).where(Blob.account_id == account_id)
    deleted += db.session.execute(delete(BlobChunk).where(BlobChunk.blob_id.in_(blob_ids))).rowcount
    for table in reversed(tenant_tables()):
        if table.name == AuditEvent.__tablename__:
            continue
        deleted += db.session.execute(delete(table).where(table.c.account_id == account_id)).rowcount
    accounts = db.metadata.tables["accounts"]
    deleted += db.session.execute(delete(accounts).where(accounts.c.id == account_id)).rowcount
    return deleted


def _erase_keeping_history(account_id: str, admin_id: str, user_ids: list[str], **counts: int) -> None:
    """Erase the account; its audit events stay under pseudonyms, without addresses, names or content
    (checklist 26: who, what and when), and the deletion itself joins them."""
    kid, key = pseudonym_key(get_keyring())
    alias = functools.partial(pseudonym, key)
    kept = pseudonymize(account_id, user_ids, alias)
    db.session.flush()
    db.session.expunge_all()
    rows = erase_account(account_id)
    record("account.deleted", account_id=alias(account_id), user_id=alias(admin_id), target=alias(account_id),
           users=len(user_ids), rows=rows, events_kept=kept, pseudonym_key=kid, **counts)


@bp.post("/settings/delete-account")
@admin_required
def delete_account():
    identity = current_identity()
    account, admin = identity.account, identity.user
    from backend.web.settings_pages import settings_page

    # Re-authenticate: a hijacked session alone must not be enough to erase everything.
    refused = reauth.refusal(identity, html=lambda: settings_page(403, delete_error=REAUTH_TEXT[
        reauth.methods(admin)[0] if reauth.methods(admin) else "none"]))
    if refused is not None:
        return refused
    if request.form.get("confirm", "").strip().casefold() != account.company.strip().casefold():
        return settings_page(400, delete_error="Type the company name to confirm.")
    try:  # first: an erased account must not go on being charged
        cancelled = cancel_subscription(account.id)
    except BillingUnavailable as err:
        return settings_page(503, delete_error=f"{err} Nothing was deleted.")
    revoked, failed = revoke_org_tokens(account.id)
    grants, grant_failures = connections.revoke_all(identity.scope, allow_loopback=get_settings().egress_allow_loopback)
    revoked, failed = revoked + grants, failed + grant_failures  # Dropbox / Google Sheets grants too
    user_ids = [u.id for u in identity.scope.all(User)]
    for user_id in user_ids:
        sessions.destroy_all_for_user(get_redis(), user_id)
    _erase_keeping_history(account.id, admin.id, user_ids, tokens_revoked=revoked, revocation_failures=failed,
                           subscription_cancelled=int(cancelled))
    db.session.commit()
    response = Response(render_template("settings/deleted.html"), 200)
    sessions.clear_cookie(response)
    return response
