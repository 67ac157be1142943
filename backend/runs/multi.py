"""Multi-object jobs (`Job.kind == "migrate"`) as runs: every step of the plan in one run, one lease, one journal.

The job's `mapping` holds `{"plan": <plan JSON>}` (docs/migrate.md) and its `source` `{"type": "org",
"org_connection_id": ...}` for org steps (an org connection of the same account); `org_connection_id` is the
target. The engine's per-step result parts are joined into one success and one error file whose rows say
their object and source key; per-step counts are journaled (`migrate:steps`) and published (`steps`).
Rollback undoes every pass in reverse order (children first). worker/tasks.py sends runs of such jobs here.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from backend.errors import ConfigError, InflowError
from backend.extensions import db
from backend.migration.engine import Migration, MigrationResult, rollback_migration, scope
from backend.migration.plan import ConnectionSource, FileSource, Plan
from backend.models.base import TenantScope
from backend.models.jobs import Job
from backend.models.orgs import OrgConnection
from backend.models.runs import Run
from backend.pipeline import rollback as engine
from backend.pipeline.runner import Progress
from backend.runs import pieces as run_pieces
from backend.runs import progress as live
from backend.runs.execute import Execution, begin, claim, under_run_lock
from backend.runs.journal import RunJournal
from backend.runs.lease import LeaseLost, RunLease
from backend.runs.parts import BlobResultParts, join_parts
from backend.runs.rollback import RESULT_HEADER, _give_up, _sync, rollback_run
from backend.runs.service import IMPORT_TASK, ROLLBACK_TASK
from backend.salesforce.mirror import RunMirror
from backend.services import get_keyring, get_redis, get_settings

MIGRATE_KIND = "migrate"
COLUMNS = ["Object", "Source Id"]
WRITE_PASSES = ("insert", "update")
ALL_PASSES = ("insert", "update", "references")
ROLLED_BACK = "migrate:rollback"  # [object, pass, records undone, records failed] in the order undone


def rollback_any(run_id: str) -> str:
    """Roll back a run in state rolling_back, whichever kind: a migration's passes or an import's chunks."""
    return rollback_migration_run(run_id) if is_migration(run_id) else rollback_run(run_id)


def is_migration(run_id: str) -> bool:
    run = db.session.get(Run, run_id)
    if run is None:
        return False
    jobs = TenantScope(run.account_id).all(Job, Job.id == run.job_id)
    return bool(jobs) and jobs[0].kind == MIGRATE_KIND


def run_migration(run_id: str) -> str:
    return under_run_lock(run_id, _locked, IMPORT_TASK)


def _locked(run_id: str, lease: RunLease) -> tuple[str, datetime | None]:
    return begin(run_id, lease, MigrationExecution)


class MigrationExecution(Execution):
    """Execution with the migration engine instead of one runner call."""

    def _execute(self) -> tuple[str, datetime | None]:
        self.client = self.pieces.client()
        self.client.before_write = self.lease.still_held
        self.mirror = RunMirror(self.client, self.pieces.org.namespace_prefix, job=self.pieces.mirror_job(),
                                run_key=self.run.id)
        self._sync_mirror(final=True)
        plan, source = self._plan(), self._source_client()
        db.session.commit()
        if self.run.state == "cancelling":
            return self._finish(self._journaled_result(), COLUMNS), None
        self.reporter = live.ProgressReporter(self.conn, self.run.id, None, self.lease)
        live.publish(self.conn, self.run.id, state="running", paused_until="")
        self.passes: dict[tuple[str, str], Progress] = {}
        result = Migration(plan, self.client, source, journal=self.journal, parts=self.parts,
                           progress=self._step_progress, should_stop=self._should_stop,
                           connections=self._connection_source).run()
        steps = [asdict(s) for s in result.steps]
        self.journal.put("migrate:steps", steps)
        live.publish(self.conn, self.run.id, steps=json.dumps(steps), order=json.dumps(result.order.reasons))
        summary = _summary(result)
        if result.paused_until:
            return self._pause(summary, result.paused_until)
        self._combine(result)
        return self._finish(summary, COLUMNS), None

    def _plan(self) -> Plan:
        data = (self.pieces.job.mapping or {}).get("plan")
        if not data:
            raise ConfigError("The multi-object job has no plan.")
        plan = Plan.from_dict(data)
        if any(isinstance(s.source, FileSource) for s in plan.steps):
            raise ConfigError("File steps run from the command line only; a saved job reads a connected org "
                              "or saved connections.")
        self.org_steps = any(s.source is None for s in plan.steps)
        return plan

    def _connection_source(self, spec: ConnectionSource) -> Any:
        """A connection step reads one of the job's account's saved connections, by id (or by name)."""
        from backend.connectors import stored

        found = stored.find(self.pieces.scope, spec.connection) if spec.connection else None
        ident = found.id if found is not None else spec.connection_id
        return stored.open_source(self.pieces.scope, {"connection_id": ident, "read": spec.read},
                                  allow_loopback=get_settings().egress_allow_loopback)

    def _source_client(self) -> Any:
        if not self.org_steps:
            return None
        spec = self.pieces.job.source or {}
        orgs = self.pieces.scope.all(OrgConnection, OrgConnection.id == spec.get("org_connection_id"))
        if spec.get("type") != "org" or not orgs or orgs[0].status != "connected":
            raise ConfigError("The job's source instance is missing or disconnected; reconnect it and run again.")
        from backend.salesforce.session import client_for

        return client_for(orgs[0], get_keyring(), get_settings())

    def _step_progress(self, obj: str, pass_name: str, p: Progress) -> None:
        self.passes[(obj, pass_name)] = p
        writes = [q for (_, n), q in self.passes.items() if n in WRITE_PASSES]
        total = Progress(p.phase if p.phase != "done" else "writing", sum(q.rows_read for q in writes),
                         sum(q.succeeded for q in writes), sum(q.failed for q in self.passes.values()))
        live.publish(self.conn, self.run.id, step=f"{obj} ({pass_name})")
        self._on_progress(total)

    def _combine(self, result: MigrationResult) -> None:
        """One success and one error part per step pass, rows as `<sf__ columns>, Object, Source Id`; the
        second pass (references set by update) adds only its errors: its records are listed already."""
        index = 0
        for step in result.steps:
            for pass_name in ALL_PASSES:
                for kind in ("success", "error") if pass_name in WRITE_PASSES else ("error",):
                    names = self.parts.part_names(scope(step.object, pass_name) + kind + "/")
                    rows = [r for n in names for r in _part_rows(self.parts, n)]
                    if not rows:
                        continue
                    first = ["sf__Id", "sf__Created"] if kind == "success" else ["sf__Row", "sf__Error"]
                    buf = io.StringIO()
                    w = csv.writer(buf, lineterminator="\r\n")
                    w.writerow([*first, *COLUMNS])
                    w.writerows([r.get(first[0], ""), r.get(first[1], ""), step.object, r.get("Source Id", "")]
                                for r in rows)
                    with self.parts.open_part(f"{kind}/{index:06d}") as out:
                        out.write(buf.getvalue().encode())
                    index += 1


def _part_rows(parts: BlobResultParts, name: str) -> list[dict[str, str]]:
    stream = parts.read(name)
    if stream is None:
        return []
    with stream:
        data = stream.read()
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _summary(result: MigrationResult) -> Any:
    return SimpleNamespace(api_used="", rows_read=sum(s.read for s in result.steps),
                           succeeded=sum(s.inserted + s.updated for s in result.steps), failed=result.failed,
                           created=sum(s.inserted for s in result.steps),
                           stopped_reason=result.stopped_reason)


def rollback_migration_run(run_id: str) -> str:
    return under_run_lock(run_id, _rollback_locked, ROLLBACK_TASK)


def _rollback_locked(run_id: str, lease: RunLease) -> tuple[str, datetime | None]:
    """As runs/rollback.py, undoing every pass of the plan in reverse order."""
    run = db.session.get(Run, run_id)
    if run is None or run.state != "rolling_back":
        return (run.state if run else "missing"), None
    conn, mirror = get_redis(), None
    try:
        pieces = run_pieces.load(run)
        client = pieces.client()
        client.before_write = lease.still_held
        mirror = RunMirror(client, pieces.org.namespace_prefix, job=pieces.mirror_job(), run_key=run.id)
        parts = BlobResultParts(pieces.store, run.account_id, run_id, pieces.account.retention_days)
        db.session.commit()
        journal = RunJournal(run_id, lease)
        done = rollback_migration(client, journal, parts)
        journal.put(ROLLED_BACK, [[obj, p, r.succeeded, r.failed] for obj, p, r in done])
        with parts.open_part(engine.RESULT_PART) as out:
            join_parts((parts.read(scope(obj, p) + engine.RESULT_PART) for obj, p, _ in done), out,
                       lambda s: s.write(RESULT_HEADER))
        file_id = parts.assemble(engine.RESULT_PART, f"{run.id}-rollback.csv", lambda s: s.write(RESULT_HEADER))
    except LeaseLost:
        raise
    except InflowError as err:
        return _give_up(run, err.message, mirror, lease), None
    ok, bad = sum(r.succeeded for *_, r in done), sum(r.failed for *_, r in done)
    db.session.rollback()
    claim(lease)
    db.session.refresh(run)
    run.rollback_blob_id = file_id
    run.transition("rolled_back", error=f"{bad} record(s) could not be rolled back; see the rollback file."
                   if bad else None)
    db.session.commit()
    live.publish(conn, run.id, state=run.state, phase="done", rolled_back=ok, rollback_failed=bad)
    _sync(mirror, run)
    return run.state, None
