"""An export's query: SOQL built from an object, fields and a filter, or the user's own, checked against describe.

The check runs before anything is sent to a query job, and speaks Salesforce's own error text (the query,
a caret under the bad name, `ERROR at Row:r:Column:c`, the INVALID_FIELD sentence), so a mistake reads the
same whether we or Salesforce catch it. What the check leaves alone (WHERE, functions, subqueries)
Salesforce itself judges when the query runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from backend.errors import ConfigError, FatalSalesforceError

Describe = Callable[[str], dict[str, Any]]

_NO_COLUMN = ("No such column '{0}' on entity '{1}'. If you are attempting to use a custom field, be sure to "
              "append the '__c' after the custom field name. Please reference your WSDL or the describe call "
              "for the appropriate names.")
_NO_REL = ("Didn't understand relationship '{0}' in field path. If you are attempting to use a custom "
           "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
           "your WSDL or the describe call for the appropriate names.")
_NO_TYPE = ("sObject type '{0}' is not supported. If you are attempting to use a custom object, be sure to "
            "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.")
_KEYWORDS = re.compile(r"\b(SELECT|FROM|WHERE|WITH|GROUP\s+BY|ORDER\s+BY|LIMIT|OFFSET|FOR|ALL\s+ROWS)\b", re.I)
_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
COMPOUND_TYPES = ("address", "location")
# Describe types that hold numbers: exempt from the formula escape ("-5" must stay a number for a round trip
# into an import), and numeric cells in an .xlsx file.
NUMERIC_TYPES = frozenset({"int", "double", "currency", "percent", "long"})


class QueryError(ConfigError):
    """The query names something the object does not have; `message` is Salesforce's text with the caret."""


@dataclass(frozen=True)
class Column:
    """One output column: the SELECT item as written (the CSV header) and its field's describe type."""

    name: str
    type: str = "string"
    precision: int | None = None  # numbers: describe's digits and scale (a database target's numeric(p, s))
    scale: int | None = None


@dataclass(frozen=True)
class ExportQuery:
    """What to read: final SOQL, the object, the output columns in order, and whether deleted rows count."""

    soql: str
    object: str
    columns: list[Column] = field(default_factory=list)
    include_deleted: bool = False


def soql_for_object(object_name: str, fields: list[str] | None, where: str | None) -> str:
    """`SELECT <fields> FROM <object> [WHERE ...]`; no fields means Id only (the caller picks from describe)."""
    select = ", ".join(f.strip() for f in (fields or ["Id"]) if f.strip())
    return f"SELECT {select} FROM {object_name}" + (f" WHERE {where}" if where and where.strip() else "")


def all_fields(describe: dict[str, Any]) -> list[str]:
    """Every field of an object that a query can return, compounds left out (their parts are listed)."""
    return [f["name"] for f in describe["fields"] if f.get("type") not in COMPOUND_TYPES]


def _top_level(soql: str) -> list[tuple[str, int]]:
    """(keyword upper-cased, offset) of clause keywords outside quotes and parentheses."""
    out, depth, i, quote = [], 0, 0, False
    while i < len(soql):
        ch = soql[i]
        if quote:
            quote = not (ch == "'" and soql[i - 1] != "\\")
        elif ch == "'":
            quote = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif depth == 0 and (i == 0 or not (soql[i - 1].isalnum() or soql[i - 1] == "_")):
            m = _KEYWORDS.match(soql, i)
            if m:
                out.append((" ".join(m.group(1).upper().split()), i))
                i = m.end()
                continue
        i += 1
    return out


def _split_items(soql: str, start: int, end: int) -> list[tuple[str, int]]:
    """The SELECT list between offsets, split at top-level commas: (item, offset of its first character)."""
    items, depth, begin = [], 0, start
    for i in range(start, end + 1):
        ch = soql[i] if i < end else ","
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            raw = soql[begin:i]
            items.append((raw.strip(), begin + len(raw) - len(raw.lstrip())))
            begin = i + 1
    return items


def _error(soql: str, pos: int, message: str) -> QueryError:
    line = soql.count("\n", 0, pos) + 1
    column = pos - (soql.rfind("\n", 0, pos) + 1)
    shown = soql.splitlines()[line - 1] if soql.strip() else soql
    return QueryError(f"\n{shown}\n{' ' * column}^\nERROR at Row:{line}:Column:{column + 1}\n{message}",
                      detail="INVALID_FIELD")


def _field_type(path: str, pos: int, soql: str, obj: str, describe: Describe) -> dict[str, Any] | None:
    """The describe entry a dotted path ends at, or a QueryError; None past a polymorphic relationship."""
    parts = path.split(".")
    current = describe(obj)
    for depth, part in enumerate(parts):
        fields = {f["name"].lower(): f for f in current["fields"]}
        if depth == len(parts) - 1:
            found = fields.get(part.lower())
            if found is None:
                raise _error(soql, pos, _NO_COLUMN.format(path if depth else part, current["name"]))
            return found
        rel = next((f for f in current["fields"] if (f.get("relationshipName") or "").lower() == part.lower()),
                   None)
        if rel is None:
            raise _error(soql, pos, _NO_REL.format(part))
        if len(rel.get("referenceTo") or []) != 1:
            return None  # polymorphic (Who, What, Owner of a queue): Salesforce judges the rest
        current = describe(rel["referenceTo"][0])
    return None


def _expand(item: str, found: dict[str, Any], describe_obj: dict[str, Any]) -> list[str]:
    """A compound field (address, geolocation) becomes its parts, which Bulk queries can return."""
    if found.get("type") not in COMPOUND_TYPES:
        return [item]
    prefix = item.rpartition(".")[0]
    parts = [f["name"] for f in describe_obj["fields"] if f.get("compoundFieldName") == found["name"]]
    return [f"{prefix}.{p}" if prefix else p for p in parts] or [item]


def check_query(soql: str, describe: Describe, *, include_deleted: bool = False) -> ExportQuery:
    """Parse the SELECT list and FROM, check every field path against describe, flatten compounds."""
    soql = soql.strip()
    clauses = _top_level(soql)
    if len(clauses) < 2 or clauses[0] != ("SELECT", 0) or clauses[1][0] != "FROM":
        pos = clauses[1][1] if len(clauses) > 1 and clauses[0][0] == "SELECT" else 0
        raise QueryError(f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\nunexpected token: "
                         f"'{(soql[pos:].split() or ['<EOF>'])[0]}'", detail="MALFORMED_QUERY")
    from_at = clauses[1][1]
    obj_match = re.match(r"FROM\s+([A-Za-z][A-Za-z0-9_]*)", soql[from_at:], re.I)
    if not obj_match:
        raise QueryError(f"\n{soql}\n{' ' * from_at}^\nERROR at Row:1:Column:{from_at + 1}\nunexpected token: "
                         "'FROM'", detail="MALFORMED_QUERY")
    object_name = obj_match.group(1)
    try:
        root = describe(object_name)
    except FatalSalesforceError:  # describe answers 404 NOT_FOUND; the query would answer INVALID_TYPE
        raise _error(soql, from_at + obj_match.start(1), _NO_TYPE.format(object_name)) from None
    items, columns, expanded = _split_items(soql, len("SELECT"), from_at), [], False
    for item, pos in items:
        if not _PATH.match(item):
            columns.append(Column(item))  # a function, TYPEOF or subquery: Salesforce checks it
            continue
        found = _field_type(item, pos, soql, root["name"], describe)
        if found is None:
            columns.append(Column(item))
            continue
        owner = describe(_owner_of(item, root, describe)) if "." in item else root
        parts = _expand(item, found, owner)
        expanded = expanded or parts != [item]
        described = {f["name"].lower(): f for f in owner["fields"]}
        columns += [_column(p, described.get(p.rpartition(".")[2].lower(), found)) for p in parts]
    if expanded:
        soql = f"SELECT {', '.join(c.name for c in columns)} {soql[from_at:]}"
    return ExportQuery(soql, root["name"], columns, include_deleted)


def _column(name: str, found: dict[str, Any]) -> Column:
    return Column(name, found.get("type", "string"), found.get("precision") or None,
                  found.get("scale") if found.get("precision") else None)


def _owner_of(path: str, root: dict[str, Any], describe: Describe) -> str:
    current = root
    for part in path.split(".")[:-1]:
        rel = next(f for f in current["fields"] if (f.get("relationshipName") or "").lower() == part.lower())
        current = describe(rel["referenceTo"][0])
    return current["name"]


def since(query: ExportQuery, watermark: datetime | None) -> ExportQuery:
    """Only rows changed after the watermark, deleted ones included (queryAll, with an IsDeleted column)."""
    soql, columns = query.soql, list(query.columns)
    if not any(c.name.lower() == "isdeleted" for c in columns):
        at = next(pos for kw, pos in _top_level(soql) if kw == "FROM")
        soql = f"{soql[:at].rstrip()}, IsDeleted {soql[at:]}"
        columns.append(Column("IsDeleted", "boolean"))
    if watermark is not None:
        stamp = watermark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        soql = _and_where(soql, f"SystemModstamp > {stamp}")
    return replace(query, soql=soql, columns=columns, include_deleted=True)


def _and_where(soql: str, condition: str) -> str:
    clauses = _top_level(soql)
    where = next((pos for kw, pos in clauses if kw == "WHERE"), None)
    after = [pos for kw, pos in clauses if kw in ("WITH", "GROUP BY", "ORDER BY", "LIMIT", "OFFSET", "FOR",
                                                   "ALL ROWS") and (where is None or pos > where)]
    end = min(after, default=len(soql))
    if where is None:
        return f"{soql[:end].rstrip()} WHERE {condition} {soql[end:]}".rstrip()
    existing = soql[where + len("WHERE"):end].strip()
    return f"{soql[:where]}WHERE {condition} AND ({existing}) {soql[end:]}".rstrip()


def with_limit(soql: str, limit: int) -> str:
    """The query capped at `limit` rows (a preview): an existing smaller LIMIT stays."""
    clauses = _top_level(soql)
    at = next((pos for kw, pos in clauses if kw == "LIMIT"), None)
    if at is None:
        end = min((pos for kw, pos in clauses if kw in ("OFFSET", "FOR", "ALL ROWS")), default=len(soql))
        return f"{soql[:end].rstrip()} LIMIT {limit} {soql[end:]}".rstrip()
    m = re.match(r"LIMIT\s+(\d+)", soql[at:], re.I)
    if m and int(m.group(1)) > limit:
        return f"{soql[:at]}LIMIT {limit}{soql[at + m.end():]}"
    return soql
