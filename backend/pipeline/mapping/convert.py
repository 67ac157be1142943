"""Typed conversion of mapped text to the wire format of a Salesforce field type, per describe.

Input is a text Series (NA = blank). Output is the wire text (NA = blank) plus row problems as
(mask, message) pairs. Formats: boolean `true`/`false`, numbers plain (`1234.5`), date
`YYYY-MM-DD`, datetime `YYYY-MM-DDTHH:MM:SS.000Z` in UTC, multipicklist values joined by `;`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import values as V
from backend.pipeline.mapping.dates import described
from backend.pipeline.mapping.model import Options

# (rows, message): a str for all those rows, or a Series indexed by exactly those rows' labels.
Problems = list[tuple[np.ndarray, "pd.Series | str"]]
TRUE_WORDS = ["true", "yes", "y", "1", "x", "on", "checked", "wahr", "ja", "oui", "si"]
FALSE_WORDS = ["false", "no", "n", "0", "off", "unchecked", "falsch", "nein", "non"]
ID_RE = r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$"
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NUMERIC_TYPES = ("double", "currency", "percent")
TEXT_TYPES = ("string", "textarea", "phone", "url", "email", "encryptedstring", "combobox", "picklist",
              "multipicklist")


@dataclass
class Converted:
    values: pd.Series
    problems: Problems = field(default_factory=list)


def _label(meta: dict[str, Any]) -> str:
    return str(meta.get("label") or meta.get("name"))


def _quoted(s: pd.Series) -> pd.Series:
    return "'" + s.fillna("").str.slice(0, 60) + "'"


def convert(values: pd.Series, meta: dict[str, Any], options: Options, *, truncate: bool = False,
            is_lookup: bool = False, clean: bool = False) -> Converted:
    """Convert `values` for the describe field `meta`; unknown types pass through with a length check.

    `values` may be raw text; pass `clean=True` if it is already stripped with blanks as NA.
    """
    s = values if clean else V.text(values)
    kind = str(meta.get("type", "string"))
    if is_lookup:
        return Converted(s)
    handler = _HANDLERS.get(kind)
    out = handler(s, meta, options) if handler else Converted(s)
    if kind in TEXT_TYPES or handler is None:
        return _check_length(out, meta, truncate)
    return out


def _check_length(conv: Converted, meta: dict[str, Any], truncate: bool) -> Converted:
    limit = int(meta.get("length") or 0)
    if limit <= 0:
        return conv
    values = V.arrow(conv.values)
    if V.max_bytes(values) <= limit:
        return conv  # bytes bound characters from above; counting characters is the slow part
    lengths = pc.fill_null(pc.utf8_length(values), 0).to_numpy(zero_copy_only=False)
    long = lengths > limit
    if not long.any():
        return conv
    if truncate:
        conv.values = conv.values.str.slice(0, limit)
        return conv
    counts = pd.Series(lengths[long], index=conv.values.index[long]).astype(str)
    conv.problems.append((long, f"{_label(meta)}: " + counts + f" characters, but the field holds at most {limit}"))
    return conv


def _bad(s: pd.Series, ok: pd.Series | np.ndarray, meta: dict[str, Any], what: str) -> Problems:
    """Rows with a value that is not ok, with messages built for those rows only."""
    bad = s.notna().to_numpy(bool) & ~np.asarray(ok, dtype=bool)
    if not bad.any():
        return []
    return [(bad, f"{_label(meta)}: " + _quoted(s[bad]) + f" {what}")]


def _boolean(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    low = s.str.lower()
    is_true, is_false = low.isin(TRUE_WORDS).fillna(False), low.isin(FALSE_WORDS).fillna(False)
    out = pd.Series(np.where(is_true, "true", "false"), index=s.index, dtype=STRING_DTYPE).where(s.notna())
    return Converted(out, _bad(s, is_true | is_false, meta, "is not true or false"))


def _number(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    nums = V.parse_numbers(s, options.number_locale)
    problems = _bad(s, nums.notna(), meta, f"is not a number ({options.number_locale} format)")
    if meta.get("type") == "int":
        frac = nums.notna() & (nums != nums.round())
        problems += _bad(s, ~frac, meta, "is not a whole number")
    precision, scale = int(meta.get("precision") or 0), int(meta.get("scale") or 0)
    digits = int(meta.get("digits") or 0) or (precision - scale)
    if digits > 0:
        too_big = (nums.abs() >= 10.0 ** digits).to_numpy(bool)
        if too_big.any():
            problems.append((too_big, f"{_label(meta)}: " + _quoted(s) +
                             f" is too large (at most {digits} digits before the decimal point)"))
    if meta.get("type") in NUMERIC_TYPES and precision:
        nums = nums.round(scale)
    return Converted(V.format_numbers(nums), problems)


def _date(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    written = V.dates_as_written(s, options.all_date_formats)
    if written is not None:
        return Converted(written)  # every value a date in the first pattern: nothing to report
    got = V.parse_dates(s, options.all_date_formats)
    return Converted(V.format_dates(got), _bad(s, got.notna(), meta,
                                               f"is not a date in {described(options.all_date_formats)}"))


def _datetime(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    got = V.parse_datetimes(s, options.all_date_formats, options.time_zone)
    return Converted(V.format_datetimes(got), _bad(s, got.notna(), meta, "is not a date/time in "
                                                   + described(options.all_date_formats)))


_TIME_PATTERNS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p", "%I %p"]


def _time(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    """Time of day, no zone (Salesforce time fields are wall-clock): 'HH:MM:SS.000Z'."""
    got = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for pattern in _TIME_PATTERNS:
        todo = got.isna() & s.notna()
        if not todo.any():
            break
        got[todo] = pd.to_datetime(s[todo].str.upper(), format=pattern, errors="coerce")
    text = got.dt.strftime("%H:%M:%S.000Z").astype(STRING_DTYPE).where(got.notna())
    return Converted(text, _bad(s, got.notna(), meta, "is not a time of day (HH:MM or HH:MM:SS)"))


def _email(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    ok = pc.fill_null(pc.match_substring_regex(V.arrow(s), EMAIL_RE), False).to_numpy(zero_copy_only=False)
    return Converted(s, _bad(s, ok, meta, "is not an email address"))


def _id(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    ok = pc.fill_null(pc.match_substring_regex(V.arrow(s), ID_RE), False).to_numpy(zero_copy_only=False)
    return Converted(s, _bad(s, ok, meta,
                             "is not a Salesforce Id (15 or 18 letters and digits); map a lookup instead"))


def allowed_values(meta: dict[str, Any]) -> list[str]:
    return [p["value"] for p in meta.get("picklistValues") or [] if p.get("active", True)]


def _picklist(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    if not meta.get("restrictedPicklist"):
        return Converted(s)
    allowed = allowed_values(meta)
    canon = {v.casefold(): v for v in allowed}
    out = s.str.casefold().map(canon).astype(STRING_DTYPE)
    hint = ", ".join(allowed[:10]) + (", ..." if len(allowed) > 10 else "")
    return Converted(out, _bad(s, out.notna(), meta, f"is not an allowed value ({hint})"))


def _multipicklist(s: pd.Series, meta: dict[str, Any], options: Options) -> Converted:
    parts = s.str.split(";")
    cleaned = parts.map(lambda p: [x.strip() for x in p if x.strip()] if isinstance(p, list | np.ndarray)
                        else None)
    if not meta.get("restrictedPicklist"):
        out = cleaned.map(lambda p: ";".join(p) if p else None).astype(STRING_DTYPE)
        return Converted(out)
    canon = {v.casefold(): v for v in allowed_values(meta)}
    fixed = cleaned.map(lambda p: [canon.get(x.casefold()) for x in p] if p else None)
    ok = fixed.map(lambda p: p is None or None not in p)
    out = fixed.map(lambda p: ";".join(p) if p and None not in p else None).astype(STRING_DTYPE)
    return Converted(out, _bad(s, ok, meta, "contains a value that is not allowed"))


_HANDLERS = {
    "boolean": _boolean, "int": _number, "double": _number, "currency": _number, "percent": _number,
    "long": _number, "date": _date, "datetime": _datetime, "time": _time, "email": _email, "id": _id, "reference": _id,
    "picklist": _picklist, "multipicklist": _multipicklist,
}
