"""Date formats in people's terms: examples instead of format names, detection from a column's values, and
the default for a Salesforce user's locale.

Detection looks at the values themselves: `2026-01-31` is ISO; with slashes, a first part above 12 means
day first (`16/03/1955`), a second part above 12 means month first (`03/16/1955`); dots are day first
(`16.03.1955`). When every value fits both orders (`01/02/2026`), the values do not decide and the caller's
default (the job's, the account's, or the user's locale) applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import values as V

EXAMPLES = {"iso": "2026-01-31", "us": "01/31/2026", "eu": "31.01.2026", "eu_slash": "31/01/2026",
            "excel": "46053 (an Excel day number)"}
_SAMPLE = datetime(2026, 1, 31, 13, 45, 30)
_SLASHED = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T].*)?$")
_DOTTED = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T].*)?$")
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}(?:[ T].*)?$")
# Locales that write month first (Salesforce user locales are like en_US, de_DE, fr_CA).
_MONTH_FIRST = {"en_US", "en_PH", "es_US"}
_DOTTED_LOCALES = ("de", "ru", "pl", "cs", "fi", "nb", "no", "da", "tr", "uk", "hu", "sk", "ro", "et", "lv", "lt")
_ISO_LOCALES = ("sv", "lt", "ja", "zh", "ko", "hu", "en_CA", "fr_CA")


def example(fmt: str) -> str:
    """`31/01/2026` for `eu_slash`; a strptime pattern shown by formatting 31 January 2026 with it."""
    return EXAMPLES.get(fmt) or _SAMPLE.strftime(fmt)


def described(formats: Iterable[str]) -> str:
    """'31/01/2026 style or 2026-01-31 style': what a user recognises, never a format's internal name."""
    return " or ".join(f"{example(f)} style" for f in dict.fromkeys(formats))


def for_locale(locale: str | None) -> str:
    """The date format people of a Salesforce locale (en_US, en_GB, de_DE, ...) write by default."""
    loc = (locale or "").replace("-", "_")
    if not loc:
        return "iso"
    if loc in _MONTH_FIRST:
        return "us"
    if loc.startswith(_ISO_LOCALES):
        return "iso"
    if loc.split("_")[0] in _DOTTED_LOCALES:
        return "eu"
    return "eu_slash"


def detect(values: Iterable[str]) -> str | None:
    """The one named format all non-empty values fit, if the values decide it; None when they do not."""
    seen = [v for v in (str(x).strip() for x in values if x is not None) if v]
    if not seen:
        return None
    if all(_ISO.match(v) for v in seen):
        return "iso"
    if all(_DOTTED.match(v) for v in seen):
        return "eu"
    parts = [_SLASHED.match(v) for v in seen]
    if not all(parts):
        return None
    firsts, seconds = [int(p.group(1)) for p in parts], [int(p.group(2)) for p in parts]
    day_first, month_first = max(firsts) > 12, max(seconds) > 12
    if day_first and not month_first and max(seconds) <= 12:
        return "eu_slash"
    if month_first and not day_first and max(firsts) <= 12:
        return "us"
    return None


def fits(values: Iterable[str], formats: list[str]) -> bool:
    """Whether every non-empty value parses with one of `formats` (plus ISO, as the engine always tries)."""
    s = pd.Series([str(v) for v in values if v is not None and str(v).strip()], dtype=STRING_DTYPE)
    if s.empty:
        return True
    return bool(V.parse_dates(s, [*formats, "iso"]).notna().all())
