"""A REST chunk's call log in the journal, and settling insert calls that were on the wire when a run died.

Why a query, and why this one. A process killed while an insert call is on the wire cannot know whether
Salesforce received it: the request may never have left, or Salesforce may have created every record and
the answer died with the process. Salesforce keeps no idempotency key to ask about a request, so the
resumed run asks about the records instead. Each in-flight call was marked in the journal with when it
started (Salesforce's clock: the last Date header plus the time since, minus CLOCK_MARGIN because that
header has whole seconds; our own clock minus LOCAL_MARGIN if no header was seen) and who sent it. The
resumed run queries the object for records with `CreatedById` = that user and `CreatedDate` >= that
time, selecting the mapped fields, and matches them to the call's unanswered rows by the values sent:
  - only fields whose values come back as sent are compared (text, email, phone, picklist, URL, text area,
    ids and references by their 15-character form, checkboxes, dates); numbers, datetimes and
    relationship objects may be echoed in another form, so they are ignored, and so are fields a row left
    blank (the record then holds the field's default, which we do not know);
  - text is compared without surrounding whitespace and with CRLF as LF; email and picklist values also
    without case, as Salesforce may store those in its own case;
  - records this chunk already recorded are excluded, and each record is claimed by one row at most
    (rows in order, records in creation order), so identical rows get distinct records.
A matched row becomes a success with the record's id (created); an unmatched row is sent again.

What remains: a row with no comparable field, or whose values a trigger or workflow changed on save,
is not recognised and is sent again (a duplicate). A record created in the margin before the mark by
the same user with the same values (the previous chunk's identical row, say) could be claimed instead
of the row's own record. A call still running on Salesforce when the run resumes is not seen yet:
Runs resumes a crashed run only after its lock expires (20 s) or a retry delay (30 s or more), longer
than an sObject Collections call runs. The user is the one whose tokens a run uses (the OrgConnection's
`connected_by`, given to the client up front); only a client with a bare access token (the CLI's
--access-token) asks OAuth userinfo, and if Salesforce will not say, the query goes without `CreatedById`.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from backend.pipeline.mapping import Mapping
from backend.pipeline.sinks.base import Journal, RowResults
from backend.salesforce.client import SalesforceClient, soql_quote

BATCH = 200
SENT = "sent"  # journal entry key: call number -> [started at (ISO, UTC, margin taken), user id or None]
CLOCK_MARGIN = timedelta(seconds=2)
LOCAL_MARGIN = timedelta(minutes=5)
TEXT = {"string", "phone", "url", "textarea", "encryptedstring"}
FOLDED = {"email", "picklist", "combobox"}
IDS = {"id", "reference"}
PLAIN = {"boolean", "date"}


def stamp(client: SalesforceClient) -> list[Any]:
    """The "sent" mark of calls leaving now: a start time Salesforce's CreatedDate cannot precede, and the user."""
    now = client.server_time()
    start = now - CLOCK_MARGIN if now is not None else datetime.now(UTC) - LOCAL_MARGIN
    return [start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), client.user_id()]


def _calls(rows: np.ndarray) -> set[str]:
    return {str(int(r) // BATCH) for r in rows}


class CallLog:
    """What the journal entry `rest/<chunk>` knows: per 200-row call its results, and insert calls marked sent."""

    def __init__(self, journal: Journal, key: str, n: int) -> None:
        self.journal, self.key, self.n = journal, key, n
        entry: dict[str, Any] = journal.get(key) or {}
        self.marks: dict[str, list[Any]] = entry.pop(SENT, None) or {}
        self.done: dict[str, list[list[Any]]] = entry
        self.results = RowResults.empty(n)
        self.pending = np.ones(n, dtype=bool)  # rows without an answer from Salesforce
        self.flying: Counter[str] = Counter()  # call number -> batches on the wire with rows of it
        for b, rows in self.done.items():
            start = int(b) * BATCH
            self.place(np.arange(start, start + len(rows)), RowResults.from_lists(rows))

    def place(self, rows: np.ndarray, part: RowResults) -> None:
        r = self.results
        r.ids[rows], r.created[rows], r.errors[rows] = part.ids, part.created, part.errors
        self.pending[rows] = False

    def batches(self) -> list[np.ndarray]:
        """The rows still to send, one batch per 200-row call."""
        out = []
        for b in range(0, self.n, BATCH):
            rows = np.flatnonzero(self.pending[b:b + BATCH]) + b
            if len(rows):
                out.append(rows)
        return out

    def fly(self, rows: np.ndarray, mark: list[Any] | None) -> None:
        """`rows` leave in one call; with a mark (inserts) their 200-row calls are marked sent."""
        for b in _calls(rows):
            self.flying[b] += 1
            if mark is not None:
                self.marks.setdefault(b, mark)  # a call's earliest mark covers every batch of it in flight

    def land(self, rows: np.ndarray, part: RowResults) -> None:
        """A call returned: record its rows (a lock retry's rows may span several calls)."""
        self.place(rows, part)
        for b in _calls(rows):
            self.record_call(b)
            self.flying[b] -= 1
            if self.flying[b] <= 0:
                self.marks.pop(b, None)

    def record_call(self, b: str) -> None:
        call = slice(int(b) * BATCH, (int(b) + 1) * BATCH)
        r = self.results
        self.done[b] = RowResults(r.ids[call], r.created[call], r.errors[call]).to_lists()

    def save(self) -> None:
        self.journal.put(self.key, {**self.done, SENT: self.marks} if self.marks else self.done)

    def unsettled(self) -> list[int]:
        """Rows of the calls marked sent that have no success recorded: never answered, or lock-refused."""
        locked = self.results.locked()
        rows: list[int] = []
        for b in sorted(self.marks, key=int):
            call = np.arange(int(b) * BATCH, min((int(b) + 1) * BATCH, self.n))
            rows += [int(i) for i in call[self.pending[call] | locked[call]]]
        return rows


def settle_sent(client: SalesforceClient, mapping: Mapping, records: list[dict[str, Any]], log: CallLog) -> None:
    """Rows of the calls marked sent whose record Salesforce created become successes; the rest stay to send."""
    rows = log.unsettled()
    compare = _comparable(client.describe(mapping.object))
    wanted = sorted({compare[k.lower()][0] for i in rows for k in records[i] if k.lower() in compare})
    if rows and wanted:
        known = {str(i) for i in log.results.ids[log.results.ok] if i}
        found = _candidates(client, mapping.object, wanted, log.marks, known)
        for i, rid in _match(compare, records, rows, found).items():
            log.place(np.array([i]), RowResults(np.array([rid], dtype=object), np.array([True]),
                                                np.array([""], dtype=object)))
    for b in log.marks:
        if not log.pending[int(b) * BATCH:(int(b) + 1) * BATCH].any():
            log.record_call(b)  # fully answered now; rows still lock-refused go to the lock retries
    log.marks.clear()  # answered: what is not found was not created, and is sent again with a new mark
    log.save()


def _comparable(describe: dict[str, Any]) -> dict[str, tuple[str, Callable[[Any], str]]]:
    """lower-case field name -> (its name, how its value is normalised) for the fields compared."""
    out = {}
    for f in describe.get("fields", []):
        kind = f.get("type")
        if kind in TEXT or kind in FOLDED or kind in IDS or kind in PLAIN:
            out[f["name"].lower()] = (f["name"], _normaliser(kind))
    return out


def _normaliser(kind: str) -> Callable[[Any], str]:
    def norm(value: Any) -> str:
        if value is None or isinstance(value, dict):
            return ""
        text = str(value).replace("\r\n", "\n").strip()
        if kind in IDS:
            return text[:15]  # the 18-character form adds a case-safe suffix to the same 15 characters
        if kind == "boolean":
            return text.lower()
        if kind == "date":
            return text[:10]
        return text.casefold() if kind in FOLDED else text
    return norm


def _candidates(client: SalesforceClient, sobject: str, fields: list[str], marks: dict[str, list[Any]],
                known: set[str]) -> list[dict[str, Any]]:
    """Records created since the earliest mark (by its user, if all marks name one), oldest first."""
    since = min(m[0] for m in marks.values())
    users = {m[1] for m in marks.values()}
    user = next(iter(users)) if len(users) == 1 else None
    where = f"CreatedDate >= {since}" + (f" AND CreatedById = {soql_quote(user)}" if user else "")
    select = ", ".join(["Id", "CreatedDate", *[f for f in fields if f not in ("Id", "CreatedDate")]])
    start = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    found = [r for r in client.query(f"SELECT {select} FROM {sobject} WHERE {where}")
             if r["Id"] not in known and _created(r) >= start]
    return sorted(found, key=lambda r: (_created(r), r["Id"]))


def _created(rec: dict[str, Any]) -> datetime:
    """The record's CreatedDate. The window is checked here too, so a record outside it is never claimed even
    if the org's filter lets it in (localorg, the test org, compares datetimes as case-folded text)."""
    try:
        return datetime.strptime(str(rec.get("CreatedDate")), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # a form we cannot read: the query's own filter let it in


def _match(compare: dict[str, tuple[str, Callable[[Any], str]]], records: list[dict[str, Any]], rows: list[int],
           found: list[dict[str, Any]]) -> dict[int, str]:
    """Row -> id of the first unclaimed record with the row's values in every comparable field it sent."""
    indexes: dict[tuple[str, ...], dict[tuple[str, ...], deque[str]]] = {}
    claimed: set[str] = set()
    out: dict[int, str] = {}
    for i in rows:
        sent = sorted((compare[k.lower()][0], compare[k.lower()][1](v)) for k, v in records[i].items()
                      if k.lower() in compare and not isinstance(v, dict))
        names = tuple(name for name, _ in sent)
        if not names:
            continue  # nothing to recognise its record by: it is sent again
        if names not in indexes:
            indexes[names] = _index(compare, names, found)
        ids = indexes[names].get(tuple(value for _, value in sent), deque())
        while ids and ids[0] in claimed:
            ids.popleft()
        if ids:
            out[i] = ids.popleft()
            claimed.add(out[i])
    return out


def _index(compare: dict[str, tuple[str, Callable[[Any], str]]], names: tuple[str, ...],
           found: list[dict[str, Any]]) -> dict[tuple[str, ...], deque[str]]:
    norms = {name: norm for name, norm in compare.values()}
    index: dict[tuple[str, ...], deque[str]] = {}
    for rec in found:
        key = tuple(norms[n](rec.get(n)) for n in names)
        index.setdefault(key, deque()).append(rec["Id"])
    return index
