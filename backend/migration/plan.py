"""The plan: ordered steps, one object each, with its source, fields, filter, match rule and references.

JSON shape (docs/migrate.md):
    {"steps": [{"object": "Account", "fields": "*" | ["Name", ...], "where": "Name LIKE 'A%'",
                "match": ["Name"], "lookups": [...], "order_by": "Pricebook2.IsStandard DESC",
                "source": {"file": "accounts.csv", "key": "Key", "columns": {"Name": "Account Name"},
                           "references": {"ParentId": "ParentKey"}}}],
    a "source" may instead read a saved connection: {"connection": "NAME" (or "connection_id"), "table" | "query" |
    "path", "where", "key", "columns", "references"} (the read keys of `inflow import --connection`).
     "owners": {"fallback": "admin@target.example"}, "api": "auto"}
A step without "source" reads its object from the source org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.errors import ConfigError
from backend.pipeline.mapping import Lookup


@dataclass(kw_only=True)
class RowSource:
    """Rows whose `key` column names each row; `references` maps a field to the column of parent keys."""

    key: str
    columns: dict[str, str] = field(default_factory=dict)  # field -> column
    references: dict[str, str] = field(default_factory=dict)  # field -> column holding a parent step's key
    reference_objects: dict[str, str] = field(default_factory=dict)  # field -> parent object (polymorphic)


@dataclass(kw_only=True)
class FileSource(RowSource):
    """A CSV file, relative to the plan file."""

    file: str


@dataclass(kw_only=True)
class ConnectionSource(RowSource):
    """A saved connection of the account (by name, or by id as a saved job holds it) and what to read from it."""

    connection: str | None = None
    connection_id: str | None = None
    read: dict[str, Any] = field(default_factory=dict)  # table | query | path, where, time_zone, ...

    @property
    def label(self) -> str:
        return repr(self.connection) if self.connection else f"id {self.connection_id}"


READ_KEYS = ("table", "query", "path", "where", "time_zone", "unsupported_as_text")


@dataclass
class Step:
    object: str
    fields: list[str] | None = None  # None: every createable field (org source) or the file's columns
    where: str | None = None
    match: list[str] = field(default_factory=list)  # empty: always insert
    lookups: list[Lookup] = field(default_factory=list)
    source: RowSource | None = None  # None: the source org
    order_by: str | None = None  # SOQL ORDER BY of the source query: rows are written in this order, serially


@dataclass
class Plan:
    steps: list[Step]
    fallback_owner: str | None = None  # a target username or e-mail for owners without a match
    api: str = "auto"

    def step(self, sobject: str) -> Step | None:
        return next((s for s in self.steps if s.object.lower() == sobject.lower()), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
            raise ConfigError("A plan needs a non-empty list of steps.")
        steps = [_step(s) for s in data["steps"]]
        names = [s.object.lower() for s in steps]
        if len(set(names)) != len(names):
            raise ConfigError("Each object may appear in one step only.")
        owners = data.get("owners") or {}
        return cls(steps, owners.get("fallback"), data.get("api", "auto"))


def _step(data: Any) -> Step:
    if not isinstance(data, dict) or not data.get("object"):
        raise ConfigError("Every step needs an object.")
    fields = data.get("fields", "*")
    if fields != "*" and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
        raise ConfigError(f"Step {data['object']}: fields must be \"*\" or a list of field names.")
    match = data.get("match") or []
    match = [match] if isinstance(match, str) else list(match)
    source = _source(data["object"], data["source"]) if data.get("source") is not None else None
    try:
        lookups = [Lookup(**lk) for lk in data.get("lookups") or []]
    except TypeError as err:
        raise ConfigError(f"Step {data['object']}: bad lookup: {err}") from None
    return Step(data["object"], None if fields == "*" else fields, data.get("where"), match, lookups, source,
                data.get("order_by"))


def _source(sobject: str, src: Any) -> RowSource:
    if not isinstance(src, dict) or not src.get("key") or not (src.get("file") or src.get("connection")
                                                                 or src.get("connection_id")):
        raise ConfigError(f"Step {sobject}: a source needs \"key\" and \"file\" or \"connection\".")
    refs, objs = {}, {}
    for fname, ref in (src.get("references") or {}).items():
        if isinstance(ref, dict):
            refs[fname], objs[fname] = ref["column"], ref.get("object")
        else:
            refs[fname] = ref
    columns = src.get("columns") or {}
    columns = {c: c for c in columns} if isinstance(columns, list) else dict(columns)  # a list: field = column
    common = {"key": src["key"], "columns": columns, "references": refs,
              "reference_objects": {k: v for k, v in objs.items() if v}}
    if src.get("file"):
        return FileSource(file=src["file"], **common)
    read = {k: src[k] for k in READ_KEYS if src.get(k) not in (None, "")}
    if sum(k in read for k in ("table", "query", "path")) != 1:
        raise ConfigError(f"Step {sobject}: a connection source needs one of \"table\", \"query\" or \"path\".")
    if "table" in read:  # only the columns the step takes are read (a table may hold what is not for Salesforce)
        read["columns"] = list(dict.fromkeys([src["key"], *columns.values(), *refs.values()]))
    return ConnectionSource(connection=src.get("connection"), connection_id=src.get("connection_id"), read=read,
                            **common)


def shortcut(objects: list[str], where: list[str], match: list[str]) -> Plan:
    """The CLI's plan-less form: `--objects A,B --where 'A=cond' --match A=Name,B=Email`."""
    wheres = pairs(where, "--where")
    matches = {k: [f for f in v.split("+") if f] for k, v in pairs(split_commas(match), "--match").items()}
    steps = [Step(o, None, wheres.get(o.lower()), matches.get(o.lower(), [])) for o in objects]
    unknown = (set(wheres) | set(matches)) - {o.lower() for o in objects}
    if unknown:
        raise ConfigError(f"--where/--match name objects not in --objects: {', '.join(sorted(unknown))}.")
    return Plan(steps)


def split_commas(values: list[str]) -> list[str]:
    return [p for v in values for p in v.split(",") if p.strip()]


def pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ConfigError(f"{option} takes OBJECT=VALUE, not {v!r}.")
        out[name.strip().lower()] = rest.strip()
    return out

