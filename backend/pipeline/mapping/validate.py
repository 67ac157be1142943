"""Pre-flight checks of a mapping against the object's describe, returned as lists (never raised).

`validate_mapping` finds mapping-level problems; `preview` maps the first rows so the user sees what
would be sent and which rows would fail, before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from backend.errors import ConfigError
from backend.pipeline.chunk import Chunk
from backend.pipeline.mapping import dates
from backend.pipeline.mapping.convert import allowed_values, convert
from backend.pipeline.mapping.formula import compile_formula
from backend.pipeline.mapping.mapper import Mapper, RowError
from backend.pipeline.mapping.model import FieldMapping, Mapping


@dataclass(frozen=True)
class Issue:
    """One finding: `code` is stable for the UI, `message` is for people, `field` the target field."""

    code: str
    message: str
    field: str | None = None


@dataclass
class ValidationReport:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"errors": [vars(i) for i in self.errors], "warnings": [vars(i) for i in self.warnings]}


def required_fields(describe: dict[str, Any]) -> list[dict[str, Any]]:
    """Fields an insert must set: createable, not nillable, no default, not a checkbox."""
    return [f for f in describe.get("fields", []) if f.get("createable") and not f.get("nillable", True)
            and not f.get("defaultedOnCreate") and f.get("type") != "boolean"]


def validate_mapping(mapping: Mapping, describe: dict[str, Any], columns: Sequence[str]) -> ValidationReport:
    """Everything wrong with `mapping` for this object and these source columns."""
    report = ValidationReport()
    meta = {f["name"].lower(): f for f in describe.get("fields", [])}
    if describe.get("name") and describe["name"].lower() != mapping.object.lower():
        report.errors.append(Issue("object_mismatch", f"The describe is for {describe['name']}, "
                                   f"not {mapping.object}."))
    _check_operation(mapping, describe, report)
    _check_match_key(mapping, meta, report)
    for fm in mapping.fields:
        _check_field(mapping, fm, meta.get(fm.field.lower()), columns, report)
    if mapping.operation == "insert":
        mapped = {f.field.lower() for f in mapping.fields}
        for f in required_fields(describe):
            if f["name"].lower() not in mapped:
                report.errors.append(Issue("required_not_mapped", f"{f.get('label')} ({f['name']}) is required "
                                           "for new records but is not mapped.", f["name"]))
    if mapping.operation in ("delete", "hardDelete") and len(mapping.fields) > 1:
        report.warnings.append(Issue("fields_ignored", "Delete only uses the match key; other mapped fields "
                                     "are ignored."))
    _check_lookups(mapping, meta, report)
    _check_formula(mapping.filter, columns, "filter", None, report)
    for c in mapping.dedupe_columns:
        if c not in columns:
            report.errors.append(Issue("unknown_column", f"De-duplicate column '{c}' is not in the source."))
    return report


_VERBS = {"createable": "created", "updateable": "updated", "deletable": "deleted"}


def _check_operation(mapping: Mapping, describe: dict[str, Any], report: ValidationReport) -> None:
    need = {"insert": "createable", "update": "updateable", "upsert": "createable",
            "delete": "deletable", "hardDelete": "deletable"}[mapping.operation]
    if describe.get(need) is False:
        report.errors.append(Issue("operation_not_allowed", f"{mapping.object} records cannot be "
                                   f"{_VERBS[need]} by this user."))


def _check_match_key(mapping: Mapping, meta: dict[str, dict[str, Any]], report: ValidationReport) -> None:
    key = mapping.match_key
    if not key or mapping.operation == "insert":
        return
    f = meta.get(key.lower())
    if f is None:
        report.errors.append(Issue("unknown_field", f"Match key {key} is not a field of {mapping.object}.", key))
        return
    if mapping.operation == "upsert" and key.lower() != "id" and not f.get("externalId"):
        # Allowed: the runner finds the records by query and upserts by Id (see lookups.match_ids).
        report.warnings.append(Issue("matched_by_query", f"{f.get('label') or key} ({key}) is not an External ID "
                                     "field, so records are matched by query; several matches are rejected.", key))
    if key.lower() != "id" and not (f.get("idLookup") or f.get("filterable", True)):
        report.errors.append(Issue("not_matchable", f"Records cannot be found by {key}.", key))
    if mapping.field_mapping(key) is None:
        report.errors.append(Issue("match_key_not_mapped", f"Map a column to the match key {key}.", key))


def _check_field(mapping: Mapping, fm: FieldMapping, f: dict[str, Any] | None, columns: Sequence[str],
                 report: ValidationReport) -> None:
    if f is None:
        report.errors.append(Issue("unknown_field", f"{fm.field} is not a field of {mapping.object}.", fm.field))
        return
    label, op = f"{f.get('label')} ({fm.field})", mapping.operation
    is_key = fm.field.lower() == (mapping.match_key or "").lower()
    if f.get("calculated") or f.get("autoNumber"):
        report.errors.append(Issue("read_only", f"{label} is calculated and cannot be written.", fm.field))
    elif op in ("insert", "upsert") and not f.get("createable") and not is_key:
        report.errors.append(Issue("not_createable", f"{label} cannot be set on new records.", fm.field))
    elif op == "update" and not f.get("updateable") and not is_key:
        report.errors.append(Issue("not_updateable", f"{label} cannot be changed on existing records.", fm.field))
    elif op == "upsert" and not f.get("updateable") and not is_key:
        report.warnings.append(Issue("not_updateable", f"{label} is only set on new records; existing records "
                                     "keep their value.", fm.field))
    if fm.column is not None and fm.column not in columns:
        report.errors.append(Issue("unknown_column", f"Column '{fm.column}' for {label} is not in the source.",
                                   fm.field))
    if fm.constant is not None:
        _check_constant(mapping, fm, f, report)
    _check_formula(fm.formula, columns, f"formula for {fm.field}", fm.field, report, f)
    if fm.value_map and f.get("restrictedPicklist"):
        allowed = {v.casefold() for v in allowed_values(f)}
        bad = [v for v in fm.value_map.values() if v.casefold() not in allowed]
        if bad:
            report.errors.append(Issue("value_map_not_allowed", f"Value map for {label} produces values the "
                                       f"picklist does not allow: {', '.join(bad)}.", fm.field))


def _check_constant(mapping: Mapping, fm: FieldMapping, f: dict[str, Any], report: ValidationReport) -> None:
    conv = convert(pd.Series([fm.constant]), f, mapping.options,
                   truncate=mapping.options.truncate if fm.truncate is None else bool(fm.truncate),
                   is_lookup=mapping.lookup(fm.field) is not None)
    for rows, msg in conv.problems:
        text = msg if isinstance(msg, str) else str(msg[rows].iloc[0])
        report.errors.append(Issue("constant_type", f"Constant for {text}.", fm.field))


# Formula result types a field type can take; text is always allowed (it is converted per row).
_FORMULA_FITS = {"boolean": {"bool"}, "date": {"date", "datetime"}, "datetime": {"datetime", "date"},
                 "int": {"number"}, "double": {"number"}, "currency": {"number"}, "percent": {"number"},
                 "long": {"number"}}


def _check_formula(src: str | None, columns: Sequence[str], what: str, fieldname: str | None,
                   report: ValidationReport, field_meta: dict[str, Any] | None = None) -> None:
    if src is None:
        return
    try:
        formula = compile_formula(src, columns)
    except ConfigError as err:
        report.errors.append(Issue("formula", f"In the {what}: {err}", fieldname))
        return
    if fieldname is None:
        if formula.type not in ("bool", "text"):
            report.errors.append(Issue("formula_type", f"The {what} gives a {formula.type}; it must give "
                                       "true or false."))
        return
    kind = str((field_meta or {}).get("type", "string"))
    fits = _FORMULA_FITS.get(kind)
    if fits is not None and formula.type not in fits | {"text", "null"}:
        report.errors.append(Issue("formula_type", f"The {what} gives a {formula.type}, but "
                                   f"{(field_meta or {}).get('label')} is a {kind} field.", fieldname))


def _check_lookups(mapping: Mapping, meta: dict[str, dict[str, Any]], report: ValidationReport) -> None:
    for lk in mapping.lookups:
        f = meta.get(lk.field.lower())
        if f is None or f.get("type") != "reference":
            report.errors.append(Issue("lookup_not_reference", f"Lookup {lk.field} is not a lookup field of "
                                       f"{mapping.object}.", lk.field))
            continue
        targets = [t.lower() for t in f.get("referenceTo") or []]
        if lk.parent_object.lower() not in targets:
            report.errors.append(Issue("lookup_wrong_object", f"{lk.field} points to "
                                       f"{', '.join(f.get('referenceTo') or [])}, not {lk.parent_object}.", lk.field))
        if mapping.field_mapping(lk.field) is None:
            report.errors.append(Issue("lookup_not_mapped", f"Map a column to {lk.field} to look up "
                                       f"{lk.parent_object} by {lk.match_field}.", lk.field))


@dataclass
class Preview:
    """The first mapped rows as dicts (field -> wire value or None) with their row numbers, and row errors."""

    rows: list[dict[str, Any]]
    row_numbers: list[int]
    errors: list[RowError]


def preview(mapping: Mapping, describe: dict[str, Any] | None, chunks: Iterable[Chunk],
            columns: Sequence[str], limit: int = 20) -> Preview:
    """Map source rows until `limit` good rows are collected; errors met on the way are reported too."""
    mapper = Mapper(mapping, describe, columns)
    result = Preview([], [], [])
    for chunk in chunks:
        part = mapper.map_chunk(chunk)
        take = limit - len(result.rows)
        frame = part.frame.head(take).astype(object)
        result.rows += frame.where(frame.notna(), None).to_dict("records")
        result.row_numbers += [int(n) for n in part.row_numbers[:take]]
        cutoff = part.row_numbers[take - 1] if len(part) >= take else None
        result.errors += [e for e in part.errors if cutoff is None or e.row_number < cutoff]
        if len(result.rows) >= limit:
            break
    return result


@dataclass
class RowCheck:
    """A dry run over the whole source: how many rows would be sent, skipped or fail, and the first errors."""

    rows: int = 0
    ready: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)


def check_rows(mapping: Mapping, describe: dict[str, Any] | None, chunks: Iterable[Chunk],
               columns: Sequence[str], max_errors: int = 100) -> RowCheck:
    """Map every row without writing anything, so row errors are known before the import starts.

    Lookups are not resolved here (that needs Salesforce); everything else a row can fail on is.
    """
    mapper = Mapper(mapping, describe, columns)
    result = RowCheck()
    for chunk in chunks:
        part = mapper.map_chunk(chunk)
        result.rows += len(chunk) + len(chunk.rejected)
        result.ready += len(part)
        result.skipped += part.skipped
        result.failed += len(part.errors)
        result.errors += part.errors[:max_errors - len(result.errors)]
    return result


def date_format_issues(mapping: Mapping, describe: dict[str, Any], sample: pd.DataFrame) -> list[Issue]:
    """Errors for date columns the chosen format cannot read while another one reads them all (the file is
    day first, the job says ISO): every such row would fail, so the review blocks the run and says which."""
    meta = {f["name"].lower(): f for f in describe.get("fields", [])}
    issues = []
    for fm in mapping.fields:
        f = meta.get(fm.field.lower())
        if f is None or f.get("type") not in ("date", "datetime") or fm.column not in sample.columns:
            continue
        values = [v for v in sample[fm.column].dropna().tolist() if str(v).strip()]
        found = dates.detect(values)
        if found and not dates.fits(values, mapping.options.date_formats) and dates.fits(values, [found]):
            issues.append(Issue("date_format", f"{f.get('label')} ({fm.field}): the dates in '{fm.column}' are "
                                f"written like {values[0]} ({dates.example(found)} style), not in "
                                f"{dates.described(mapping.options.date_formats)}; choose the "
                                f"{dates.example(found)} style date format.", fm.field))
    return issues
