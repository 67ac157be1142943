"""Undo a run: delete what it created, restore what it updated, undelete what it deleted.

The runner leaves per chunk `rollback/before/<i>` (values of changed fields before an update or upsert,
queried before the write) and `rollback/after/<i>` (ids written, with `created`). Hard-deleted records
cannot come back: rollback reports that instead of pretending. Progress is journaled per chunk
(`rollback/<i>`), so an interrupted rollback resumes without repeating itself.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from backend.pipeline.mapping import MappedChunk, Mapping
from backend.pipeline.parts import ResultParts, read_snapshot
from backend.pipeline.sinks.base import Journal, collection_error
from backend.salesforce.client import SalesforceClient, soql_quote

BATCH = 200
QUERY_IDS = 400  # ids per snapshot query: ~8,500 characters of URL, under Salesforce's ~16k limit
RESULT_PART = "rollback/result"
HARD_DELETE = "Hard-deleted records cannot be restored: they bypassed the recycle bin."


@dataclass
class RollbackContext:
    client: SalesforceClient
    journal: Journal
    results: ResultParts
    progress: Callable[[int, int], None] | None = None  # (succeeded, failed) so far


@dataclass
class RollbackResult:
    succeeded: int
    failed: int
    message: str | None = None


def _field_names(mapped: MappedChunk, describe: dict[str, Any]) -> list[str]:
    """Fields the write changes, as real field names (relationship columns map to their reference field)."""
    by_rel = {(f.get("relationshipName") or "").lower(): f["name"] for f in describe["fields"]}
    names = []
    for col in mapped.frame.columns:
        name = by_rel.get(col.split(".")[0].lower()) if "." in col else col
        if name and name.lower() != "id" and name not in names:
            names.append(name)
    return names


def capture_before(client: SalesforceClient, resolver: Any, mapping: Mapping, describe: dict[str, Any],
                   mapped: MappedChunk) -> dict[str, Any]:
    """Current values of the fields an update / upsert of `mapped` will change, by record Id."""
    updateable = {f["name"] for f in describe["fields"] if f.get("updateable")}
    fields = [f for f in _field_names(mapped, describe) if f in updateable]
    if "Id" in mapped.frame.columns:
        ids = mapped.frame["Id"].dropna()
    else:
        ids = resolver.existing_ids(mapping.object, mapping.match_key, mapped.frame[mapping.match_key]).dropna()
    records: list[dict[str, Any]] = []
    unique = list(pd.unique(ids))
    for start in range(0, len(unique), QUERY_IDS):
        batch = ", ".join(soql_quote(str(i)) for i in unique[start:start + QUERY_IDS])
        soql = f"SELECT {', '.join(['Id', *fields])} FROM {mapping.object} WHERE Id IN ({batch})"
        records.extend(client.query(soql))
    return {"object": mapping.object, "fields": fields, "records": records}


def rollback(ctx: RollbackContext) -> RollbackResult:
    """Undo every finished chunk of the run whose journal and parts `ctx` holds."""
    rows: list[list[str]] = []
    ok = bad = 0
    message = None
    # Every journaled chunk; a run done in pieces numbers each piece's chunks from its own base (gaps).
    for index in sorted(int(k.removeprefix("chunk/")) for k in ctx.journal.keys() if k.startswith("chunk/")):
        key = f"rollback/{index:06d}"
        done = ctx.journal.get(key)
        if done is None:
            after = read_snapshot(ctx.results, f"rollback/after/{index:06d}")
            before = read_snapshot(ctx.results, f"rollback/before/{index:06d}")
            part = _undo_chunk(ctx.client, after, before)
            done = {"rows": part}
            ctx.journal.put(key, done)
        if any(r[1] == "not restored" for r in done["rows"]):
            message = HARD_DELETE
        rows += done["rows"]
        ok += sum(1 for r in done["rows"] if not r[2])
        bad += sum(1 for r in done["rows"] if r[2])
        if ctx.progress:
            ctx.progress(ok, bad)
    _write_result(ctx.results, rows)
    return RollbackResult(ok, bad, message)


def _undo_chunk(client: SalesforceClient, after: dict[str, Any] | None,
                before: dict[str, Any] | None) -> list[list[str]]:
    """[id, action, error] per record undone."""
    if after is None:
        return []
    op, obj = after["operation"], after["object"]
    created = [i for i, c in zip(after["ids"], after["created"], strict=True) if c]
    changed = set(after["ids"]) - set(created)
    out: list[list[str]] = []
    if op in ("insert", "upsert"):
        out += _in_batches(created, lambda b: _delete(client, obj, b), "deleted")
    if op in ("update", "upsert") and before:
        recs = [r for r in before["records"] if r["Id"] in changed]
        out += _restore(client, obj, before["fields"], recs)
    if op == "hardDelete":
        out += [[i, "not restored", HARD_DELETE] for i in after["ids"]]
    if op == "delete":
        out += _in_batches(after["ids"], lambda b: [(r["id"] or i, r["error"]) for i, r in
                                                    zip(b, client.undelete(b), strict=True)], "undeleted")
    return out


def _in_batches(ids: list[str], call: Callable[[list[str]], list[tuple[str, str]]], action: str) -> list[list[str]]:
    out = []
    for start in range(0, len(ids), BATCH):
        out += [[rid, action, err] for rid, err in call(ids[start:start + BATCH])]
    return out


def _delete(client: SalesforceClient, obj: str, ids: list[str]) -> list[tuple[str, str]]:
    items = client.collection("delete", obj, [{"Id": i} for i in ids])
    return [(i, "" if it.get("success") else collection_error(it)) for i, it in zip(ids, items, strict=True)]


def _restore(client: SalesforceClient, obj: str, fields: list[str], records: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for start in range(0, len(records), BATCH):
        batch = [{"Id": r["Id"], **{f: r.get(f) for f in fields}} for r in records[start:start + BATCH]]
        items = client.collection("update", obj, batch)
        out += [[r["Id"], "restored", "" if it.get("success") else collection_error(it)]
                for r, it in zip(batch, items, strict=True)]
    return out


def _write_result(results: ResultParts, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    frame = pd.DataFrame(rows, columns=["sf__Id", "sf__Action", "sf__Error"])
    frame.to_csv(buf, index=False, lineterminator="\r\n")
    with results.open_part(RESULT_PART) as out:
        out.write(buf.getvalue().encode("utf-8"))
