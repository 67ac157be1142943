"""The mapping a job stores: target object, operation, match key, field mappings, lookups and options.

Plain dataclasses with `to_dict()` / `from_dict()` for the job's JSON column. `from_dict` checks the
shape and raises ConfigError; whether the mapping fits the org is `validate_mapping`'s job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from backend.errors import ConfigError

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
BLANK_POLICIES = ("unchanged", "null")


@dataclass
class FieldMapping:
    """Where one target field gets its value: exactly one of `column`, `constant`, `formula`.

    `value_map` translates values after they are produced (picklists: {"Hot": "High"}); matching
    ignores case and surrounding spaces, unmatched values pass through unchanged. `blank` and
    `truncate` override the mapping-wide options for this field when not None.
    """

    field: str
    column: str | None = None
    constant: str | None = None
    formula: str | None = None
    value_map: dict[str, str] = field(default_factory=dict)
    blank: str | None = None
    truncate: bool | None = None

    def __post_init__(self) -> None:
        given = [k for k in ("column", "constant", "formula") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ConfigError(f"Field {self.field}: choose exactly one of a column, a constant or a formula.")
        if self.blank is not None and self.blank not in BLANK_POLICIES:
            raise ConfigError(f"Field {self.field}: blank must be one of {', '.join(BLANK_POLICIES)}.")


@dataclass
class Lookup:
    """A reference field filled by finding the parent record whose `match_field` equals the mapped value.

    The field's FieldMapping supplies the value to look up (e.g. the column "Account Name" for
    AccountId with match_field "Name"). Resolution (batched SOQL) is lookups.py's job.
    """

    field: str
    parent_object: str
    match_field: str
    case_insensitive: bool = False
    no_match: str = "error"  # error | blank
    many_match: str = "error"  # error | first

    def __post_init__(self) -> None:
        if self.no_match not in ("error", "blank"):
            raise ConfigError(f"Lookup {self.field}: no_match must be 'error' or 'blank'.")
        if self.many_match not in ("error", "first"):
            raise ConfigError(f"Lookup {self.field}: many_match must be 'error' or 'first'.")


@dataclass
class Options:
    """Mapping-wide options.

    - `blank_values`: what an empty value means: "unchanged" (omit the field; on insert the default
      applies) or "null" (clear the field).
    - `date_formats`: input formats tried in order (names or strptime patterns, see values.py); ISO is
      always tried last as well.
    - `time_zone`: IANA zone for datetimes written without an offset.
    - `truncate`: cut text longer than the field instead of rejecting the row.
    - `number_locale`: how numbers in the source are written ("en" 1,234.56; "de" 1.234,56).
    - `skip_existing`: inserts only: a field; rows whose value of it matches an existing record are skipped
      (not errors), so running the same file again creates no duplicates.
    """

    blank_values: str = "unchanged"
    date_formats: list[str] = field(default_factory=lambda: ["iso"])
    time_zone: str = "UTC"
    truncate: bool = False
    number_locale: str = "en"
    skip_existing: str | None = None

    def __post_init__(self) -> None:
        if self.blank_values not in BLANK_POLICIES:
            raise ConfigError(f"blank_values must be one of {', '.join(BLANK_POLICIES)}.")
        from backend.pipeline.mapping import values
        for fmt in self.date_formats:
            values.check_format(fmt)
        values.zone(self.time_zone)
        if self.number_locale not in values.LOCALES:
            raise ConfigError(f"Unknown number locale '{self.number_locale}'.")

    @property
    def all_date_formats(self) -> list[str]:
        return self.date_formats + ([] if "iso" in self.date_formats else ["iso"])


@dataclass
class Mapping:
    """Everything that turns source rows into Salesforce records.

    `match_key` is the field that identifies existing records: "Id", an external id (upsert), or any
    field (update/delete by e.g. Email; the runner resolves it to Ids). Its value comes from the
    FieldMapping of that field. `filter` is a formula; rows where it is false are skipped (not errors).
    `dedupe_columns` lists source columns; a later row with the same values becomes a row error.
    """

    object: str
    operation: str = "insert"
    match_key: str | None = None
    fields: list[FieldMapping] = field(default_factory=list)
    lookups: list[Lookup] = field(default_factory=list)
    options: Options = field(default_factory=Options)
    filter: str | None = None
    dedupe_columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.object:
            raise ConfigError("Choose the object to import into.")
        if self.operation not in OPERATIONS:
            raise ConfigError(f"Unknown operation '{self.operation}'; use one of {', '.join(OPERATIONS)}.")
        if self.match_key is None and self.operation in ("update", "delete", "hardDelete"):
            self.match_key = "Id"
        if self.operation == "upsert" and not self.match_key:
            raise ConfigError("Upsert needs a match key: an external id field or Id.")
        seen: set[str] = set()
        for fm in self.fields:
            if fm.field.lower() in seen:
                raise ConfigError(f"Field {fm.field} is mapped twice.")
            seen.add(fm.field.lower())

    def field_mapping(self, name: str) -> FieldMapping | None:
        return next((f for f in self.fields if f.field.lower() == name.lower()), None)

    def lookup(self, name: str) -> Lookup | None:
        return next((lk for lk in self.lookups if lk.field.lower() == name.lower()), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        if not isinstance(data, dict):
            raise ConfigError("The mapping must be a JSON object.")
        try:
            return cls(
                **_known(cls, data, skip={"fields", "lookups", "options"}),
                fields=[FieldMapping(**_known(FieldMapping, f)) for f in data.get("fields") or []],
                lookups=[Lookup(**_known(Lookup, lk)) for lk in data.get("lookups") or []],
                options=Options(**_known(Options, data.get("options") or {})),
            )
        except TypeError as err:
            raise ConfigError(f"The mapping is incomplete: {err}.") from None


def _known(cls: type, data: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"Expected an object for {cls.__name__}, got {type(data).__name__}.")
    names = {f.name for f in fields(cls)} - skip
    unknown = set(data) - names - skip
    if unknown:
        raise ConfigError(f"Unknown {cls.__name__} setting(s): {', '.join(sorted(unknown))}.")
    return {k: v for k, v in data.items() if k in names}
