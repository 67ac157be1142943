"""Parsing `connections add NAME URL` URLs: host, port, credentials (percent-decoded) and query options."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from backend.connectors.base import ConnectorError


def split(url: str, default_port: int | None) -> dict[str, Any]:
    """host, port, user, password, path (without the leading /) and options (the query string)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or default_port
    except ValueError as err:
        raise ConnectorError("config", f"The URL cannot be read: {err}.") from None
    if not parts.hostname:
        raise ConnectorError("config", "The URL has no host.")
    return {"host": parts.hostname, "port": port, "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""), "path": unquote(parts.path.lstrip("/")),
            "options": dict(parse_qsl(parts.query))}


def flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")
