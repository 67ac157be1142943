"""Run a plan: each step through the import runner in reference order, then the second pass, and roll back.

Pass 1 writes every step's rows (parents first) with references translated through the KeyMap; rows
whose parent row failed are not sent and fail naming that parent. Pass 2 updates the references left
out (self-references, the broken edge of a cycle). Each step and pass has its own journal and result
parts (`step/<object>/<pass>/...`); `migrate/passes` lists them in the order run, so rollback undoes
them in reverse (children first). A dry run counts inserts, updates and unmatched values, writing nothing.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from backend.errors import ConfigError, InflowError
from backend.migration.keymap import NEW, KeyMap
from backend.migration.order import Order, Ref, order_steps
from backend.migration.plan import ConnectionSource, FileSource, Plan, Step
from backend.migration.scoped import ScopedJournal, ScopedParts
from backend.migration.sources import KEY, OrgReader, StepSource, file_chunks, file_fields, keyed_chunks, keyed_fields
from backend.migration.translate import Translator
from backend.pipeline import runner
from backend.pipeline.chunk import Chunk, RejectedRow, frame_from_columns
from backend.pipeline.mapping import FieldMapping, Mapping
from backend.pipeline.mapping.model import Options
from backend.pipeline.parts import ResultParts
from backend.pipeline.rollback import RollbackContext, RollbackResult, rollback
from backend.pipeline.sinks.base import Journal
from backend.pipeline.sources import Source
from backend.salesforce.client import SalesforceClient

TARGET_ID = "Target Id"
PASSES = "migrate/passes"
SKIP_TYPES = {"address", "location", "base64"}
SECOND_PASS_ROWS = 10_000


@dataclass
class StepResult:
    object: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    failed: int = 0
    unmatched: int = 0  # record types, owners and references with no match in the target (left blank)
    second_pass: int = 0  # records whose deferred references were set (or would be, in a dry run)
    second_failed: int = 0
    seconds: float = 0.0  # wall time of the step's first pass (read, translate, write)


@dataclass
class MigrationResult:
    order: Order
    steps: list[StepResult]
    dry_run: bool = False
    paused_until: Any = None
    stopped_reason: str | None = None

    @property
    def failed(self) -> int:
        return sum(s.failed + s.second_failed for s in self.steps)


Progress = Callable[[str, str, runner.Progress], None]  # (object, pass: insert | update | references, progress)
# A connection step's Source, opened by the caller within the account (the engine does not reach connectors).
OpenConnection = Callable[[ConnectionSource], Source]


def scope(sobject: str, pass_name: str) -> str:
    return f"step/{sobject}/{pass_name}/"


@dataclass
class _Prepared:
    step: Step
    fields: list[str]  # written fields, deferred ones included
    refs: dict[str, list[str]] = field(default_factory=dict)  # reference field -> parent objects
    fixed: dict[str, str] = field(default_factory=dict)  # file step: reference field -> its object
    reader: OrgReader | None = None
    rows: Source | None = None  # a connection step's opened source


class Migration:
    def __init__(self, plan: Plan, target: SalesforceClient, source: SalesforceClient | None = None, *,
                 journal: Journal, parts: ResultParts, base_dir: Path | None = None,
                 progress: Progress | None = None, chunk_rows: int | None = None,
                 sink_options: dict[str, Any] | None = None,
                 should_stop: Callable[[], str | None] | None = None,
                 connections: OpenConnection | None = None) -> None:
        self.plan, self.target, self.source, self.connections = plan, target, source, connections
        self.journal, self.parts, self.base_dir = journal, parts, base_dir or Path(".")
        self.progress, self.chunk_rows, self.sink_options = progress, chunk_rows, sink_options or {}
        self.should_stop = should_stop
        self.keys = KeyMap()
        self.translator = Translator(target, source, self.keys, plan.fallback_owner)
        self.steps: dict[str, _Prepared] = {}
        self.deferred_values: dict[str, dict[str, dict[str, str]]] = {}  # object -> key -> field -> source value

    # ---- planning ---------------------------------------------------------------------------------
    def prepare(self) -> Order:
        names = [self._object_name(s.object) for s in self.plan.steps]
        for step, name in zip(self.plan.steps, names, strict=True):
            step.object = name
            self.steps[name] = self._prepare(step, set(names))
        refs = {o: [Ref(f, tuple(ps), self._nillable(o, f)) for f, ps in p.refs.items() if ps]
                for o, p in self.steps.items()}
        self.order = order_steps(names, refs)
        return self.order

    def _object_name(self, sobject: str) -> str:
        return self.target.describe(sobject)["name"]  # Salesforce's spelling; NOT_FOUND for unknown objects

    def _nillable(self, sobject: str, name: str) -> bool:
        f = _fields(self.target.describe(sobject)).get(name)
        return bool(f and f.get("nillable", True))

    def _prepare(self, step: Step, plan_objects: set[str]) -> _Prepared:
        target = _fields(self.target.describe(step.object))
        if step.source is not None:
            prep = _Prepared(step, [])
            prep.fields = self._keyed_fields(prep)
            for name in step.source.references:
                f = target.get(name)
                fixed = step.source.reference_objects.get(name)
                parents = [fixed] if fixed else [p for p in (f or {}).get("referenceTo", []) if p in plan_objects]
                if f is None or not parents:
                    raise ConfigError(f"Step {step.object}: {name} does not reference another step's object.")
                prep.refs[name] = [p for p in parents if p in plan_objects]
                if fixed:
                    prep.fixed[name] = fixed
            return prep
        if self.source is None:
            raise ConfigError(f"Step {step.object} has no file source and no source org was given.")
        source = _fields(self.source.describe(step.object))
        names = step.fields if step.fields is not None else _default_fields(source, target, plan_objects)
        bad = [n for n in names if n not in source or n not in target or not target[n].get("createable")]
        if bad:
            raise ConfigError(f"Step {step.object}: not createable in the target or missing in either org: "
                              f"{', '.join(bad)}.")
        prep = _Prepared(step, list(names))
        for n in names:
            if target[n].get("type") == "reference":
                prep.refs[n] = [p for p in target[n].get("referenceTo", [])
                                if p in plan_objects and n not in ("OwnerId", "RecordTypeId")]
        return prep

    def _keyed_fields(self, prep: _Prepared) -> list[str]:
        spec, obj = prep.step.source, prep.step.object
        if isinstance(spec, FileSource):
            return file_fields(spec, self.base_dir)
        assert isinstance(spec, ConnectionSource)
        if self.connections is None:
            raise ConfigError(f"Step {obj}: saved connections cannot be read here.")
        try:
            prep.rows = self.connections(spec)
            return keyed_fields(spec, prep.rows, f"connection {spec.label}")
        except InflowError as err:
            raise ConfigError(f"Step {obj}: {' '.join(err.message.split())}") from None

    # ---- running ----------------------------------------------------------------------------------
    def run(self, dry_run: bool = False) -> MigrationResult:
        order = self.prepare() if not self.steps else self.order
        results = {o: StepResult(o) for o in order.objects}
        for obj in order.objects:  # every source query asked for now: later steps' query jobs run meanwhile
            if self.steps[obj].step.source is None:
                self._reader(self.steps[obj]).start()
        for obj in order.objects:
            started = time.perf_counter()
            out = self._first_pass(self.steps[obj], results[obj], dry_run)
            results[obj].seconds = round(time.perf_counter() - started, 2)
            if out is not None and (out.paused_until or out.stopped_reason):
                return MigrationResult(order, list(results.values()), dry_run, out.paused_until, out.stopped_reason)
        for obj in order.objects:
            if obj in order.deferred:
                out = self._second_pass(self.steps[obj], order.deferred[obj], results[obj], dry_run)
                if out is not None and (out.paused_until or out.stopped_reason):
                    return MigrationResult(order, list(results.values()), dry_run, out.paused_until,
                                           out.stopped_reason)
        return MigrationResult(order, list(results.values()), dry_run)

    def _raw_chunks(self, prep: _Prepared) -> Iterator[Chunk]:
        s = prep.step
        if prep.rows is not None:
            return keyed_chunks(s.source, prep.rows)
        if isinstance(s.source, FileSource):
            return file_chunks(s.source, self.base_dir, self.chunk_rows)
        return self._reader(prep).chunks()

    def _reader(self, prep: _Prepared) -> OrgReader:
        if prep.reader is None:
            assert self.source is not None
            prep.reader = OrgReader(self.source, prep.step.object, prep.fields, prep.step.where, self.chunk_rows,
                                   prep.step.order_by)
        return prep.reader

    def _first_pass(self, prep: _Prepared, result: StepResult, dry_run: bool) -> runner.RunResult | None:
        obj = prep.step.object
        deferred = self.order.deferred.get(obj, [])
        written = [f for f in prep.fields if f not in deferred]
        columns = [KEY, *written] + ([TARGET_ID] if prep.step.match else [])
        chunks = (self._translate(prep, chunk, written, deferred, result) for chunk in self._raw_chunks(prep))
        if dry_run:
            for chunk in chunks:
                matched = chunk.frame[TARGET_ID].to_numpy(dtype=object) if prep.step.match else None
                ids = self.keys.of(obj)
                for i, key in enumerate(chunk.frame[KEY].tolist()):
                    target_id = matched[i] if matched is not None else ""
                    ids[key] = target_id or NEW
                    result.updated += bool(target_id)
                    result.inserted += not target_id
            return None
        matched: list[Chunk] = []
        inserts = Mapping(obj, "insert", fields=[FieldMapping(f, column=f) for f in written],
                          lookups=list(prep.step.lookups), options=Options(blank_values="unchanged"))
        out = self._write(obj, "insert", StepSource(columns, lambda: _split(chunks, matched)), inserts)
        if out.paused_until is None and out.stopped_reason is None and matched:
            target = _fields(self.target.describe(obj))  # PricebookEntry.Product2Id: set on insert only
            updates = Mapping(obj, "update", "Id", fields=[FieldMapping("Id", column=TARGET_ID)]
                              + [FieldMapping(f, column=f) for f in written if target[f].get("updateable", True)],
                              lookups=list(prep.step.lookups), options=Options(blank_values="unchanged"))
            out = self._write(obj, "update", StepSource(columns, lambda: iter(matched)), updates)
        self._collect(obj, "insert", result)
        self._collect(obj, "update", result)
        self.keys.save(self.parts, obj)
        return out

    def _translate(self, prep: _Prepared, chunk: Chunk, written: list[str], deferred: list[str],
                   result: StepResult, match: bool = True) -> Chunk:
        obj, frame = prep.step.object, chunk.frame
        keys = frame[KEY].tolist()
        result.read += len(keys) + len(chunk.rejected)
        failed: dict[int, str] = {}
        translate = [f for f in written if f in prep.refs or (prep.step.source is None and _is_ref(self, obj, f))]
        for name in translate:
            r = self.translator.resolve(name, frame[name].tolist(), prep.refs.get(name) or self._parents(obj, name),
                                        set(self.steps), prep.fixed.get(name))
            frame[name] = frame_from_columns([name], [r.values])[name]
            result.unmatched += r.unmatched
            for i, why in r.failed.items():
                failed.setdefault(i, why)
        if deferred:
            store = self.deferred_values.setdefault(obj, {})
            for name in deferred:
                for key, value in zip(keys, frame[name].tolist(), strict=True):
                    if value:
                        store.setdefault(key, {})[name] = value
            frame = frame.drop(columns=deferred)
        if match and prep.step.match:
            self._match(prep, frame, failed)
        rejected = list(chunk.rejected)
        if failed:
            bad = np.zeros(len(keys), dtype=bool)
            for i, why in sorted(failed.items()):
                bad[i] = True
                self.keys.failures(obj)[keys[i]] = why
                rejected.append(RejectedRow(int(chunk.row_numbers[i]), f"{obj} row {keys[i]}: {why}"))
            frame = frame[~bad].reset_index(drop=True)
            chunk = Chunk(frame, chunk.row_numbers[~bad], rejected)
        return Chunk(frame, chunk.row_numbers, rejected)

    def _parents(self, obj: str, name: str) -> list[str]:
        return list(_fields(self.target.describe(obj))[name].get("referenceTo", []))

    def _match(self, prep: _Prepared, frame: Any, failed: dict[int, str]) -> None:
        fields = prep.step.match
        missing = [f for f in fields if f not in frame.columns]
        if missing:
            raise ConfigError(f"Step {prep.step.object}: match fields not among the step's fields: "
                              f"{', '.join(missing)}.")
        rows = list(zip(*(frame[f].tolist() for f in fields), strict=True))
        found = self.translator.match(prep.step.object, fields, rows)
        ids = []
        for i, hits in enumerate(found):
            if len(hits) > 1:
                failed.setdefault(i, f"{len(hits)} {prep.step.object} records in the target match "
                                     + ", ".join(f"{f}={v}" for f, v in zip(fields, rows[i], strict=True)))
            ids.append(hits[0] if len(hits) == 1 else "")
        frame[TARGET_ID] = frame_from_columns([TARGET_ID], [ids])[TARGET_ID]

    def _second_pass(self, prep: _Prepared, deferred: list[str], result: StepResult,
                     dry_run: bool) -> runner.RunResult | None:
        obj = prep.step.object
        pending = self.deferred_values.get(obj, {})
        ids = self.keys.of(obj)
        rows = [(k, ids[k], v) for k, v in pending.items() if ids.get(k)]
        if dry_run:
            result.second_pass = len(rows)
            return None
        columns = [KEY, "Id", *deferred]

        def chunks() -> Iterator[Chunk]:
            for start in range(0, len(rows), SECOND_PASS_ROWS):
                part = rows[start:start + SECOND_PASS_ROWS]
                values = [[r[0] for r in part], [r[1] for r in part]]
                values += [[r[2].get(f, "") for r in part] for f in deferred]
                frame = frame_from_columns(columns, values)
                yield self._translate(prep, Chunk(frame, np.arange(start + 1, start + 1 + len(part))),
                                      deferred, [], StepResult(obj), match=False)
        mapping = Mapping(obj, "update", "Id", fields=[FieldMapping(f, column=f) for f in ["Id", *deferred]],
                          options=Options(blank_values="unchanged"))
        out = self._write(obj, "references", StepSource(columns, chunks), mapping)
        result.second_pass, result.second_failed = out.succeeded, out.failed
        return out

    def _write(self, obj: str, pass_no: str, source: StepSource, mapping: Mapping) -> runner.RunResult:
        passes = self.journal.get(PASSES) or []
        if [obj, pass_no] not in passes:  # written before the pass, so rollback finds a pass that stopped
            self.journal.put(PASSES, [*passes, [obj, pass_no]])

        def progress(p: runner.Progress) -> None:
            if self.progress:
                self.progress(obj, pass_no, p)
        api, options = self.plan.api, dict(self.sink_options)
        if self.steps[obj].step.order_by:  # rows must land in order (standard prices first): one REST call at a time
            api, options["threads"] = "rest", 1
        return runner.run(runner.RunContext(
            source=source, mapping=mapping, client=self.target,
            journal=ScopedJournal(self.journal, scope(obj, pass_no)),
            results=ScopedParts(self.parts, scope(obj, pass_no)), api=api, progress=progress,
            should_stop=self.should_stop, sink_options=options))

    def _collect(self, obj: str, pass_no: str, result: StepResult) -> None:
        """Fill the KeyMap from the step's success parts, and its failures from the error parts."""
        journal, parts = ScopedJournal(self.journal, scope(obj, pass_no)), ScopedParts(self.parts, scope(obj, pass_no))
        ids, failures = self.keys.of(obj), self.keys.failures(obj)
        index = 0
        while journal.get(f"chunk/{index:06d}") is not None:
            ok = _columns(parts, f"success/{index:06d}", ["sf__Id", "sf__Created", KEY])
            if ok:
                ids.update(zip(ok[KEY], ok["sf__Id"], strict=True))
                created = sum(c == "true" for c in ok["sf__Created"])
                result.inserted += created
                result.updated += len(ok["sf__Id"]) - created
            bad = _columns(parts, f"error/{index:06d}", ["sf__Error", KEY])
            if bad:
                result.failed += len(bad[KEY])
                failures.update((k, e) for k, e in zip(bad[KEY], bad["sf__Error"], strict=True) if k)
            index += 1


def _columns(parts: ResultParts, name: str, wanted: list[str]) -> dict[str, list[str]] | None:
    """Some columns of a result part as lists of strings (pyarrow: a chunk's part parses in milliseconds)."""
    stream = parts.read(name)
    if stream is None:
        return None
    with stream:
        data = stream.read()
    table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
        include_columns=wanted, column_types={c: pa.string() for c in wanted}, strings_can_be_null=False,
        quoted_strings_can_be_null=False))
    return {c: table.column(c).to_pylist() for c in wanted}


def _split(chunks: Iterator[Chunk], matched: list[Chunk]) -> Iterator[Chunk]:
    """Rows without a match in the target go on (inserts); matched rows wait in `matched` (updates)."""
    for chunk in chunks:
        if TARGET_ID not in chunk.frame.columns:
            yield chunk
            continue
        hit = (chunk.frame[TARGET_ID] != "").to_numpy(dtype=bool)
        if hit.any():
            matched.append(Chunk(chunk.frame[hit].reset_index(drop=True), chunk.row_numbers[hit]))
        yield Chunk(chunk.frame[~hit].reset_index(drop=True), chunk.row_numbers[~hit], chunk.rejected)


def _fields(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in describe.get("fields", [])}


def _is_ref(m: Migration, obj: str, name: str) -> bool:
    return _fields(m.target.describe(obj)).get(name, {}).get("type") == "reference"


def _default_fields(source: dict[str, Any], target: dict[str, Any], plan_objects: set[str]) -> list[str]:
    """Every field createable in the target that the source has; references only to the plan's objects,
    record types and owners."""
    out = []
    for name, f in target.items():
        if not f.get("createable") or name not in source or f.get("type") in SKIP_TYPES:
            continue
        if f.get("type") == "reference" and name not in ("OwnerId", "RecordTypeId") and not (
                set(f.get("referenceTo", [])) & plan_objects):
            continue
        out.append(name)
    return out


def rollback_migration(target: SalesforceClient, journal: Journal, parts: ResultParts) -> list[tuple[str, int,
                                                                                                      RollbackResult]]:
    """Undo every pass of the run in reverse order: second passes, then the steps children first."""
    done = []
    for obj, pass_no in reversed(journal.get(PASSES) or []):
        where = scope(obj, pass_no)
        ctx = RollbackContext(target, ScopedJournal(journal, where), ScopedParts(parts, where))
        done.append((obj, pass_no, rollback(ctx)))
    return done
