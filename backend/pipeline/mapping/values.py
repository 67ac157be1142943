"""Vectorised parsing and formatting of numbers, dates and datetimes (shared by formulas and conversion).

Date formats are names or strptime patterns. Names: `iso` (YYYY-MM-DD, optionally with a time and an
offset), `us` (MM/DD/YYYY), `eu` (DD.MM.YYYY), `eu_slash` (DD/MM/YYYY), `excel` (serial day numbers,
1900 system). Each name also accepts a time after the date (`HH:MM`, `HH:MM:SS`, or US `h:MM AM`).

Local datetimes are placed in the job's time zone with the rule Python's zoneinfo uses for `fold=0`:
- in the repeated hour when clocks go back (Europe/Berlin 2026-10-25 02:30) the first occurrence
  (summer time, +02:00) is taken;
- in the skipped hour when clocks go forward (Europe/Berlin 2026-03-29 02:30) the wall time is read
  with the offset before the change (+01:00), i.e. 01:30Z, which shows as 03:30 summer time.
Values that carry an offset (`...Z`, `+02:00`) keep it. A date is never shifted by a time zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.errors import ConfigError

_TIMES = ["", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p"]
NAMED_FORMATS: dict[str, list[str]] = {
    "us": ["%m/%d/%Y" + t for t in _TIMES],
    "eu": ["%d.%m.%Y" + t for t in _TIMES],
    "eu_slash": ["%d/%m/%Y" + t for t in _TIMES],
}
FORMAT_NAMES = ["iso", "us", "eu", "eu_slash", "excel"]
_OFFSET_RE = r"\d[T ]\d{1,2}:\d{2}.*(?:Z|[+-]\d{2}:?\d{2})$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
LOCALES = {"en": (",", "."), "us": (",", "."), "uk": (",", "."), "de": (".", ","), "fr": (" ", ","),
           "es": (".", ","), "it": (".", ","), "nl": (".", ","), "ch": ("'", "."), "pl": (" ", ",")}


def check_format(fmt: str) -> str:
    """Return `fmt` if it is a known name or a strptime pattern; ConfigError otherwise."""
    if fmt in FORMAT_NAMES or "%" in fmt:
        return fmt
    raise ConfigError(f"Unknown date format '{fmt}': use one of {', '.join(FORMAT_NAMES)} or a pattern "
                      "such as %d.%m.%Y.")


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ConfigError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"Unknown time zone '{name}'; use an IANA name such as Europe/Berlin.") from None


def text(values: pd.Series) -> pd.Series:
    """Coerce to the engine's string dtype, stripped; blanks become NA."""
    s = values.astype(STRING_DTYPE).str.strip()
    return s.mask(s == "")


def parse_local(values: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """Parse date/datetime text; returns (naive local datetimes, datetimes with an explicit offset as UTC).

    Exactly one of the two is set for a parsed value; both are NaT for blanks and failures.
    """
    s = text(values)
    local = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    aware = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    todo = s.notna().to_numpy(dtype=bool)
    for fmt in formats:
        if not todo.any():
            break
        part = s[todo]
        if fmt == "iso":
            has_offset = part.str.contains(_OFFSET_RE, regex=True).fillna(False).to_numpy(dtype=bool)
            if has_offset.any():
                got = pd.to_datetime(part[has_offset], format="ISO8601", errors="coerce", utc=True)
                aware[got.index] = got
            naive = part[~has_offset]
            got = pd.to_datetime(naive, format="ISO8601", errors="coerce")
        elif fmt == "excel":
            days = pd.to_numeric(part, errors="coerce")
            days = days.where((days >= 1) & (days < 2958466))
            got = _EXCEL_EPOCH + pd.to_timedelta((days * 86400).round(), unit="s")
        else:
            got = _first_match(part, NAMED_FORMATS.get(fmt, [fmt]))
        local[got.index] = got.where(got.notna(), local[got.index])
        todo = todo & local.isna().to_numpy() & aware.isna().to_numpy()
    return local, aware


def _first_match(part: pd.Series, patterns: list[str]) -> pd.Series:
    result = pd.Series(pd.NaT, index=part.index, dtype="datetime64[us]")
    for pattern in patterns:
        missing = result.isna()
        if not missing.any():
            break
        got = pd.to_datetime(part[missing], format=pattern, errors="coerce")
        result[got.index] = got
    return result


def parse_dates(values: pd.Series, formats: list[str]) -> pd.Series:
    """Dates (naive midnight datetime64); a value with a time keeps only its date, never shifted."""
    local, aware = parse_local(values, formats)
    if aware.notna().any():
        # "2026-03-29T00:30+02:00" is on the 29th as written; converting to UTC first would say the 28th.
        written = pd.to_datetime(text(values)[aware.notna()].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        local[written.index] = written
    return local.dt.normalize()


def localize(local: pd.Series, tz: str) -> pd.Series:
    """Naive local datetimes in zone `tz` -> UTC, with the DST rule in the module docstring."""
    zi = zone(tz)
    first = np.ones(len(local), dtype=bool)
    placed = local.dt.tz_localize(zi, ambiguous=first, nonexistent="NaT")
    gap = placed.isna() & local.notna()
    utc = placed.dt.tz_convert("UTC")
    if gap.any():
        fixed = [datetime.fromisoformat(v.isoformat()).replace(tzinfo=zi).astimezone(ZoneInfo("UTC"))
                 for v in local[gap]]
        utc[gap] = pd.to_datetime(fixed, utc=True)
    return utc


def parse_datetimes(values: pd.Series, formats: list[str], tz: str) -> pd.Series:
    """Datetimes as UTC (datetime64 UTC); naive values are local to `tz`."""
    local, aware = parse_local(values, formats)
    utc = localize(local, tz)
    return utc.where(local.notna(), aware)


def parse_numbers(values: pd.Series, locale: str = "en") -> pd.Series:
    """Numbers written the `locale` way ('1.234,56' for de) -> float64, NaN for blanks and failures."""
    try:
        group, decimal = LOCALES[locale]
    except KeyError:
        raise ConfigError(f"Unknown number locale '{locale}'; use one of {', '.join(LOCALES)}.") from None
    s = text(values).str.replace("\u00a0", "", regex=False).str.replace("%", "", regex=False)
    s = s.str.replace(group, "", regex=False)
    if group != " ":
        s = s.str.replace(" ", "", regex=False)
    if decimal != ".":
        s = s.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def format_numbers(values: pd.Series) -> pd.Series:
    """Floats -> shortest plain text ('12', '1234.5'), NA for NaN."""
    rounded = values.astype("float64").round(10)
    out = pd.Series(index=values.index, dtype=STRING_DTYPE)
    ok = rounded.notna()
    big = ok & (rounded.abs() >= 1e15)
    small = ok & ~big
    out[small] = rounded[small].astype(str).str.replace(r"\.0$", "", regex=True)
    out[big] = [f"{v:.0f}" for v in rounded[big]]
    return out


def format_dates(values: pd.Series) -> pd.Series:
    """Dates -> 'YYYY-MM-DD'."""
    return values.dt.strftime("%Y-%m-%d").astype(STRING_DTYPE)


def format_datetimes(values: pd.Series) -> pd.Series:
    """UTC datetimes -> 'YYYY-MM-DDTHH:MM:SS.000Z' as Salesforce expects."""
    return values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.000Z").astype(STRING_DTYPE)
