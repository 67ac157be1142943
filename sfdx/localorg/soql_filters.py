"""SOQL filter semantics: literal typing per field, per-type comparison keys (instants, dates, numbers,
case-insensitive text), date literals, LIKE, IN."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .ids import to18
from .schema import Field
from .soql_parser import Condition, Literal, soql_error
from .values import to_datetime

_NUMERIC = ("int", "double", "currency", "percent")
_TYPE_NAMES = {"int": "integer", "double": "double", "currency": "currency", "percent": "percent",
               "boolean": "boolean", "date": "date", "datetime": "datetime"}
Test = Callable[[Any], bool]


def _date_literal(name: str) -> tuple[date, date] | None:
    """[start, end) for TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, THIS_/LAST_/NEXT_ MONTH|YEAR."""
    # Bounds become UTC midnights on datetime fields, so "today" is taken in UTC too.
    today = datetime.now(UTC).date()
    base, _, n_text = name.partition(":")
    n = int(n_text) if n_text.isdigit() else 0
    simple = {"TODAY": (today, today + timedelta(1)), "YESTERDAY": (today - timedelta(1), today),
              "TOMORROW": (today + timedelta(1), today + timedelta(2)),
              "LAST_N_DAYS": (today - timedelta(n), today + timedelta(1)),
              "NEXT_N_DAYS": (today, today + timedelta(n + 1)),
              "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
              "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
              "NEXT_YEAR": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1))}
    if base in simple:
        return simple[base]
    if base in ("THIS_MONTH", "LAST_MONTH", "NEXT_MONTH"):
        y, m = today.year, today.month + {"THIS_MONTH": 0, "LAST_MONTH": -1, "NEXT_MONTH": 1}[base]
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        return date(y, m, 1), date(y + m // 12, m % 12 + 1, 1)
    return None


def _bound(d: date, f: Field) -> date | datetime:
    return d if f.type == "date" else datetime.combine(d, time(), UTC)


def _instant(v: Any) -> datetime | None:
    return to_datetime(v) if isinstance(v, str) else v if isinstance(v, datetime) else None


def _day(v: Any) -> date | None:
    try:
        return date.fromisoformat(v[:10]) if isinstance(v, str) else None
    except ValueError:
        return None


def _number(v: Any) -> float | int | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    try:
        return float(v) if isinstance(v, str) else None
    except ValueError:
        return None


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _same(v: Any) -> Any:
    return v


def value_key(f: Field) -> Callable[[Any], Any]:
    """Stored value of `f` -> what Salesforce compares and sorts by: datetimes as instants (stored text would
    sort by its characters), dates as dates, numbers as numbers, ids exactly, other text ignoring case.
    An unreadable stored value keys as None, so it behaves like null instead of breaking a comparison."""
    if f.type == "datetime":
        return _instant
    if f.type == "date":
        return _day
    if f.type in _NUMERIC:
        return _number
    return _same if f.type in ("id", "reference", "boolean") else _lower


def _temporal_literal(q: str, lit: Literal, f: Field) -> Any:
    """A literal for a date or datetime field: a date, an aware instant (offsets kept), or a date-literal range."""
    if lit.kind == "dateliteral" and _date_literal(lit.value):
        return _date_literal(lit.value)
    msg = f"value of filter criterion for field '{f.name}' must be of type {_TYPE_NAMES[f.type]}"
    if lit.kind == f.type:
        try:
            out = date.fromisoformat(lit.value) if lit.kind == "date" else to_datetime(lit.value)
        except ValueError:
            out = None
        if out is not None:
            return out
        raise soql_error(q, lit.pos, msg, "INVALID_FIELD")   # well-formed but impossible, e.g. month 13
    if f.type == "date" and lit.kind == "datetime":
        raise soql_error(q, lit.pos, msg, "INVALID_FIELD")
    raise soql_error(q, lit.pos, msg + " and should not be enclosed in quotes", "INVALID_FIELD")


def _typed(q: str, lit: Literal, f: Field) -> Any:
    """The literal as a value comparable with stored values of `f`, or Salesforce's filter error."""
    if lit.kind == "null":
        return None
    kind = f.type
    if kind in _NUMERIC or kind == "boolean" or kind in ("date", "datetime"):
        if lit.quoted:
            raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type "
                             f"{_TYPE_NAMES[kind]} and should not be enclosed in quotes", "INVALID_FIELD")
    if kind in ("date", "datetime"):
        return _temporal_literal(q, lit, f)
    if kind in _NUMERIC or kind == "boolean":
        if lit.kind != ("boolean" if kind == "boolean" else "number"):
            raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type "
                             f"{_TYPE_NAMES[kind]}", "INVALID_FIELD")
        return lit.value
    if lit.kind not in ("string",):
        if lit.kind == "dateliteral":
            raise soql_error(q, lit.pos, f"unexpected token: {lit.value}")
        return str(lit.value).lower()
    if kind in ("id", "reference"):
        full = to18(lit.value)
        if full is None:
            raise soql_error(q, lit.pos, f"invalid ID field: {lit.value}", "INVALID_QUERY_FILTER_OPERATOR")
        return full
    return lit.value.lower()


def _cmp(op: str, want: Any, f: Field) -> Test:
    key = value_key(f)
    if isinstance(want, tuple):   # a date literal range [start, end)
        lo, hi = _bound(want[0], f), _bound(want[1], f)
        ranges: dict[str, Callable[[Any], bool]] = {
            "=": lambda k: k is not None and lo <= k < hi, "!=": lambda k: k is None or not lo <= k < hi,
            "<": lambda k: k is not None and k < lo, "<=": lambda k: k is not None and k < hi,
            ">": lambda k: k is not None and k >= hi, ">=": lambda k: k is not None and k >= lo}
        in_range = ranges[op]
        return lambda v: in_range(key(v))
    if want is None:
        return (lambda v: v is None) if op == "=" else (lambda v: v is not None) if op == "!=" else (lambda v: False)
    ops: dict[str, Callable[[Any], bool]] = {
        "=": lambda k: k == want, "!=": lambda k: k != want,
        "<": lambda k: k is not None and k < want, ">": lambda k: k is not None and k > want,
        "<=": lambda k: k is not None and k <= want, ">=": lambda k: k is not None and k >= want}
    test = ops[op]
    return lambda v: test(key(v))


def _like(pattern: str) -> Test:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    rx = re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)
    return lambda v: v is not None and rx.match(str(v)) is not None


def _member(q: str, c: Condition, f: Field) -> Test:
    """IN / NOT IN: keyed set membership (aware datetimes hash by instant), plus any date literal ranges."""
    key = value_key(f)
    typed = [_typed(q, lit, f) for lit in c.values]
    wanted = {w for w in typed if not isinstance(w, tuple)}
    ranges = [_cmp("=", w, f) for w in typed if isinstance(w, tuple)]

    def found(v: Any) -> bool:
        return key(v) in wanted or any(r(v) for r in ranges)
    return found if c.op == "in" else (lambda v: not found(v))


def comparison(q: str, c: Condition, f: Field) -> Test:
    """A test for one comparison condition on values of field `f`."""
    if c.op == "like":
        if f.type not in ("string", "textarea", "email", "phone", "url", "picklist", "combobox", "id",
                          "reference", "multipicklist"):
            raise soql_error(q, c.values[0].pos, f"invalid operator on field: {f.name}",
                             "INVALID_QUERY_FILTER_OPERATOR")
        return _like(str(c.values[0].value))
    if c.op in ("in", "notin"):
        return _member(q, c, f)
    if c.op in ("includes", "excludes"):
        sets = [{p.strip().lower() for p in str(lit.value).split(";")} for lit in c.values]

        def has(v: Any) -> bool:
            got = {p.lower() for p in (v or "").split(";") if p}
            return any(s <= got for s in sets)
        return has if c.op == "includes" else (lambda v: not has(v))
    return _cmp(c.operator, _typed(q, c.values[0], f), f)
