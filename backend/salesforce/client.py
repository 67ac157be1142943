"""SalesforceClient: one org's REST, Composite, Bulk 2.0 and SOAP undelete calls over a requests.Session.

Imports neither Flask nor RQ (the pipeline, the CLI and tests use it directly). A 401 INVALID_SESSION_ID
asks `on_unauthorized()` for a fresh token once and repeats the call; errors become the shared
exception tree (`backend.errors`), with REQUEST_LIMIT_EXCEEDED as `ApiLimitExceeded`.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import requests

from backend.backoff import jittered
from backend.errors import FatalSalesforceError, RetriableSalesforceError, SalesforceError
from backend.salesforce import limits
from backend.salesforce.transport import SharedTlsAdapter

# Salesforce's daily allowance is a rolling 24 h window and it sends no Retry-After: try again in an hour.
LIMIT_RETRY_SECONDS = 3600.0
GET_RETRIES = 3
LIMIT_MESSAGE = ("The Salesforce org has used up its daily API allowance; the import continues when calls are "
                 "available again.")
TIMEOUT = 300


class ApiLimitExceeded(RetriableSalesforceError):
    """REQUEST_LIMIT_EXCEEDED: the org's API allowance is spent; `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: float = LIMIT_RETRY_SECONDS, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class SessionExpired(FatalSalesforceError):
    """401 INVALID_SESSION_ID that a token refresh did not cure (or was not attempted)."""


def _error_parts(resp: requests.Response) -> tuple[str, str]:
    """(errorCode, message) from a REST error body, falling back to the status line."""
    try:
        body = resp.json()
    except ValueError:
        return "", (resp.text or resp.reason or "")[:500]
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else body
    if isinstance(first, dict):
        return str(first.get("errorCode") or first.get("error") or ""), str(
            first.get("message") or first.get("error_description") or "")
    return "", str(body)[:500]


class SalesforceClient:
    """REST client of one org; thread-safe for the sinks' parallel calls (one Session, one token)."""

    def __init__(self, instance_url: str, access_token: str, *, api_version: str = "66.0",
                 on_unauthorized: Callable[[], str] | None = None, ca_bundle: str | None = None,
                 session: requests.Session | None = None, timeout: float = TIMEOUT,
                 user_id: str | None = None) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.access_token = access_token
        self.api_version = api_version
        self.on_unauthorized = on_unauthorized
        self.timeout = timeout
        self.session = session or requests.Session()
        if ca_bundle:
            self.session.verify = ca_bundle
            self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override `verify`
        # One pool per host for the client's life (a whole run), TLS context shared by the process.
        adapter = SharedTlsAdapter(pool_connections=4, pool_maxsize=16)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._token_lock = threading.Lock()
        self._describes: dict[str, dict[str, Any]] = {}
        self.api_usage: tuple[int, int] | None = None
        self._clock: tuple[datetime, float] | None = None  # (a response's Date header, monotonic time it came)
        self._user_id = user_id or None  # known up front for a stored connection (OrgConnection.connected_by)
        # Called before every call that may write (a run's lease check: a worker that lost the run stops here).
        self.before_write: Callable[[], None] | None = None
        # Held around every call: a run's slot of the org's concurrent-call cap (backend/salesforce/call_slots.py).
        self.call_slot: Callable[[], AbstractContextManager[None]] | None = None
        # gzip saves time on a real network; on loopback (localorg) compressing costs more than it saves.
        is_loopback = self.instance_url.split("//", 1)[-1].startswith(("127.", "localhost", "[::1]"))
        self.result_encoding = "identity" if is_loopback else "gzip"

    # ---- plumbing -------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """Absolute URL: `path` is relative to /services/data/vXX.X/ unless it starts with '/'."""
        if path.startswith("http"):
            return path
        if path.startswith("/"):
            return self.instance_url + path
        return f"{self.instance_url}/services/data/v{self.api_version}/{path}"

    def request(self, method: str, path: str, *, ok: Iterable[int] = (200, 201, 204), refresh: bool = True,
                **kw: Any) -> requests.Response:
        """One call; refreshes the token once on 401, retries idempotent GETs on transient failures."""
        attempts = GET_RETRIES if method == "GET" and not callable(kw.get("data")) else 1
        for attempt in range(attempts):
            token = self.access_token
            try:
                resp = self._send(method, path, token, **kw)
                if resp.status_code == 401 and refresh and self._refresh(token):
                    resp = self._send(method, path, self.access_token, **kw)
            except requests.RequestException as err:
                if attempt + 1 < attempts:
                    time.sleep(jittered(0.5 * 2 ** attempt))
                    continue
                raise RetriableSalesforceError("Salesforce could not be reached; try again later.",
                                               detail=f"{method} {path}: {err}") from None
            if resp.status_code >= 500 and attempt + 1 < attempts:
                time.sleep(jittered(0.5 * 2 ** attempt))
                continue
            if resp.status_code in ok:
                return resp
            self._raise(method, path, resp)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, token: str, **kw: Any) -> requests.Response:
        if method != "GET" and self.before_write is not None:
            self.before_write()
        kw = dict(kw)
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        if callable(kw.get("data")):
            kw["data"] = kw["data"]()  # a body factory: a generator can only be sent once
        self._respect_allowance(method, path)
        with self.call_slot() if self.call_slot is not None else nullcontext():
            resp = self.session.request(method, self.url(path), headers=headers, timeout=self.timeout, **kw)
        self.api_usage = limits.parse_usage(resp.headers.get("Sforce-Limit-Info", "")) or self.api_usage
        self._note_clock(resp.headers.get("Date"))
        return resp

    def _respect_allowance(self, method: str, path: str) -> None:
        """Before a call: stop when the last response said the daily allowance is spent, slow down above 90 %."""
        if limits.exhausted(self.api_usage):
            usage, self.api_usage = self.api_usage, None  # the run pauses; when it resumes, ask Salesforce again
            raise ApiLimitExceeded(LIMIT_MESSAGE, retry_after=jittered(LIMIT_RETRY_SECONDS),
                                   detail=f"{method} {path}: not sent, api-usage={usage}")
        wait = limits.delay(self.api_usage)
        if wait:
            time.sleep(wait)

    def _note_clock(self, header: str | None) -> None:
        try:
            self._clock = (parsedate_to_datetime(header), time.monotonic()) if header else self._clock
        except (TypeError, ValueError):
            pass  # a malformed Date header: keep the last good reading

    def server_time(self) -> datetime | None:
        """Salesforce's clock now, never ahead of it: the last Date header (whole seconds, sent before we got
        it) plus the time since. None before the first response."""
        if self._clock is None:
            return None
        seen, at = self._clock
        return seen + timedelta(seconds=time.monotonic() - at)

    def user_id(self) -> str | None:
        """The id of the user this session acts as: the one given to the constructor, else OAuth userinfo's
        answer (a bare access token, as the CLI's --access-token), or None if Salesforce will not say
        (userinfo may refuse a token with only the api and refresh_token scopes)."""
        if self._user_id is None:
            try:
                self._user_id = self.json("GET", "/services/oauth2/userinfo").get("user_id")
            except (SalesforceError, ValueError, AttributeError):
                return None
        return self._user_id

    def _refresh(self, failed_token: str) -> bool:
        """Get a new token after a 401; threads that failed with the same token share one refresh."""
        if self.on_unauthorized is None:
            return False
        with self._token_lock:
            if self.access_token == failed_token:
                self.access_token = self.on_unauthorized()
        return True

    def _raise(self, method: str, path: str, resp: requests.Response) -> None:
        code, message = _error_parts(resp)
        detail = f"{method} {path} -> {resp.status_code} {code}: {message}"
        if code == "REQUEST_LIMIT_EXCEEDED":
            self.api_usage = None  # the run pauses; when it resumes, this client asks Salesforce again
            raise ApiLimitExceeded(LIMIT_MESSAGE, retry_after=jittered(LIMIT_RETRY_SECONDS), detail=detail)
        if resp.status_code == 401:
            raise SessionExpired("Salesforce no longer accepts this connection's session; reconnect "
                                 "the instance.", detail=detail)
        if resp.status_code >= 500:
            raise RetriableSalesforceError(f"Salesforce failed ({resp.status_code}); try again later.",
                                           detail=detail)
        raise FatalSalesforceError(f"Salesforce refused the request: {message or resp.status_code}", detail=detail)

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        return resp.json() if resp.content else None

    def download(self, path: str, **kw: Any) -> tuple[bytearray, Any]:
        """A GET's body and headers, the body read in chunks into one growing buffer: `resp.content` joins a
        list of chunks, twice a large body's size at its peak. A read that breaks off is retried as the
        request would be."""
        for attempt in range(GET_RETRIES):
            resp = self.request("GET", path, stream=True, **kw)
            try:
                body = bytearray()
                for chunk in resp.iter_content(1 << 16):
                    body += chunk
                return body, resp.headers
            except requests.RequestException as err:
                if attempt + 1 == GET_RETRIES:
                    raise RetriableSalesforceError("Salesforce could not be reached; try again later.",
                                                   detail=f"GET {path}: {err}") from None
                time.sleep(jittered(0.5 * 2 ** attempt))
            finally:
                resp.close()
        raise AssertionError("unreachable")

    # ---- describe and query ---------------------------------------------------------------------
    def describe(self, sobject: str) -> dict[str, Any]:
        """The sObject describe, cached for the life of this client."""
        key = sobject.lower()
        if key not in self._describes:
            self._describes[key] = self.json("GET", f"sobjects/{sobject}/describe")
        return self._describes[key]

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of a SOQL query, following nextRecordsUrl page by page."""
        page = self.json("GET", "queryAll/" if include_deleted else "query/", params={"q": soql})
        while True:
            for rec in page.get("records", []):
                rec.pop("attributes", None)
                yield rec
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.json("GET", page["nextRecordsUrl"])

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        return list(self.query(soql))

    # ---- sObject Collections (200 records per call) ----------------------------------------------
    def collection(self, operation: str, sobject: str, records: list[dict[str, Any]],
                   external_id: str | None = None) -> list[dict[str, Any]]:
        """insert | update | upsert | delete up to 200 records; per-record results in input order."""
        if operation == "delete":
            ids = ",".join(r["Id"] for r in records)
            return self.json("DELETE", "composite/sobjects", params={"ids": ids, "allOrNone": "false"})
        body = {"allOrNone": False,
                "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        if operation == "insert":
            return self.json("POST", "composite/sobjects", json=body)
        if operation == "update":
            return self.json("PATCH", "composite/sobjects", json=body)
        if operation == "upsert":
            return self.json("PATCH", f"composite/sobjects/{sobject}/{external_id}", json=body)
        raise FatalSalesforceError(f"sObject Collections cannot {operation}; use Bulk API 2.0.")

    # ---- Bulk API 2.0 ingest --------------------------------------------------------------------
    def bulk2_create_job(self, sobject: str, operation: str, external_id: str | None = None) -> dict[str, Any]:
        body = {"object": sobject, "operation": operation, "contentType": "CSV", "lineEnding": "LF",
                "columnDelimiter": "COMMA"}
        if external_id:
            body["externalIdFieldName"] = external_id
        return self.json("POST", "jobs/ingest", json=body)

    def bulk2_upload(self, job_id: str, body: Iterable[bytes] | bytes) -> None:
        """The job's one PUT (a generator body streams). A 401 raises SessionExpired: the caller replays."""
        self.request("PUT", f"jobs/ingest/{job_id}/batches", data=body, refresh=False,
                     headers={"Content-Type": "text/csv; charset=UTF-8"})

    def bulk2_set_state(self, job_id: str, state: str) -> dict[str, Any]:
        return self.json("PATCH", f"jobs/ingest/{job_id}", json={"state": state})

    def bulk2_job(self, job_id: str) -> dict[str, Any]:
        return self.json("GET", f"jobs/ingest/{job_id}")

    def bulk2_results(self, job_id: str, kind: str, *, stream: bool = False) -> Any:
        """successfulResults | failedResults | unprocessedrecords: CSV bytes, or a readable stream."""
        headers = {"Accept": "text/csv", "Accept-Encoding": self.result_encoding}
        resp = self.request("GET", f"jobs/ingest/{job_id}/{kind}/", headers=headers, stream=stream)
        if not stream:
            return resp.content
        resp.raw.decode_content = True
        return resp.raw

    # ---- SOAP: undelete (REST has no undelete call) -------------------------------------------------
    def undelete(self, ids: list[str]) -> list[dict[str, Any]]:
        """Restore records from the recycle bin; per-id {id, success, error}."""
        ns = "urn:partner.soap.sforce.com"
        items = "".join(f"<ids>{escape(i)}</ids>" for i in ids)

        def envelope() -> bytes:
            return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                    f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="{ns}"><soapenv:Header>'
                    f"<SessionHeader><sessionId>{escape(self.access_token)}</sessionId></SessionHeader>"
                    f"</soapenv:Header><soapenv:Body><undelete>{items}</undelete></soapenv:Body>"
                    "</soapenv:Envelope>").encode()
        path = f"/services/Soap/u/{self.api_version}"
        headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "undelete"}
        resp = self.session.post(self.url(path), data=envelope(), headers=headers, timeout=self.timeout)
        if b"INVALID_SESSION_ID" in resp.content and self._refresh(self.access_token):
            resp = self.session.post(self.url(path), data=envelope(), headers=headers, timeout=self.timeout)
        return _soap_results(resp)


def _soap_results(resp: requests.Response) -> list[dict[str, Any]]:
    root = ET.fromstring(resp.content)
    fault = next((el for el in root.iter() if el.tag.endswith("faultstring")), None)
    if fault is not None:
        raise FatalSalesforceError(f"Salesforce refused the undelete: {fault.text}")
    out = []
    for res in (el for el in root.iter() if el.tag.endswith("}result") or el.tag == "result"):
        def text(name: str, node: ET.Element = res) -> str:
            el = next((c for c in node.iter() if c.tag.rsplit("}", 1)[-1] == name), None)
            return (el.text or "") if el is not None else ""
        out.append({"id": text("id"), "success": text("success") == "true",
                    "error": f"{text('statusCode')}:{text('message')}" if text("success") != "true" else ""})
    return out


def soql_quote(value: str) -> str:
    """A SOQL string literal (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def path_quote(value: str) -> str:
    return quote(value, safe="")
