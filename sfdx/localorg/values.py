"""Value converters per field type: JSON or CSV input to the stored wire form, with Salesforce's errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from .errors import SfError
from .ids import to18
from .schema import Field

Converter = Callable[[Any], Any]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_JAVA_TYPES = {"int": "int", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "datetime"}


def format_datetime(dt: datetime) -> str:
    """Salesforce record JSON form: 2024-11-07T07:00:00.000+0000 (UTC, no colon in the offset)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def to_datetime(text: str) -> datetime | None:
    """An aware instant from the ISO-8601 forms Salesforce accepts (Z, +hh:mm, +hhmm, no offset meaning UTC,
    date only meaning midnight UTC); None when invalid. SOQL compares datetimes as these instants."""
    s = text.strip()
    if _DATE.match(s):
        s += "T00:00:00Z"
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2}):?(\d{2})$", s)
    if m:
        s = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def parse_datetime(text: str) -> str | None:
    """The stored wire form of an accepted datetime text; None when invalid."""
    dt = to_datetime(text)
    return None if dt is None else format_datetime(dt)


def parse_date(text: str) -> str | None:
    s = text.strip()
    if "T" in s:
        s = s.split("T", 1)[0]
    try:
        return date.fromisoformat(s).isoformat() if _DATE.match(s) else None
    except ValueError:
        return None


def _json_token(value: Any) -> tuple[str, str]:
    """Jackson's token name and shown text for a JSON value (what Salesforce's parser error quotes)."""
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    if isinstance(value, bool):
        return ("VALUE_TRUE", "true") if value else ("VALUE_FALSE", "false")
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", repr(value)
    return "VALUE_STRING", str(value)


def _type_error(f: Field, value: Any, csv: bool) -> SfError:
    if csv:
        return SfError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {value}",
                       [f.name])
    token, shown = _json_token(value)
    err = SfError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {_JAVA_TYPES.get(f.type, 'string')} "
                  f"from {token} value {shown} or request may be missing a required field")
    err.json_value = value if token == "VALUE_STRING" else None
    return err


def _string(f: Field, csv: bool) -> Converter:
    limit = f.length or 32768
    is_email = f.type == "email"
    # Restricted picklists take the API value exactly as defined (a case difference is a bad value).
    allowed = set(f.picklist or []) if f.restricted else None
    multi = f.type == "multipicklist"

    def conv(v: Any) -> Any:
        if type(v) is not str:
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (int, float)):
                v = str(v)
            elif not isinstance(v, str):
                raise _type_error(f, v, csv)
        if len(v) > limit:
            raise SfError("STRING_TOO_LONG", f"{f.label}: data value too large: {v} (max length={limit})",
                          [f.name])
        if is_email and v and not _EMAIL.match(v):
            raise SfError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {v}", [f.name])
        if allowed is not None:
            for p in (v.split(";") if multi else (v,)):
                if p not in allowed:
                    raise SfError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  f"{f.label}: bad value for restricted picklist field: {v}", [f.name])
        return v
    return conv


def _boolean(f: Field, csv: bool) -> Converter:
    def conv(v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0", "yes", "no"):
            return v.lower() in ("true", "1", "yes")
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
        raise _type_error(f, v, csv)
    return conv


def _number(f: Field, csv: bool) -> Converter:
    integral = f.type == "int"
    max_int_digits = (f.digits or 9) if integral else (f.precision - f.scale if f.precision else 16)

    def conv(v: Any) -> Any:
        if isinstance(v, bool):
            raise _type_error(f, v, csv)
        if isinstance(v, str):
            try:
                num: float | int = float(v.strip().replace(",", "")) if v.strip() else 0
            except ValueError:
                raise _type_error(f, v, csv) from None
        elif isinstance(v, (int, float)):
            num = v
        else:
            raise _type_error(f, v, csv)
        if integral:
            if num != int(num):
                raise SfError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {v}",
                              [f.name])
            num = int(num)
        else:
            num = float(num)
        if abs(num) >= 10 ** max_int_digits:
            raise SfError("NUMBER_OUTSIDE_VALID_RANGE",
                          f"{f.label}: value outside of valid range on numeric field: {v}", [f.name])
        return num
    return conv


def _temporal(f: Field, csv: bool) -> Converter:
    parse = parse_date if f.type == "date" else parse_datetime

    def conv(v: Any) -> Any:
        out = parse(v) if isinstance(v, str) else None
        if out is None:
            raise _type_error(f, v, csv)
        return out
    return conv


def _reference(f: Field, csv: bool) -> Converter:
    def conv(v: Any) -> Any:
        out = to18(v) if isinstance(v, str) else None
        if out is None:
            raise SfError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {v}", [f.name])
        return out
    return conv


def converter(f: Field, csv: bool = False) -> Converter:
    """The converter for field `f`; `csv` selects string-input rules (Bulk) over JSON rules (REST)."""
    if f.type in ("boolean",):
        return _boolean(f, csv)
    if f.type in ("int", "double", "currency", "percent"):
        return _number(f, csv)
    if f.type in ("date", "datetime"):
        return _temporal(f, csv)
    if f.type in ("reference", "id"):
        return _reference(f, csv)
    return _string(f, csv)
