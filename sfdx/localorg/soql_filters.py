"""SOQL filter semantics: literal typing per field, case-insensitive text, date literals, LIKE, IN."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from .ids import to18
from .schema import Field
from .soql_parser import Condition, Literal, soql_error
from .values import parse_datetime

_NUMERIC = ("int", "double", "currency", "percent")
_TYPE_NAMES = {"int": "integer", "double": "double", "currency": "currency", "percent": "percent",
               "boolean": "boolean", "date": "date", "datetime": "datetime"}
Test = Callable[[Any], bool]


def _date_literal(name: str) -> tuple[date, date] | None:
    """[start, end) for TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n, THIS_/LAST_/NEXT_ MONTH|YEAR."""
    today = date.today()
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


def _bound(d: date, f: Field) -> str:
    return d.isoformat() if f.type == "date" else d.isoformat() + "T00:00:00.000+0000"


def _typed(q: str, lit: Literal, f: Field) -> Any:
    """The literal as a value comparable with stored values of `f`, or Salesforce's filter error."""
    if lit.kind == "null":
        return None
    kind = f.type
    if kind in _NUMERIC or kind == "boolean" or kind in ("date", "datetime"):
        if lit.quoted:
            raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type "
                             f"{_TYPE_NAMES[kind]} and should not be enclosed in quotes", "INVALID_FIELD")
    if kind in _NUMERIC:
        if lit.kind != "number":
            raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type "
                             f"{_TYPE_NAMES[kind]}", "INVALID_FIELD")
        return lit.value
    if kind == "boolean":
        if lit.kind != "boolean":
            raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type "
                             "boolean", "INVALID_FIELD")
        return lit.value
    if kind == "date":
        if lit.kind == "date":
            return lit.value
        if lit.kind == "datetime":
            raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type date",
                             "INVALID_FIELD")
    if kind == "datetime" and lit.kind == "datetime":
        return parse_datetime(lit.value)
    if kind in ("date", "datetime"):
        if lit.kind == "dateliteral" and _date_literal(lit.value):
            return _date_literal(lit.value)
        raise soql_error(q, lit.pos, f"value of filter criterion for field '{f.name}' must be of type "
                         f"{_TYPE_NAMES[kind]} and should not be enclosed in quotes", "INVALID_FIELD")
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


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _same(v: Any) -> Any:
    return v


def _cmp(op: str, want: Any, f: Field) -> Test:
    _norm = _same if f.type in ("id", "reference") else _lower
    if isinstance(want, tuple):   # a date literal range [start, end)
        lo, hi = _bound(want[0], f), _bound(want[1], f)
        ranges: dict[str, Test] = {
            "=": lambda v: v is not None and lo <= v < hi, "!=": lambda v: v is None or not lo <= v < hi,
            "<": lambda v: v is not None and v < lo, "<=": lambda v: v is not None and v < hi,
            ">": lambda v: v is not None and v >= hi, ">=": lambda v: v is not None and v >= lo}
        return ranges[op]
    if want is None:
        return (lambda v: v is None) if op == "=" else (lambda v: v is not None) if op == "!=" else (lambda v: False)
    if op == "=":
        return lambda v: _norm(v) == want
    if op == "!=":
        return lambda v: _norm(v) != want
    ops: dict[str, Test] = {"<": lambda v: v is not None and _norm(v) < want,
                            ">": lambda v: v is not None and _norm(v) > want,
                            "<=": lambda v: v is not None and _norm(v) <= want,
                            ">=": lambda v: v is not None and _norm(v) >= want}
    return ops[op]


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


def comparison(q: str, c: Condition, f: Field) -> Test:
    """A test for one comparison condition on values of field `f`."""
    if c.op == "like":
        if f.type not in ("string", "textarea", "email", "phone", "url", "picklist", "combobox", "id",
                          "reference", "multipicklist"):
            raise soql_error(q, c.values[0].pos, f"invalid operator on field: {f.name}",
                             "INVALID_QUERY_FILTER_OPERATOR")
        return _like(str(c.values[0].value))
    _norm = _same if f.type in ("id", "reference") else _lower
    if c.op in ("in", "notin"):
        wanted = {_typed(q, lit, f) for lit in c.values}
        if c.op == "in":
            return lambda v: _norm(v) in wanted
        return lambda v: _norm(v) not in wanted
    if c.op in ("includes", "excludes"):
        sets = [{p.strip().lower() for p in str(lit.value).split(";")} for lit in c.values]

        def has(v: Any) -> bool:
            got = {p.lower() for p in (v or "").split(";") if p}
            return any(s <= got for s in sets)
        return has if c.op == "includes" else (lambda v: not has(v))
    return _cmp(c.operator, _typed(q, c.values[0], f), f)
