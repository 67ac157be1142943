"""Turn source chunks into Salesforce-ready chunks: filter, de-duplicate, map, value-map, convert.

`Mapper(mapping, describe, columns).map_chunk(chunk) -> MappedChunk` is the transform entry point.
A Mapper keeps the de-duplication state of one run, so use one Mapper per run (and a fresh one for
a preview or a pre-flight pass).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from backend.errors import ConfigError
from backend.pipeline.chunk import STRING_DTYPE, Chunk, RejectedRow
from backend.pipeline.mapping import values as V
from backend.pipeline.mapping.convert import Problems, convert
from backend.pipeline.mapping.formula import Formula, compile_formula
from backend.pipeline.mapping.formula_types import Context
from backend.pipeline.mapping.model import FieldMapping, Mapping

NULL_MARKER_BULK = "#N/A"  # Bulk API CSV: sets a field to null


@dataclass(frozen=True)
class RowError:
    """A row that will not be written, why, and its original values (column -> text) for the error file."""

    row_number: int
    message: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class MappedChunk:
    """Rows ready for a sink, aligned three ways: `frame`, `row_numbers` and `source`.

    - `frame`: one column per target field (API names), string dtype, wire format; NA = blank.
      Lookup fields still hold the value to look up (lookups.py replaces it with an Id).
    - `source`: the same rows' original values, for the success file.
    - `errors`: rows left out (read errors, conversion errors, duplicates), sorted by row number.
    - `skipped`: rows the filter left out. `null_fields`: fields where blank means "set to null";
      a blank in any other field means "leave unchanged" (omit it).
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    source: pd.DataFrame
    errors: list[RowError]
    skipped: int = 0
    null_fields: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return len(self.frame)

    def records(self) -> Iterator[dict[str, Any]]:
        """REST bodies: blanks omitted, or None where the field is in `null_fields`."""
        cols = list(self.frame.columns)
        for row in self.frame.itertuples(index=False, name=None):
            rec = {}
            for name, value in zip(cols, row, strict=True):
                if value is pd.NA or value is None:
                    if name in self.null_fields:
                        rec[name] = None
                else:
                    rec[name] = value
            yield rec

    def bulk_frame(self) -> pd.DataFrame:
        """Bulk API CSV values: blanks empty, or `#N/A` where the field is in `null_fields`."""
        blank = [name for name, s in self.frame.items() if _has_blank(s)]
        if not blank:
            return self.frame  # most chunks of most columns: no new frame at all (copy-on-write keeps it safe)
        return self.frame.fillna({name: NULL_MARKER_BULK if name in self.null_fields else "" for name in blank})


def _has_blank(s: pd.Series) -> bool:
    """Whether a column holds NA; Arrow keeps the count of a string column's nulls, pandas would scan it."""
    return pa.array(s.array).null_count > 0 if s.dtype == STRING_DTYPE else bool(s.hasnans)


def rejected_error(rej: RejectedRow) -> RowError:
    """A read-time rejection as a RowError; the raw fields go into the message, never into columns."""
    raw = " | ".join(rej.raw_values)
    return RowError(rej.row_number, f"{rej.message} Fields: {raw[:500]}" if raw else rej.message)


class Mapper:
    """Compiled form of a Mapping for one run; raises ConfigError if a formula does not compile."""

    def __init__(self, mapping: Mapping, describe: dict[str, Any] | None, columns: Sequence[str]) -> None:
        self.mapping = mapping
        self.columns = list(columns)
        self.meta = {f["name"].lower(): f for f in (describe or {}).get("fields", [])}
        self.targets = self._targets()
        self.formulas: dict[str, Formula] = {}
        for fm in self.targets:
            if fm.formula is not None:
                try:
                    self.formulas[fm.field] = compile_formula(fm.formula, self.columns)
                except ConfigError as err:
                    raise ConfigError(f"Formula for {fm.field}: {err}") from None
            elif fm.column is not None and fm.column not in self.columns:
                raise ConfigError(f"Field {fm.field} is mapped from column '{fm.column}', which the source "
                                  "does not have.")
        self.filter = compile_formula(mapping.filter, self.columns) if mapping.filter else None
        missing = [c for c in mapping.dedupe_columns if c not in self.columns]
        if missing:
            raise ConfigError(f"De-duplicate columns not in the source: {', '.join(missing)}.")
        self._seen: dict[int, int] = {}
        self._canonical = replace(mapping.options, number_locale="en", date_formats=["iso"])

    def _targets(self) -> list[FieldMapping]:
        m = self.mapping
        if m.operation in ("delete", "hardDelete"):
            key = m.field_mapping(m.match_key or "Id")
            return [key] if key else []
        return list(m.fields)

    def null_fields(self) -> frozenset[str]:
        default = self.mapping.options.blank_values
        return frozenset(f.field for f in self.targets if (f.blank or default) == "null")

    def map_chunk(self, chunk: Chunk) -> MappedChunk:
        frame = chunk.frame.reset_index(drop=True)
        opts = self.mapping.options
        ctx = Context(frame, opts.time_zone, opts.all_date_formats, opts.number_locale)
        n = len(frame)
        keep = self.filter.truth(ctx) if self.filter else np.ones(n, dtype=bool)
        problems: Problems = self._dedupe(frame, chunk.row_numbers, keep)
        out = {}
        for fm in self.targets:
            with ctx.within(keep):
                out[fm.field] = self._field_values(fm, ctx, problems)
        problems += [(rows, msg) for rows, msg in ctx.errors]
        messages = _messages(problems, keep)
        good = keep.copy()
        good[list(messages)] = False
        errors = [rejected_error(rej) for rej in chunk.rejected]
        positions = sorted(messages)
        originals = frame.iloc[positions].astype(object).to_dict("records") if positions else []
        errors += [RowError(int(chunk.row_numbers[pos]), messages[pos], values)
                   for pos, values in zip(positions, originals, strict=True)]
        errors.sort(key=lambda e: e.row_number)
        if good.all():
            # No copy: the columns are immutable Arrow arrays, and pandas copies on write.
            return MappedChunk(pd.DataFrame(out, index=frame.index, copy=False), chunk.row_numbers, frame, errors, 0,
                               self.null_fields())
        mapped = pd.DataFrame({k: v[good].reset_index(drop=True) for k, v in out.items()},
                              index=pd.RangeIndex(int(good.sum())))
        return MappedChunk(mapped, chunk.row_numbers[good], frame[good].reset_index(drop=True), errors,
                           int(n - keep.sum()), self.null_fields())

    def _field_values(self, fm: FieldMapping, ctx: Context, problems: Problems) -> pd.Series:
        if fm.column is not None:
            s = ctx.frame[fm.column]
        elif fm.constant is not None:
            s = pd.Series(fm.constant, index=ctx.index, dtype=STRING_DTYPE)
        else:
            s = self.formulas[fm.field].text(ctx)
        s = V.text(s)
        if fm.value_map:
            s = _value_map(s, fm.value_map)
        meta = self.meta.get(fm.field.lower())
        if meta is None:
            return s
        truncate = self.mapping.options.truncate if fm.truncate is None else fm.truncate
        formula = self.formulas.get(fm.field)
        # A formula that yields a number or date writes it canonically ("1234.5", ISO), not the source's way.
        typed = formula is not None and formula.type not in ("text", "null")
        conv = convert(s, meta, self._canonical if typed else self.mapping.options, truncate=truncate,
                       is_lookup=self.mapping.lookup(fm.field) is not None, clean=True)
        problems += conv.problems
        if self._needs_value(fm, meta):
            missing = s.isna().to_numpy()
            if missing.any():
                problems.append((missing, f"{meta.get('label') or fm.field} is required"))
        return conv.values

    def _needs_value(self, fm: FieldMapping, meta: dict[str, Any]) -> bool:
        op = self.mapping.operation
        if op in ("delete", "hardDelete") or fm.field.lower() == (self.mapping.match_key or "").lower():
            return True
        clears = (fm.blank or self.mapping.options.blank_values) == "null" and op != "insert"
        return not meta.get("nillable", True) and meta.get("type") != "boolean" and (
            (op == "insert" and not meta.get("defaultedOnCreate")) or clears)

    def _dedupe(self, frame: pd.DataFrame, numbers: np.ndarray, keep: np.ndarray) -> Problems:
        cols = self.mapping.dedupe_columns
        if not cols:
            return []
        key = frame[cols[0]].str.strip().str.casefold().fillna("")
        for c in cols[1:]:
            key = key + "\x1f" + frame[c].str.strip().str.casefold().fillna("")
        hashes = pd.util.hash_pandas_object(key, index=False).to_numpy()
        dupes = np.zeros(len(frame), dtype=bool)
        firsts = []
        blank = (key.str.replace("\x1f", "", regex=False) == "").to_numpy(dtype=bool)
        for i in np.flatnonzero(keep & ~blank):  # rows without a key are not duplicates of each other
            first = self._seen.setdefault(int(hashes[i]), int(numbers[i]))
            if first != int(numbers[i]):
                dupes[i] = True
                firsts.append(f"Duplicate of row {first} (same {', '.join(cols)})")
        return [(dupes, pd.Series(firsts, index=frame.index[dupes], dtype=object))] if dupes.any() else []


def _value_map(s: pd.Series, value_map: dict[str, Any]) -> pd.Series:
    """Replace values found in `value_map` (keys compared casefolded); others stay as they are.

    Mapped columns (picklists) hold few distinct values: each is looked up once, not once per row.
    """
    table = {str(k).strip().casefold(): v for k, v in value_map.items()}
    whole = V.arrow(s)
    values = whole.combine_chunks() if isinstance(whole, pa.ChunkedArray) else whole
    encoded = pc.dictionary_encode(values)  # one hash pass: the distinct values and each row's index into them
    replaced = [u if (v := table.get(u.casefold())) is None else str(v) for u in encoded.dictionary.to_pylist()]
    return V.series(pc.take(pa.array(replaced, values.type), encoded.indices), s.index)


def _messages(problems: Problems, keep: np.ndarray) -> dict[int, str]:
    """Row position -> all its problems joined with '; ', for rows the filter kept."""
    found: dict[int, list[str]] = {}
    for rows, msg in problems:
        positions = np.flatnonzero(np.asarray(rows, dtype=bool) & keep)
        if not len(positions):
            continue
        texts = [msg] * len(positions) if isinstance(msg, str) else msg.reindex(positions).astype(str).tolist()
        for pos, text in zip(positions.tolist(), texts, strict=True):
            found.setdefault(pos, []).append(text)
    return {pos: "; ".join(parts) for pos, parts in found.items()}
