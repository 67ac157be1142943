"""Google Sheets (API v4 over OAuth 2.0): a sheet or an A1 range as rows, the first row the header.

`gsheets://SPREADSHEET_ID?refresh_token=...`; client id, secret and URLs are settings (INFLOW_GOOGLE_*).
A spec names the sheet or range as `path` (or `table`), and may name another `spreadsheet_id` the same
Google account can read. Values come as Sheets shows them (FORMATTED_VALUE), held in memory as one response.
Not google-api-python-client: it talks through httplib2, which cannot use the egress guard's pinned session.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from backend.connectors.base import ConnectorError, Entry, register
from backend.connectors.oauth import OAuthConnector, guarded
from backend.connectors.rows import RowSource
from backend.pipeline.sources import Source
from backend.settings import Settings

LABEL = "Google Sheets"
SCOPE = "https://www.googleapis.com/auth/spreadsheets.readonly"


@register
class SheetsConnector(OAuthConnector):
    type, label, schemes, kind = "gsheets", LABEL, ("gsheets",), "files"
    settings_keys: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "auth_url", "token_url", "revoke_url",
                                                "sheets_url")
    scope: ClassVar[str | None] = SCOPE
    # offline + consent: Google hands a refresh token only then
    authorize_extra: ClassVar[dict[str, str]] = {"access_type": "offline", "prompt": "consent"}

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        parts = urlsplit(url.strip())
        if not parts.netloc:
            raise ConnectorError("config", "The URL names no spreadsheet: gsheets://SPREADSHEET_ID?refresh_token=...")
        return {"spreadsheet_id": parts.netloc, "refresh_token": dict(parse_qsl(parts.query)).get("refresh_token", "")}

    @classmethod
    def from_settings(cls, settings: Settings) -> dict[str, Any]:
        return {"client_id": settings.google_client_id, "client_secret": settings.google_client_secret,
                "auth_url": settings.google_auth_url, "token_url": settings.google_token_url,
                "revoke_url": settings.google_revoke_url, "sheets_url": settings.google_sheets_url.rstrip("/")}

    def _get(self, spreadsheet: str, suffix: str, what: str, **query: str) -> dict[str, Any]:
        if not spreadsheet:
            raise ConnectorError("config", "Give the spreadsheet's id (from its URL: /spreadsheets/d/<id>/).")
        url = f"{self.params['sheets_url']}/v4/spreadsheets/{quote(spreadsheet, safe='')}{suffix}"
        response = self.call("GET", url, params=query)
        if response.status_code != 200:
            raise _error(response, what)
        return response.json()

    def test(self) -> str:
        book = self._get(self.params.get("spreadsheet_id", ""), "", "the spreadsheet",
                         fields="properties.title,sheets.properties")
        title, count = book["properties"]["title"], len(book["sheets"])
        return f"Connected to Google Sheets spreadsheet {title!r} ({count} sheet(s))."

    def browse(self, path: str = "") -> list[Entry]:
        book = self._get(path or self.params.get("spreadsheet_id", ""), "", "the spreadsheet",
                         fields="sheets.properties")
        return [Entry(s["properties"]["title"], "table", s["properties"]["title"]) for s in book["sheets"]]

    def source(self, spec: dict[str, Any]) -> Source:
        wanted = (spec.get("path") or spec.get("table") or "").strip()
        if not wanted:
            raise ConnectorError("config", "Give a sheet name or an A1 range such as Sheet1!A1:F.")
        spreadsheet = spec.get("spreadsheet_id") or self.params.get("spreadsheet_id", "")
        data = self._get(spreadsheet, f"/values/{quote(wanted, safe='')}", repr(wanted), majorDimension="ROWS",
                         valueRenderOption="FORMATTED_VALUE")
        values = data.get("values") or []
        if not values:
            raise ConnectorError("missing", f"{wanted!r} is empty: the first row must name the columns.")
        header = [str(v) for v in values[0]]
        width = len(header)
        # Sheets leaves out trailing empty cells (and rows): pad every row to the header's width.
        rows = [[str(v) for v in r[:width]] + [""] * (width - len(r)) for r in values[1:]]
        source = RowSource(header, lambda: iter(rows))
        source.label = LABEL
        return source

    def revoke(self) -> None:
        token = self.params.get("refresh_token")  # revoking the refresh token ends the whole grant
        with guarded(LABEL, self.params):
            response = self.http().post(self.params["revoke_url"], data={"token": token}, withhold_token=True)
        if response.status_code != 200:
            raise _error(response, "the token")


def _error(response: requests.Response, what: str) -> ConnectorError:
    """Google's JSON error {"error": {"code", "message", "status"}}; the message is safe to show."""
    try:
        error = response.json().get("error") or {}
        words = error.get("message") or error.get("status") if isinstance(error, dict) else str(error)
    except ValueError:
        words = None
    words = words or f"HTTP {response.status_code}"
    if response.status_code == 401:
        return ConnectorError("auth", f"Google refused the access token ({words}); connect again.")
    if response.status_code == 403:
        return ConnectorError("permission", f"Google Sheets: no permission to read {what} ({words}).")
    if response.status_code == 404 or "Unable to parse range" in words:
        return ConnectorError("missing", f"Google Sheets: {what} does not exist ({words}).")
    return ConnectorError("read", f"Google Sheets: {words}")
