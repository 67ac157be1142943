"""HTTPS URLs: GET a CSV or Excel file through the egress guard's pinned session, with a size cap.

Every connect resolves and checks the host and connects to the checked address; redirects are followed
only to the same host, each hop checked again (`security/egress.safe_session`). Basic auth is optional.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests

from backend.connectors.base import ConnectorError, Entry, register
from backend.connectors.files import MAX_FILE_BYTES, FileStore
from backend.security.egress import EgressBlocked, safe_session
from backend.streams import IterStream

TIMEOUT_S = (10, 60)


@register
class HttpsConnector(FileStore):
    type, label, schemes = "https", "HTTPS URL", ("https",)
    path_required = False

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        parts = urlsplit(url.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise ConnectorError("config", "Give an https:// URL.")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return {"url": urlunsplit(("https", netloc, parts.path or "/", parts.query, "")),
                "user": unquote(parts.username or ""), "password": unquote(parts.password or "")}

    def resolve(self, path: str) -> str:
        base = self.params["url"]
        url = urljoin(base, path) if path else base
        if urlsplit(url).hostname != urlsplit(base).hostname:
            raise ConnectorError("config", "The path must stay on the connection's host.")
        return url

    def _get(self, url: str) -> requests.Response:
        session = safe_session(allow_loopback=self.allow_loopback)
        if self.params.get("user"):
            session.auth = (self.params["user"], self.params.get("password") or "")
        try:
            response = session.get(url, stream=True, timeout=TIMEOUT_S)
            response.close = _closing(response.close, session.close)  # the pool goes with its one response
        except EgressBlocked as err:
            session.close()
            raise ConnectorError("egress", f"{err}.") from None
        except requests.exceptions.SSLError:
            session.close()
            host = urlsplit(url).hostname
            raise ConnectorError("tls", f"The TLS certificate of {host} could not be verified.") from None
        except requests.RequestException as err:
            session.close()
            raise ConnectorError("tcp", f"Cannot reach {urlsplit(url).hostname}: {type(err).__name__}.") from None
        if response.status_code >= 400:
            response.close()
            stage = {401: "auth", 403: "permission", 404: "missing", 410: "missing"}.get(response.status_code, "read")
            raise ConnectorError(stage, f"{_shown(url)} answered HTTP {response.status_code} {response.reason}.")
        if int(response.headers.get("Content-Length") or 0) > self.cap:
            response.close()
            raise ConnectorError("read", _too_large(_shown(url), self.cap))
        return response

    @property
    def cap(self) -> int:
        return min(int(self.params.get("max_bytes") or MAX_FILE_BYTES), MAX_FILE_BYTES)

    def test(self) -> str:
        response = self._get(self.params["url"])
        response.close()
        return f"Connected to {_shown(self.params['url'])} (HTTP {response.status_code})."

    def browse(self, path: str = "") -> list[Entry]:
        url = self.resolve(path)
        name = posixpath.basename(urlsplit(url).path) or urlsplit(url).hostname
        return [Entry(name, "file", url)]

    def matches(self, pattern: str) -> list[Entry]:
        return self.browse(pattern)

    def open_file(self, path: str) -> BinaryIO:
        response = self._get(self.resolve(path))
        return io.BufferedReader(IterStream(_capped(response, _shown(response.url), self.cap)))


def _capped(response: requests.Response, what: str, cap: int) -> Iterator[bytes]:
    """The body in blocks, stopped at `cap` bytes: a missing or false Content-Length does not get past it."""
    seen = 0
    try:
        for block in response.iter_content(1 << 16):
            seen += len(block)
            if seen > cap:
                raise ConnectorError("read", _too_large(what, cap))
            yield block
    finally:
        response.close()


def _closing(*closers: Any) -> Any:
    def close() -> None:
        for closer in closers:
            closer()
    return close


def _too_large(what: str, cap: int) -> str:
    size = f"{cap // 1024 ** 2} MB" if cap >= 1024 ** 2 else f"{cap:,} bytes"
    return f"{what} is larger than {size}, the limit for one import."


def _shown(url: str) -> str:
    """The URL without its query string (it may carry a signature or token)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if parts.scheme else url
