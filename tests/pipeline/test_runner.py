"""The runner against localorg: stop and resume without duplicates, 401 refresh, API allowance pause, locks."""

from __future__ import annotations

import pytest

from backend.salesforce.client import SalesforceClient
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


def people(n: int) -> bytes:
    return csv_bytes(["Last", "Mail"], [[f"L{i}", f"p{i}@example.com"] for i in range(n)])


MAPPING = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Mail")])


def assert_complete(org, parts: MemoryParts, n: int) -> None:  # noqa: F811
    names = sorted(r["LastName"] for r in records(org, "Contact"))
    assert names == sorted(f"L{i}" for i in range(n))  # every row once: nothing lost, nothing duplicated
    ok = parts.csv_rows("success")
    assert sorted(r["Last"] for r in ok) == names
    assert {r["sf__Id"] for r in ok} == {r["Id"] for r in records(org, "Contact")}


def stop_after(chunks: int, then=None):
    seen = []

    def should_stop() -> str | None:
        seen.append(1)
        if len(seen) == chunks + 1:
            if then:
                then()
            return "cancelled"
        return None
    return should_stop


@pytest.mark.parametrize("api", ["rest", "bulk2"])
def test_stopped_after_chunk_k_then_resumed_without_duplicates(client, org, api):  # noqa: F811
    data = people(50)
    # Bulk: one job per chunk here. At the stop, the job uploaded before it is finished, the open one aborted.
    written = 20 if api == "rest" else 10
    first, journal, parts = start(client, data, MAPPING, api=api, chunk_size=10, should_stop=stop_after(2),
                                  sink_options={"max_job_bytes": 300} if api == "bulk2" else {})
    assert first.stopped_reason == "cancelled" and (first.rows_read, first.succeeded) == (20, written)
    assert len(records(org, "Contact")) == written
    second, _, _ = start(client, data, MAPPING, api=api, chunk_size=10, journal=journal, parts=parts)
    assert (second.stopped_reason, second.rows_read, second.succeeded, second.failed) == (None, 50, 50, 0)
    assert_complete(org, parts, 50)


class CrashOn(MemoryJournal):
    """A journal whose process 'dies' the first time a given key is written."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def put(self, key, value):
        if key == self.key and self.key:
            self.key = ""
            raise SystemExit("killed")
        super().put(key, value)


def test_bulk2_job_in_flight_is_resumed_by_id_never_created_twice(client, org):  # noqa: F811
    data = people(40)
    journal = CrashOn("chunk/000000")  # job 1 (chunks 0-1) finished on Salesforce; we die before recording it
    with pytest.raises(SystemExit):
        start(client, data, MAPPING, api="bulk2", chunk_size=10, journal=journal, parts=MemoryParts(),
              sink_options={"max_job_bytes": 300})
    in_flight = journal.get("bulk2/job/000000")["id"]
    parts = MemoryParts()
    result, _, _ = start(client, data, MAPPING, api="bulk2", chunk_size=10, journal=journal, parts=parts,
                         sink_options={"max_job_bytes": 300})
    assert (result.succeeded, result.failed) == (40, 0)
    jobs = [client.bulk2_job(j["id"]) for j in client.json("GET", "jobs/ingest")["records"]]
    # Every row went through exactly one completed job; the one in flight at the crash was waited for.
    assert sum(j["numberRecordsProcessed"] for j in jobs if j["state"] == "JobComplete") == 40
    assert journal.get("bulk2/job/000000")["id"] == in_flight
    assert_complete(org, parts, 40)


def test_bulk2_open_job_of_a_dead_run_is_aborted_and_its_rows_sent_again(client, org):  # noqa: F811
    data = people(30)
    journal = CrashOn("bulk2/job/000000")  # upload sent, journal write fails: Salesforce never processes it
    with pytest.raises(SystemExit):
        start(client, data, MAPPING, api="bulk2", chunk_size=10, journal=journal, sink_options={"max_job_bytes": 300})
    parts = MemoryParts()
    result, _, _ = start(client, data, MAPPING, api="bulk2", chunk_size=10, journal=journal, parts=parts,
                         sink_options={"max_job_bytes": 300})
    assert result.succeeded == 30
    assert "Aborted" in {j["state"] for j in client.json("GET", "jobs/ingest")["records"]}
    assert_complete(org, parts, 30)


@pytest.mark.parametrize("api", ["rest", "bulk2"])
def test_expired_token_is_refreshed_once_and_the_run_continues(org, localorg, api):  # noqa: F811
    renewals = []

    def renew() -> str:
        renewals.append(1)
        return org.sessions.issue(org.admin_id).token

    c = SalesforceClient(org.instance_url, org.sessions.issue(org.admin_id).token, ca_bundle=str(localorg.ca_path),
                         on_unauthorized=renew)
    result, _, parts = start(c, people(30), MAPPING, api=api, chunk_size=10,
                             should_stop=_revoke_at(org, c, 1))
    assert (result.succeeded, result.failed, result.stopped_reason) == (30, 0, None)
    assert len(renewals) == 1
    assert_complete(org, parts, 30)


def _revoke_at(org, c, chunk: int):  # noqa: F811
    calls = []

    def should_stop() -> None:
        calls.append(1)
        if len(calls) == chunk + 1:
            org.sessions.revoke(c.access_token)  # the session expires between chunk 1 and 2
        return None
    return should_stop


def test_api_allowance_exhausted_mid_chunk_pauses_and_resumes_without_duplicates(client, org, localorg):  # noqa: F811
    data = people(600)
    client.describe("Contact")
    localorg.set_knobs([org], api_allowance=org.api_used + 1)  # one more call: the first 200 rows
    first, journal, parts = start(client, data, MAPPING, api="rest", sink_options={"threads": 1})
    assert first.paused_until is not None and first.stopped_reason is None
    assert len(records(org, "Contact")) == 200 and journal.get("rest/000000") is not None
    localorg.set_knobs([org], api_allowance=15000)
    second, _, _ = start(client, data, MAPPING, api="rest", journal=journal, parts=parts)
    assert (second.paused_until, second.succeeded, second.failed) == (None, 600, 0)
    assert_complete(org, parts, 600)


def test_api_allowance_exhausted_while_waiting_for_a_bulk_job_pauses(client, org, localorg):  # noqa: F811
    data = people(20)

    def exhaust():
        localorg.set_knobs([org], api_allowance=org.api_used)
    first, journal, parts = start(client, data, MAPPING, api="bulk2", chunk_size=10,
                                  should_stop=_call_at(1, exhaust))
    assert first.paused_until is not None
    localorg.set_knobs([org], api_allowance=15000)
    second, _, _ = start(client, data, MAPPING, api="bulk2", chunk_size=10, journal=journal, parts=parts)
    assert (second.succeeded, second.failed) == (20, 0)
    assert_complete(org, parts, 20)


def _call_at(chunk: int, fn):
    calls = []

    def should_stop() -> None:
        calls.append(1)
        if len(calls) == chunk + 1:
            fn()
        return None
    return should_stop


def test_lock_contention_on_a_parent_is_retried_to_success(client, org, localorg):  # noqa: F811
    accounts = [org.store.insert("Account", {"Name": f"A{i}"}) for i in range(2)]
    localorg.set_knobs([org], lock_rate=1.0, lock_seed=7)
    n = 10_400  # > one internal Bulk batch of 10,000: the second account's rows straddle two batches
    data = csv_bytes(["Last", "Acc"], [[f"L{i}", accounts[i % 2]] for i in range(n)])
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("AccountId", column="Acc")])
    result, _, parts = start(client, data, m, api="bulk2", chunk_size=n)
    assert (result.succeeded, result.failed) == (n, 0)
    assert len(records(org, "Contact")) == n
