"""Dropbox (API v2 over OAuth 2.0): a file store like S3 and SFTP, CSV and Excel through `files.py`; exports
write files through `dropbox_upload.py`.

`dropbox:///folder?refresh_token=...`; the app's client id and secret and the API hosts are settings
(INFLOW_DROPBOX_*). Not the official `dropbox` SDK: it builds its own requests session, which cannot be
the egress guard's pinned one, so the few endpoints used are called directly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

from backend.connectors.base import ConnectorError, Entry, register
from backend.connectors.dropbox_upload import DropboxUpload
from backend.connectors.files import MAX_FILE_BYTES, FileStore
from backend.connectors.oauth import OAuthConnector, guarded
from backend.connectors.uploads import Upload
from backend.settings import Settings
from backend.streams import IterStream

LABEL = "Dropbox"


@register
class DropboxConnector(OAuthConnector, FileStore):
    takes_files = True
    type, label, schemes = "dropbox", LABEL, ("dropbox",)
    settings_keys: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "auth_url", "token_url", "api_url",
                                                "content_url")
    authorize_extra: ClassVar[dict[str, str]] = {"token_access_type": "offline"}  # a refresh token

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        parts = urlsplit(url.strip())
        opts = dict(parse_qsl(parts.query))
        folder = unquote((parts.netloc + parts.path).strip("/"))
        return {"path": folder, "refresh_token": opts.get("refresh_token", "")}

    @classmethod
    def from_settings(cls, settings: Settings) -> dict[str, Any]:
        return {"client_id": settings.dropbox_client_id, "client_secret": settings.dropbox_client_secret,
                "auth_url": settings.dropbox_auth_url, "token_url": settings.dropbox_token_url,
                "api_url": settings.dropbox_api_url.rstrip("/"),
                "content_url": settings.dropbox_content_url.rstrip("/")}

    def rpc(self, endpoint: str, args: dict[str, Any] | None, what: str) -> dict[str, Any]:
        body = {"data": json.dumps(args), "headers": {"Content-Type": "application/json"}} if args is not None else {}
        response = self.call("POST", f"{self.params['api_url']}/2/{endpoint}", **body)
        if response.status_code != 200:
            raise _error(response, what)
        return response.json() if args is not None else {}

    def test(self) -> str:
        entries = self.browse("")
        return f"Connected to Dropbox ({len(entries)} item(s) in /{self.root()})."

    def browse(self, path: str = "") -> list[Entry]:
        folder = self.full(path) if path else self.root()
        page = self.rpc("files/list_folder", {"path": f"/{folder}" if folder else ""}, folder or "/")
        entries = [_entry(e) for e in page["entries"]]
        while page.get("has_more"):
            page = self.rpc("files/list_folder/continue", {"cursor": page["cursor"]}, folder or "/")
            entries += [_entry(e) for e in page["entries"]]
        return [e for e in entries if e is not None]

    def open_file(self, path: str) -> BinaryIO:
        # Dropbox-API-Arg is a header: JSON with non-ASCII escaped (json.dumps' default), as Dropbox asks.
        response = self.call("POST", f"{self.params['content_url']}/2/files/download", stream=True,
                             headers={"Dropbox-API-Arg": json.dumps({"path": f"/{path}"})})
        if response.status_code != 200:
            error = _error(response, path)  # reads the (small) error body before the connection goes
            response.close()
            raise error
        return io.BufferedReader(IterStream(self._blocks(response, path)))

    def _blocks(self, response: requests.Response, path: str) -> Iterator[bytes]:
        seen = 0
        try:
            with guarded(LABEL, self.params):
                for block in response.iter_content(1 << 16):
                    seen += len(block)
                    if seen > MAX_FILE_BYTES:
                        raise ConnectorError("read", f"{path} is larger than {MAX_FILE_BYTES // 1024 ** 2} MB, "
                                                     "the limit for one import.")
                    yield block
        finally:
            response.close()

    def move(self, path: str, folder: str) -> str:
        target = f"{folder}/{path.rsplit('/', 1)[-1]}" if folder else path.rsplit("/", 1)[-1]
        self.rpc("files/move_v2", {"from_path": f"/{path}", "to_path": f"/{target}", "autorename": False}, path)
        return target

    def upload(self, path: str) -> Upload:
        full = self.full(path)
        return DropboxUpload(lambda endpoint, arg, body: self.send(endpoint, arg, body, full), full)

    def send(self, endpoint: str, arg: dict[str, Any], body: bytes, what: str) -> dict[str, Any]:
        """A content-upload call (files/upload, files/upload_session/...): the bytes as the body, the arguments in
        the Dropbox-API-Arg header (JSON, non-ASCII escaped as Dropbox asks)."""
        response = self.call("POST", f"{self.params['content_url']}/2/files/{endpoint}", data=body,
                             headers={"Dropbox-API-Arg": json.dumps(arg), "Content-Type": "application/octet-stream"})
        try:
            if response.status_code == 409 and endpoint.startswith("upload_session/") \
                    and not response.json().get("error_summary", "").startswith("path/"):
                # not_found, incorrect_offset, closed: the session is lost, not the file's folder
                raise ConnectorError("read", f"Dropbox: the upload of {what} broke off "
                                             f"({response.json()['error_summary'].rstrip('./')}); export again.")
            if response.status_code != 200:
                raise _error(response, what, doing="write")
            return response.json() or {}
        except ValueError:
            raise ConnectorError("read", f"Dropbox: an unreadable answer to files/{endpoint}.") from None
        finally:
            response.close()

    def revoke(self) -> None:
        self.rpc("auth/token/revoke", None, "the token")


def _entry(meta: dict[str, Any]) -> Entry | None:
    path = meta["path_display"].strip("/")
    if meta[".tag"] == "folder":
        return Entry(meta["name"], "folder", path)
    if meta[".tag"] == "file":
        return Entry(meta["name"], "file", path, meta.get("size"), meta.get("server_modified"))
    return None  # "deleted" entries appear only in listings that ask for them


def _error(response: requests.Response, what: str, doing: str = "read") -> ConnectorError:
    """Dropbox's error: 401 bad token, 409 with an `error_summary` such as path/not_found/.., 403 app access."""
    try:
        summary = str(response.json().get("error_summary") or "")
    except ValueError:
        summary = response.text[:200]
    words = summary.rstrip("./") or f"HTTP {response.status_code}"
    if response.status_code == 401:
        return ConnectorError("auth", f"Dropbox refused the access token ({words}); connect again.")
    if response.status_code == 403 or any(w in summary for w in ("restricted_content", "no_permission",
                                                                  "no_write_permission")):
        return ConnectorError("permission", f"Dropbox: no permission to {doing} {what} ({words}).")
    if "not_found" in summary:
        return ConnectorError("missing", f"Dropbox: {what} does not exist.")
    return ConnectorError("read", f"Dropbox: {words}")
