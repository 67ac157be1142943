"""REST inserts killed with calls on the wire: the resumed run settles them by query, never inserting twice.

The crash is reproduced exactly: the journal's put that would record a returned call raises before it
stores anything (the process died between Salesforce's answer and our write), or after it stored the
"sent" mark of a call that then never left. Every call really goes to localorg over HTTPS.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sfdx.localorg.values import format_datetime
from tests.pipeline.sf_helpers import (  # noqa: F401
    FieldMapping,
    Mapping,
    MemoryJournal,
    MemoryParts,
    client,
    csv_bytes,
    records,
    start,
)

KEY = "rest/000000"
MAPPING = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Mail"),
                                     FieldMapping("AccountId", column="Acc")])
GHOST_ACCOUNT = "001000000000000AAA"  # Salesforce refuses rows that point at it


class DieAtPut(MemoryJournal):
    """The process dies at the n-th put of a chunk's call log: before it is stored, or (`stored`) just after."""

    def __init__(self, n: int, *, stored: bool = False) -> None:
        super().__init__()
        self.left, self.stored = n, stored
        self.left_behind: dict | None = None

    def put(self, key, value):
        dies = key == KEY and value is not None and self.left == 1
        if key == KEY and value is not None:
            self.left -= 1
        if dies and not self.stored:
            self.left_behind = self.get(KEY)
            raise SystemExit("killed before the put")
        super().put(key, value)
        if dies:
            self.left_behind = self.get(KEY)
            raise SystemExit("killed after the put")


def rows(n: int, same: range = range(0), refused: range = range(0)) -> bytes:
    """n people; rows in `same` are identical to each other; rows in `refused` point at a missing account."""
    return csv_bytes(["Last", "Mail", "Acc"], [
        ["Twin" if i in same else f"L{i}", "twin@example.com" if i in same else f"p{i}@example.com",
         GHOST_ACCOUNT if i in refused else ""] for i in range(n)])


def run_killed_then_resumed(client, data: bytes, journal: DieAtPut, threads: int):  # noqa: F811
    parts = MemoryParts()
    options = {"threads": threads}
    with pytest.raises(SystemExit):
        start(client, data, MAPPING, journal=journal, parts=parts, sink_options=options)
    result, _, _ = start(client, data, MAPPING, journal=journal, parts=parts, sink_options=options)
    return result, parts


def assert_each_row_once(org, parts: MemoryParts, names: list[str]) -> None:  # noqa: F811
    in_org = records(org, "Contact")
    assert sorted(r["LastName"] for r in in_org) == sorted(names)  # no duplicate, nothing missing
    ok = parts.csv_rows("success")
    assert sorted(r["sf__Id"] for r in ok) == sorted(r["Id"] for r in in_org)  # each record reported once
    by_id = {r["Id"]: r for r in in_org}
    assert all(by_id[r["sf__Id"]]["Email"] == r["Mail"] and r["sf__Created"] == "true" for r in ok)


@pytest.mark.parametrize("threads", [1, 4])
def test_calls_answered_but_not_recorded_are_found_in_the_org_not_sent_again(client, org, threads):  # noqa: F811
    n = 1400  # seven 200-row calls in one chunk
    # threads=1: the put recording call 1 (and marking call 2) never happens, so call 1 is answered but unknown.
    # threads=4: calls 0-3 leave together; the first answer's put dies and the others finish on the wire.
    journal = DieAtPut(3 if threads == 1 else 2)
    result, parts = run_killed_then_resumed(client, rows(n), journal, threads)
    marked = journal.left_behind["sent"]
    assert sorted(marked, key=int) == (["1"] if threads == 1 else ["0", "1", "2", "3"])
    assert all(len(m) == 2 and m[1] == org.admin_id for m in marked.values())
    assert (result.rows_read, result.succeeded, result.failed) == (n, n, 0)
    assert_each_row_once(org, parts, [f"L{i}" for i in range(n)])


def test_a_marked_call_that_never_left_is_sent_on_resume(client, org):  # noqa: F811
    journal = DieAtPut(2, stored=True)  # call 0 recorded and call 1 marked sent; the process dies before sending
    result, parts = run_killed_then_resumed(client, rows(600), journal, threads=1)
    assert list(journal.left_behind["sent"]) == ["1"] and set(journal.left_behind) == {"0", "sent"}
    assert (result.succeeded, result.failed) == (600, 0)
    assert_each_row_once(org, parts, [f"L{i}" for i in range(600)])


def test_identical_and_refused_rows_of_a_settled_call_keep_their_own_outcome(client, org):  # noqa: F811
    n, same, refused = 400, range(210, 230), range(300, 305)  # all in call 1
    other = org.create_user("other@t.localorg", "Other")
    # Records with the same values that this run did not create: before the call, or by another user.
    hour_ago = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    old = org.store.insert("Contact", {"LastName": "L250", "Email": "p250@example.com"}, now=hour_ago)
    theirs = org.store.insert("Contact", {"LastName": "Twin", "Email": "twin@example.com"}, user=other)
    result, parts = run_killed_then_resumed(client, rows(n, same, refused), DieAtPut(3), threads=1)
    assert (result.succeeded, result.failed) == (n - len(refused), len(refused))
    ok = parts.csv_rows("success")
    twins = [r["sf__Id"] for r in ok if r["Last"] == "Twin"]
    assert len(twins) == len(set(twins)) == len(same) and theirs not in twins  # one record per row
    assert old not in {r["sf__Id"] for r in ok}
    names = Counter(r["LastName"] for r in records(org, "Contact"))
    assert names["Twin"] == len(same) + 1 and names["L250"] == 2  # theirs and old, plus ours once each
    assert all(names[f"L{i}"] == 0 for i in refused)
    errors = parts.csv_rows("error")
    assert sorted(int(r["sf__Row"]) for r in errors) == [i + 2 for i in refused]
    assert all(r["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY") for r in errors)


def test_the_sent_mark_costs_no_extra_put_per_call_and_updates_are_never_marked(client, org):  # noqa: F811
    journal = KeyPuts()
    start(client, rows(1000), MAPPING, journal=journal, sink_options={"threads": 2})
    assert journal.marked == journal.rest_puts - 1 and journal.rest_puts == 5 + 1  # a put per call, one to start
    ids = [r["Id"] for r in records(org, "Contact")]
    update = Mapping("Contact", "update", fields=[FieldMapping("Id", column="Id"), FieldMapping("Title", column="T")])
    journal = KeyPuts()
    start(client, csv_bytes(["Id", "T"], [[i, "x"] for i in ids]), update, journal=journal)
    assert (journal.marked, journal.rest_puts) == (0, 5)


class KeyPuts(MemoryJournal):
    def __init__(self) -> None:
        super().__init__()
        self.rest_puts = self.marked = 0

    def put(self, key, value):
        if key == KEY and value is not None:
            self.rest_puts += 1
            self.marked += "sent" in value
        super().put(key, value)

