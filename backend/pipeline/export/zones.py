"""The time zone an export writes datetimes in, from its IANA name (no pyarrow here: the engine asks it first)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.errors import ConfigError


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone to write datetimes in; None (or UTC) keeps them in UTC with a `Z`."""
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"Unknown time zone {name!r}; use an IANA name such as Europe/Berlin.") from None
