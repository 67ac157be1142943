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

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from backend.errors import ConfigError
from backend.pipeline.chunk import STRING_DTYPE
from backend.pipeline.mapping import fixed_dates
from backend.pipeline.mapping.fixed_dates import fixed_shape, parse_fixed

_TIMES = ["", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p"]
NAMED_FORMATS: dict[str, list[str]] = {
    "us": ["%m/%d/%Y" + t for t in _TIMES],
    "eu": ["%d.%m.%Y" + t for t in _TIMES],
    "eu_slash": ["%d/%m/%Y" + t for t in _TIMES],
}
FORMAT_NAMES = ["iso", "us", "eu", "eu_slash", "excel"]
_OFFSET_RE = r"\d[T ]\d{1,2}:\d{2}.*(?:Z|[+-]\d{2}:?\d{2})$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_ISO_SHAPE = fixed_shape("%Y-%m-%d")
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


def arrow(values: pd.Series) -> pa.Array:
    """The Arrow array behind a string Series (zero-copy when it already has the engine's dtype)."""
    if values.dtype != STRING_DTYPE:
        values = values.astype(STRING_DTYPE)
    return pa.array(values.array)


def series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """An Arrow string array back as a Series of the engine's dtype."""
    return pd.Series(pd.array(values, dtype=STRING_DTYPE), index=index)


def _edge(first_or_last: np.ndarray) -> bool:
    """Whether a byte is ASCII white space or starts/ends a multi-byte character (which might be Unicode
    white space: the kernel looks then). Comparisons: a table lookup costs three times as much."""
    b = first_or_last
    if not ((b - np.uint8(33)) >= np.uint8(95)).any():  # no byte below "!" or above ASCII (uint8 wrap-around)
        return False  # the usual column: one comparison, not the five below
    return bool(((b - np.uint8(9) <= 4) | (b == 32) | (b >= 0x80)).any())  # 9..13 by uint8 wrap-around


def _already_text(a: pa.Array) -> bool:
    """No empty string and no value starting or ending with possible white space (from the buffers)."""
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        return False
    bufs = a.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64 if pa.types.is_large_string(a.type) else np.int32)
    offsets = offsets[a.offset:a.offset + len(a) + 1]
    starts, ends = offsets[:-1], offsets[1:]
    if a.null_count:
        full = a.is_valid().to_numpy(zero_copy_only=False)
        starts, ends = starts[full], ends[full]  # a null has no bytes to look at
    if not len(starts):
        return True
    if (starts == ends).any():
        return False
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    return not (_edge(data.take(starts)) or _edge(data.take(ends - 1)))


def _offsets(a: pa.Array) -> np.ndarray:
    """The whole offsets buffer of a string array (index it with `a.offset`)."""
    return np.frombuffer(a.buffers()[1], dtype=np.int64 if pa.types.is_large_string(a.type) else np.int32)


def max_bytes(values: pa.Array | pa.ChunkedArray) -> int:
    """The longest value's size in bytes, from the offsets (a null's slot counts: an upper bound)."""
    longest = 0
    for a in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
        if len(a):
            longest = max(longest, int(np.diff(_offsets(a)[a.offset:a.offset + len(a) + 1]).max()))
    return longest


def ascii_only(a: pa.Array) -> bool:
    """Whether every byte of the values is ASCII, read from the data buffer (no kernel per value)."""
    bufs = a.buffers()
    if len(a) == 0 or bufs[2] is None:
        return True
    offsets = _offsets(a)
    start, end = int(offsets[a.offset]), int(offsets[a.offset + len(a)])
    return end == start or int(np.frombuffer(bufs[2], np.uint8, count=end - start, offset=start).max()) < 128


def change_case(values: pd.Series, upper: bool) -> pd.Series:
    """UPPER/LOWER: Arrow's ASCII kernel where the text is ASCII (twenty times faster), its Unicode one otherwise."""
    whole = arrow(values)
    out = []
    for a in whole.chunks if isinstance(whole, pa.ChunkedArray) else [whole]:
        # pyarrow 26.0.1's ASCII kernels write wrong bytes when the offsets buffer does not start at 0 (a cast of
        # a slice): tests/pipeline/test_text_values.py. Those arrays take the Unicode kernel.
        if ascii_only(a) and (not len(a) or _offsets(a)[0] == 0):
            out.append(pc.ascii_upper(a) if upper else pc.ascii_lower(a))
        else:
            out.append(pc.utf8_upper(a) if upper else pc.utf8_lower(a))
    return series(pa.chunked_array(out, whole.type) if len(out) != 1 else out[0], values.index)


def blank_as_null(values: pd.Series) -> pd.Series:
    """As text, empty strings NA and nothing else changed; decided from the offsets when there is none."""
    whole = arrow(values)
    if not any(_has_empty(a) for a in (whole.chunks if isinstance(whole, pa.ChunkedArray) else [whole])):
        return values if values.dtype == STRING_DTYPE else series(whole, values.index)
    return series(pc.if_else(pc.greater(pc.binary_length(whole), 0), whole, pa.scalar(None, whole.type)), values.index)


def _has_empty(a: pa.Array) -> bool:
    if not len(a):
        return False
    empty = np.diff(_offsets(a)[a.offset:a.offset + len(a) + 1]) == 0
    if a.null_count:
        empty &= a.is_valid().to_numpy(zero_copy_only=False)
    return bool(empty.any())


def text(values: pd.Series) -> pd.Series:
    """Coerce to the engine's string dtype, stripped; blanks become NA."""
    whole = arrow(values)
    if values.dtype == STRING_DTYPE and all(
            _already_text(c) for c in (whole.chunks if isinstance(whole, pa.ChunkedArray) else [whole])):
        return values  # the common case, decided from the buffers: no copy, no kernel
    a = pc.utf8_trim_whitespace(whole)
    return series(pc.if_else(pc.greater(pc.binary_length(a), 0), a, pa.scalar(None, a.type)), values.index)


def _looks_iso(s: pd.Series) -> bool:
    """Whether the first value is written YYYY-MM-DD: worth the exact-ISO pass over the whole column."""
    first = s.first_valid_index()
    return first is not None and re.match(r"\d{4}-\d{2}-\d{2}", str(s[first])) is not None


def parse_local(values: pd.Series, formats: list[str]) -> tuple[pd.Series, pd.Series]:
    """Parse date/datetime text; returns (naive local datetimes, datetimes with an explicit offset as UTC).

    Exactly one of the two is set for a parsed value; both are NaT for blanks and failures.
    """
    s = text(values)
    aware = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    if "iso" in formats and all(f in FORMAT_NAMES for f in formats) and _looks_iso(s):
        # No named format can read YYYY-MM-DD differently, so the fast exact-ISO pass may go first.
        local = parse_fixed(arrow(s), _ISO_SHAPE)
    else:
        local = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]")
    todo = s.notna().to_numpy(dtype=bool) & np.isnat(local)
    for fmt in formats:
        if not todo.any():
            break
        rows = np.flatnonzero(todo)
        part = s if len(rows) == len(s) else s.iloc[rows]  # positions, not labels: no index alignment per pass
        if fmt == "iso":
            has_offset = part.str.contains(_OFFSET_RE, regex=True).fillna(False).to_numpy(dtype=bool)
            if has_offset.any():
                got = pd.to_datetime(part[has_offset], format="ISO8601", errors="coerce", utc=True)
                aware[got.index] = got
            got = pd.to_datetime(part.mask(has_offset), format="ISO8601", errors="coerce")
        elif fmt == "excel":
            days = pd.to_numeric(part, errors="coerce")
            days = days.where((days >= 1) & (days < 2958466))
            got = _EXCEL_EPOCH + pd.to_timedelta((days * 86400).round(), unit="s")
        else:
            got = _first_match(part, NAMED_FORMATS.get(fmt, [fmt]))
        local[rows] = np.asarray(got, dtype="datetime64[us]")  # every row still to do is NaT in `local`
        todo &= np.isnat(local) & aware.isna().to_numpy()
    return pd.Series(local, index=s.index), aware


def _first_match(part: pd.Series, patterns: list[str]) -> np.ndarray:
    result = np.full(len(part), np.datetime64("NaT"), dtype="datetime64[us]")
    for pattern in patterns:
        for parse in (_exact_fast, _pandas_pattern):
            missing = np.isnat(result)
            if not missing.any():
                return result
            result[missing] = parse(part if missing.all() else part[missing], pattern)
    return result


def _pandas_pattern(part: pd.Series, pattern: str) -> np.ndarray:
    return pd.to_datetime(part, format=pattern, errors="coerce").to_numpy(dtype="datetime64[us]")


def _exact_fast(part: pd.Series, pattern: str) -> np.ndarray:
    """Values written exactly as `pattern` formats them (zero-padded); the rest NaT, for pandas to read."""
    shape = fixed_shape(pattern)
    if shape is None:
        return np.full(len(part), np.datetime64("NaT"), dtype="datetime64[us]")
    return parse_fixed(arrow(part), shape)


def parse_dates(values: pd.Series, formats: list[str]) -> pd.Series:
    """Dates (naive midnight datetime64); a value with a time keeps only its date, never shifted."""
    local, aware = parse_local(values, formats)
    if aware.notna().any():
        # "2026-03-29T00:30+02:00" is on the 29th as written; converting to UTC first would say the 28th.
        written = pd.to_datetime(text(values)[aware.notna()].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        local[written.index] = written
    return local.dt.normalize()


def dates_as_written(values: pd.Series, formats: list[str]) -> pd.Series | None:
    """parse_dates + format_dates in one step when every value is written in the fixed-width pattern
    parse_dates tries first for it: the digits are moved into 'YYYY-MM-DD' byte by byte. None otherwise."""
    s = text(values)
    if "iso" in formats and all(f in FORMAT_NAMES for f in formats) and _looks_iso(s):
        shape = _ISO_SHAPE
    elif formats[0] in ("iso", "excel"):
        return None
    else:
        shape = fixed_shape(NAMED_FORMATS.get(formats[0], [formats[0]])[0])
    whole = arrow(s)
    if shape is None or (isinstance(whole, pa.ChunkedArray) and whole.num_chunks != 1):
        return None
    got = fixed_dates.iso_dates(whole.chunk(0) if isinstance(whole, pa.ChunkedArray) else whole, shape)
    return None if got is None else series(got, s.index)


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


_NUMBER_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def _strict_number_re(group: str, decimal: str) -> str:
    """Digits with the group separator only every three places, so '1.234,56' is no English number."""
    g, d = re.escape(group), re.escape(decimal)
    return rf"^[+-]?(?:\d{{1,3}}(?:{g}\d{{3}})+|\d*)(?:{d}\d*)?(?:[eE][+-]?\d+)?$"


def parse_numbers(values: pd.Series, locale: str = "en") -> pd.Series:
    """Numbers written the `locale` way ('1.234,56' for de) -> float64, NaN for blanks and failures.

    Group separators must sit every three digits: a German '1.234,56' read as English fails instead of
    silently becoming 1.23456. A trailing '%' and spaces around the sign are ignored.
    """
    try:
        group, decimal = LOCALES[locale]
    except KeyError:
        raise ConfigError(f"Unknown number locale '{locale}'; use one of {', '.join(LOCALES)}.") from None
    a = arrow(text(values))
    if decimal == ".":
        try:  # the common case, plain digits: Arrow's own cast, no pattern matching needed
            nums = pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False)
            return pd.Series(np.where(np.isfinite(nums), nums, np.nan), index=values.index)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    for space in ("\u00a0", "\u202f"):
        a = pc.replace_substring(a, space, " ")
    a = pc.utf8_trim_whitespace(pc.replace_substring(a, "%", ""))
    a = pc.if_else(pc.match_substring_regex(a, _strict_number_re(group, decimal)), a, pa.scalar(None, a.type))
    a = pc.replace_substring(a, group, "")
    if decimal != ".":
        a = pc.replace_substring(a, decimal, ".")
    a = pc.if_else(pc.match_substring_regex(a, _NUMBER_RE), a, pa.scalar(None, a.type))
    return pd.Series(pc.cast(a, pa.float64()).to_numpy(zero_copy_only=False), index=values.index)


def format_numbers(values: pd.Series) -> pd.Series:
    """Floats -> shortest plain text ('12', '1234.5'), NA for NaN."""
    nums = values.astype("float64").round(10).to_numpy()
    a = pa.array(nums, from_pandas=True)
    out = pc.cast(a, pa.string())
    big = np.abs(np.nan_to_num(nums)) >= 1e15
    if big.any():  # Arrow writes 1e+20; Salesforce wants digits
        text_values = np.asarray(out.to_pylist(), dtype=object)
        text_values[big] = [f"{v:.0f}" for v in nums[big]]
        out = pa.array(text_values, pa.string())
    return series(out, values.index)


def format_dates(values: pd.Series) -> pd.Series:
    """Dates -> 'YYYY-MM-DD'."""
    days = pa.array(values.to_numpy(dtype="datetime64[us]").astype("datetime64[D]"), from_pandas=True)
    return series(pc.cast(days, pa.string()), values.index)


def format_datetimes(values: pd.Series) -> pd.Series:
    """UTC datetimes -> 'YYYY-MM-DDTHH:MM:SS.000Z' as Salesforce expects."""
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    stamps = pc.cast(pa.array(naive.astype("datetime64[s]"), from_pandas=True), pa.string())
    return series(pc.binary_join_element_wise(pc.replace_substring(stamps, " ", "T"), ".000Z", ""), values.index)
