"""Dropbox and Google stand-ins over real HTTPS (localorg's certificate) on a free loopback port.

They implement the documented endpoints with the documented shapes: OAuth 2.0 authorize (consent given at
once, as if the user clicked Allow), token (authorization_code with PKCE S256, refresh_token), revoke;
Dropbox API v2 files/list_folder (+continue, two entries a page), files/download (Dropbox-API-Arg in,
Dropbox-API-Result out), files/upload and files/upload_session/start, /append_v2, /finish (a file shows
at its path only when uploaded or finished; offsets checked, `incorrect_offset` with the correct one),
files/move_v2, auth/token/revoke; Sheets API v4 spreadsheets.get and
spreadsheets.values.get. Errors as the providers send them (Dropbox `error_summary`, Google `error.status`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from werkzeug.wrappers import Request, Response

from tests.connectors.filestores import people_csv
from tests.connectors.servers import COLUMNS, EXPECTED

CLIENTS = {"dropbox": ("dbx-app-key", "dbx-app-secret"),  # pragma: allowlist secret
           "google": ("goog-client.apps.googleusercontent.com", "goog-client-secret")}  # pragma: allowlist secret
SPREADSHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"  # Google's sample sheet id # pragma: allowlist secret
FORBIDDEN_SPREADSHEET = "someone-elses-sheet"
PAGE = 2  # entries per list_folder page, so that listings need files/list_folder/continue


def dropbox_files() -> dict[str, tuple[bytes, str]]:
    """path -> (bytes, server_modified): the same drop folder the other file-store kits serve."""
    return {"/exports/people-old.csv": (b"id,name\n9,Old\n", "2020-09-13T12:26:40Z"),
            "/exports/people.csv": (people_csv(), "2024-06-01T09:00:00Z"),
            "/exports/readme.txt": (b"not data", "2024-06-01T09:00:00Z"),
            "/private/secret.csv": (b"a,b\n1,2\n", "2024-06-01T09:00:00Z"),
            "/batches/batch-1.csv": (b"LastName,Email\nLee,lee@example.com\n", "2024-06-02T09:00:00Z"),
            "/batches/batch-2.csv": (b"LastName,Email\nKim,kim@example.com\nPark,park@example.com\n",
                                     "2024-06-02T09:00:00Z"),
            "/batches/done/.keep": (b"", "2024-06-02T09:00:00Z")}


def sheet_values() -> list[list[str]]:
    """The people sheet as values.get answers: trailing empty cells left out, as Sheets does."""
    rows = [list(COLUMNS)]
    for row in EXPECTED:
        values = list(row.values())
        while values and values[-1] == "":
            values.pop()
        rows.append(values)
    return rows


@dataclass
class Standins:
    """The providers' state, visible to tests: grants, tokens, revocations, and every call made."""

    url: str = ""
    codes: dict[str, dict] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> provider
    access: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # token -> (provider, refresh, expiry)
    revoked: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dropbox_files)
    sessions: dict[str, bytearray] = field(default_factory=dict)  # upload session id -> bytes received
    lock: threading.Lock = field(default_factory=threading.Lock)

    def grant(self, provider: str) -> str:
        """A refresh token as if the user had connected (what `connections add ...?refresh_token=` takes)."""
        token = f"{provider}-refresh-{secrets.token_urlsafe(12)}"
        self.refresh[token] = provider
        return token

    def params(self, provider: str, refresh_token: str | None = None) -> dict:
        """A connector's settings params pointing here, and a fresh grant."""
        client_id, client_secret = CLIENTS[provider]
        base = {"client_id": client_id, "client_secret": client_secret,
                "refresh_token": refresh_token or self.grant(provider)}
        if provider == "dropbox":
            return {**base, "auth_url": f"{self.url}/oauth2/authorize", "token_url": f"{self.url}/oauth2/token",
                    "api_url": self.url, "content_url": self.url, "path": ""}
        return {**base, "auth_url": f"{self.url}/o/oauth2/v2/auth", "token_url": f"{self.url}/token",
                "revoke_url": f"{self.url}/revoke", "sheets_url": self.url, "spreadsheet_id": SPREADSHEET}

    def settings(self) -> dict:
        """App settings (Settings field names) pointing both providers here."""
        d, g = self.params("dropbox", "-"), self.params("google", "-")
        return {"dropbox_client_id": d["client_id"], "dropbox_client_secret": d["client_secret"],
                "dropbox_auth_url": d["auth_url"], "dropbox_token_url": d["token_url"],
                "dropbox_api_url": d["api_url"], "dropbox_content_url": d["content_url"],
                "google_client_id": g["client_id"], "google_client_secret": g["client_secret"],
                "google_auth_url": g["auth_url"], "google_token_url": g["token_url"],
                "google_revoke_url": g["revoke_url"], "google_sheets_url": g["sheets_url"]}

    # --- WSGI -------------------------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response) -> Iterator[bytes]:
        request = Request(environ)
        with self.lock:
            self.calls.append(f"{request.method} {request.path}")
            response = self.route(request)
        return response(environ, start_response)

    def route(self, request: Request) -> Response:
        path = request.path
        if path in ("/oauth2/authorize", "/o/oauth2/v2/auth"):
            return self.authorize(request, "dropbox" if path == "/oauth2/authorize" else "google")
        if path in ("/oauth2/token", "/token"):
            return self.token(request, "dropbox" if path == "/oauth2/token" else "google")
        if path == "/revoke":
            return self.google_revoke(request)
        if path.startswith("/2/"):
            return self.dropbox(request, path[3:])
        if path.startswith("/v4/spreadsheets/"):
            return self.sheets(request, path[len("/v4/spreadsheets/"):])
        return _json({"error": "not found"}, 404)

    def authorize(self, request: Request, provider: str) -> Response:
        args = request.args
        if args.get("client_id") != CLIENTS[provider][0] or args.get("code_challenge_method") != "S256" \
                or not args.get("code_challenge") or args.get("response_type") != "code":
            return Response("invalid authorization request", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"provider": provider, "redirect_uri": args["redirect_uri"],
                            "challenge": args["code_challenge"], "args": dict(args)}
        location = f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args.get('state', '')})}"
        return Response("", 302, {"Location": location})

    def _client_ok(self, request: Request, provider: str) -> bool:
        client_id, client_secret = CLIENTS[provider]
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            given = base64.b64decode(auth[6:]).decode()
            return given == f"{client_id}:{client_secret}"
        return (request.form.get("client_id"), request.form.get("client_secret")) == (client_id, client_secret)

    def token(self, request: Request, provider: str) -> Response:
        if not self._client_ok(request, provider):
            return _json({"error": "invalid_client", "error_description": "Invalid client credentials"}, 401)
        form = request.form
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or grant["provider"] != provider or grant["challenge"] != challenge \
                    or grant["redirect_uri"] != form.get("redirect_uri"):
                return _json({"error": "invalid_grant", "error_description": "code doesn't exist or has expired"},
                             400)
            refresh = self.grant(provider)
            body = {**self._access(provider, refresh), "refresh_token": refresh}
            if provider == "dropbox":
                body.update(uid="12345", account_id="dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc")
            return _json(body)
        if form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if self.refresh.get(refresh) != provider:
                words = "refresh token is invalid or revoked" if provider == "dropbox" \
                    else "Token has been expired or revoked."
                return _json({"error": "invalid_grant", "error_description": words}, 400)
            return _json(self._access(provider, refresh))  # neither provider sends a new refresh token
        return _json({"error": "unsupported_grant_type"}, 400)

    def _access(self, provider: str, refresh: str) -> dict:
        token = ("sl." if provider == "dropbox" else "ya29.") + secrets.token_urlsafe(24)
        expires_in = 14400 if provider == "dropbox" else 3599
        self.access[token] = (provider, refresh, time.time() + expires_in)
        scope = "files.content.read files.metadata.read" if provider == "dropbox" \
            else "https://www.googleapis.com/auth/spreadsheets.readonly"
        return {"access_token": token, "token_type": "bearer" if provider == "dropbox" else "Bearer",
                "expires_in": expires_in, "scope": scope}

    def _bearer(self, request: Request, provider: str) -> str | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        found = self.access.get(token)
        if found is None or found[0] != provider or found[2] < time.time() or found[1] not in self.refresh:
            return None
        return token

    def _end_grant(self, refresh: str) -> None:
        self.refresh.pop(refresh, None)
        self.revoked.append(refresh)
        for token in [t for t, a in self.access.items() if a[1] == refresh]:
            del self.access[token]

    # --- Dropbox API v2 -------------------------------------------------------------------------------
    def dropbox(self, request: Request, endpoint: str) -> Response:
        token = self._bearer(request, "dropbox")
        if token is None:
            return _json({"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}, 401)
        if endpoint == "auth/token/revoke":
            self._end_grant(self.access[token][1])
            return Response("null", 200, content_type="application/json")
        if endpoint == "files/download":
            return self.download(json.loads(request.headers["Dropbox-API-Arg"])["path"])
        if endpoint == "files/upload" or endpoint.startswith("files/upload_session/"):
            if request.content_type != "application/octet-stream":
                return Response(f"Error in call to API function \"{endpoint}\": Bad HTTP \"Content-Type\" header: "
                                f"\"{request.content_type}\".", 400, content_type="text/plain")
            return self.upload(endpoint, json.loads(request.headers["Dropbox-API-Arg"]), request.get_data())
        args = request.get_json()
        if endpoint == "files/list_folder":
            return self.list_folder(args["path"], 0)
        if endpoint == "files/list_folder/continue":
            folder, start = json.loads(base64.b64decode(args["cursor"]))
            return self.list_folder(folder, start)
        if endpoint == "files/move_v2":
            source, target = args["from_path"], args["to_path"]
            if source not in self.files:
                return _dropbox_path_error("from_lookup/not_found", "not_found")
            self.files[target] = self.files.pop(source)
            return _json({"metadata": self._file_meta(target)})
        return _json({"error_summary": "unknown endpoint"}, 400)

    def _file_meta(self, path: str) -> dict:
        data, modified = self.files[path]
        return {".tag": "file", "name": path.rsplit("/", 1)[-1], "path_lower": path.lower(), "path_display": path,
                "id": "id:" + hashlib.sha1(path.encode()).hexdigest()[:22], "client_modified": modified,
                "server_modified": modified, "rev": "015f" + hashlib.sha1(data).hexdigest()[:12], "size": len(data),
                "is_downloadable": True, "content_hash": hashlib.sha256(data).hexdigest()}

    def list_folder(self, folder: str, start: int) -> Response:
        prefix = folder.rstrip("/") + "/"
        if folder and not any(p.startswith(prefix) for p in self.files):
            return _dropbox_path_error("path/not_found", "not_found")
        entries, folders = [], []
        for path in sorted(self.files):
            if not path.startswith(prefix) or path.endswith("/.keep") and path.count("/") == prefix.count("/"):
                continue
            rest = path[len(prefix):]
            if "/" in rest:
                name = rest.split("/", 1)[0]
                if name not in folders:
                    folders.append(name)
                    entries.append({".tag": "folder", "name": name, "path_lower": (prefix + name).lower(),
                                    "path_display": prefix + name, "id": "id:folder-" + name})
            else:
                entries.append(self._file_meta(path))
        page = entries[start:start + PAGE]
        more = start + PAGE < len(entries)
        cursor = base64.b64encode(json.dumps([folder, start + PAGE]).encode()).decode()
        return _json({"entries": page, "cursor": cursor, "has_more": more})

    def download(self, path: str) -> Response:
        if path.startswith("/private/"):
            return _dropbox_path_error("path/restricted_content/..", "restricted_content")
        if path not in self.files:
            return _dropbox_path_error("path/not_found/..", "not_found")
        meta = json.dumps(self._file_meta(path))
        return Response(self.files[path][0], 200, {"Dropbox-API-Result": meta},
                        content_type="application/octet-stream")

    def upload(self, endpoint: str, arg: dict, data: bytes) -> Response:
        if endpoint == "files/upload":
            return self._write(arg, data, {"upload_session_id": "pid_upload_session:" + secrets.token_hex(8)})
        if endpoint == "files/upload_session/start":
            session_id = "pid_upload_session:" + secrets.token_urlsafe(18)
            self.sessions[session_id] = bytearray(data)
            return _json({"session_id": session_id})
        cursor = arg["cursor"]
        received = self.sessions.get(cursor["session_id"])
        if received is None or cursor["offset"] != len(received):
            error = {".tag": "not_found"} if received is None \
                else {".tag": "incorrect_offset", "correct_offset": len(received)}
            if endpoint == "files/upload_session/finish":  # finish wraps the lookup error
                return _json({"error_summary": f"lookup_failed/{error['.tag']}/..",
                              "error": {".tag": "lookup_failed", "lookup_failed": error}}, 409)
            return _json({"error_summary": f"{error['.tag']}/..", "error": error}, 409)
        received += data
        if endpoint == "files/upload_session/append_v2":
            return Response("null", 200, content_type="application/json")
        if endpoint != "files/upload_session/finish":
            return _json({"error_summary": "unknown endpoint"}, 400)
        answer = self._write(arg["commit"], bytes(received), None)
        if answer.status_code == 200:
            del self.sessions[cursor["session_id"]]
        return answer

    def _write(self, commit: dict, data: bytes, upload_failed: dict | None) -> Response:
        """The file at commit["path"] (mode overwrite), or the WriteError Dropbox gives for a folder not ours."""
        path = commit["path"]
        if path.startswith("/private/") or commit.get("mode", "add") != "overwrite" and path in self.files:
            tag = "no_write_permission" if path.startswith("/private/") else "conflict"
            if upload_failed is None:  # upload_session/finish: UploadSessionFinishError.path
                return _json({"error_summary": f"path/{tag}/..", "error": {".tag": "path", "path": {".tag": tag}}},
                             409)
            return _json({"error_summary": f"path/{tag}/..",  # files/upload: UploadWriteFailed
                          "error": {".tag": "path", "reason": {".tag": tag}, **upload_failed}}, 409)
        self.files[path] = (data, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return _json(self._file_meta(path))

    # --- Google ---------------------------------------------------------------------------------------
    def google_revoke(self, request: Request) -> Response:
        token = request.form.get("token") or request.args.get("token", "")
        refresh = token if token in self.refresh else (self.access.get(token) or (None, None))[1]
        if refresh not in self.refresh:
            return _json({"error": "invalid_token", "error_description": "Token expired or revoked"}, 400)
        self._end_grant(refresh)
        return _json({})

    def sheets(self, request: Request, rest: str) -> Response:
        if self._bearer(request, "google") is None:
            return _google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                      "token, login cookie or other valid authentication credential.",
                                 "UNAUTHENTICATED")
        spreadsheet, _, values_range = rest.partition("/values/")
        if spreadsheet == FORBIDDEN_SPREADSHEET:
            return _google_error(403, "The caller does not have permission", "PERMISSION_DENIED")
        if spreadsheet != SPREADSHEET:
            return _google_error(404, "Requested entity was not found.", "NOT_FOUND")
        if not values_range:
            return _json({"spreadsheetId": SPREADSHEET, "properties": {"title": "People export", "locale": "en_US"},
                          "sheets": [{"properties": {"sheetId": 0, "title": "people", "index": 0, "sheetType": "GRID",
                                                     "gridProperties": {"rowCount": 1000, "columnCount": 26}}},
                                     {"properties": {"sheetId": 7, "title": "Notes", "index": 1, "sheetType": "GRID",
                                                     "gridProperties": {"rowCount": 1000, "columnCount": 26}}}]})
        match = re.fullmatch(r"'?(.+?)'?(?:!([A-Z]+)(\d+)?(?::([A-Z]+)(\d+)?)?)?", values_range)
        if match is None or match.group(1) not in ("people", "Notes"):
            return _google_error(400, f"Unable to parse range: {values_range}", "INVALID_ARGUMENT")
        values = sheet_values() if match.group(1) == "people" else [["note"], ["hello"]]
        return _json({"range": f"{match.group(1)}!A1:Z1000", "majorDimension": "ROWS", "values": values})


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def _dropbox_path_error(summary: str, tag: str) -> Response:
    return _json({"error_summary": summary, "error": {".tag": "path", "path": {".tag": tag}}}, 409)


def _google_error(code: int, message: str, status: str) -> Response:
    return _json({"error": {"code": code, "message": message, "status": status}}, code)


@contextmanager
def standins(cert: Path, key: Path) -> Iterator[Standins]:
    """Both providers on one HTTPS server (their paths do not overlap), in a thread of this process."""
    from werkzeug.serving import make_server

    from sfdx.localorg.tls import server_context
    from tests.servers import stop_server, track_requests

    state = Standins()
    server = make_server("127.0.0.1", 0, state, threaded=True, ssl_context=server_context(cert, key))
    track_requests(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"https://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        stop_server(server, thread)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(url.split("?", 1)[1]).items()}
