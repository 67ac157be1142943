"""UNABLE_TO_LOCK_ROW for REST writes: concurrent requests (and a running Bulk job) touching the same parent
collide at the configured rate, reproducibly from the seed; a request running alone never does.

Overlap comes from the `latency_ms` knob, which a write request sleeps while it holds its parents: two
requests started together from two threads are both in flight while the second one takes its locks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

LATENCY_MS = 1000
MESSAGE = "unable to obtain exclusive access to this record or 1 records: {0}"


def locked(rid: str) -> dict[str, Any]:
    """A collection row that lost its lock (a failed create carries no id)."""
    return {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": MESSAGE.format(rid),
                                          "fields": []}]}


@pytest.fixture
def client(localorg) -> Iterator[Callable[[Any], Salesforce]]:
    """Unmodified simple-salesforce clients, each with its own HTTP session (one per thread)."""
    sessions: list[requests.Session] = []

    def make(target: Any) -> Salesforce:
        s = requests.Session()
        s.verify, s.trust_env = str(localorg.ca_path), False
        sessions.append(s)
        return Salesforce(instance_url=target.instance_url, session_id=target.ready_token, session=s)

    yield make
    for s in sessions:
        s.close()


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same moment; each one's result or the exception it raised."""
    gate = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        gate.wait()
        try:
            out[i] = call()
        except Exception as exc:  # the caller asserts on it
            out[i] = exc
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def contacts(accounts: list[str], tag: str, n: int = 1) -> dict[str, Any]:
    return {"records": [{"attributes": {"type": "Contact"}, "LastName": f"{tag}{i}", "AccountId": acc}
                        for i in range(n) for acc in accounts]}


def insert(sf: Salesforce, body: dict[str, Any]) -> Callable[[], Any]:
    return lambda: sf.restful("composite/sobjects", method="POST", json=body)


def test_concurrent_collections_sharing_a_parent_collide(org, sf, client):
    acc = sf.Account.create({"Name": "Shared"})["id"]
    org.knobs.lock_rate, org.knobs.latency_ms = 1.0, LATENCY_MS
    results = together(insert(client(org), contacts([acc], "a", 3)), insert(client(org), contacts([acc], "b", 3)))
    org.knobs.latency_ms = 0
    won, lost = sorted(results, key=lambda rows: not rows[0]["success"])
    assert [r["success"] for r in won] == [True] * 3
    assert lost == [locked(acc)] * 3
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 3


def test_concurrent_updates_of_one_record_answer_400_for_the_second(org, sf, client):
    row = sf.Contact.create({"LastName": "Row"})["id"]
    org.knobs.lock_rate, org.knobs.latency_ms = 1.0, LATENCY_MS
    first, second = client(org), client(org)
    results = together(lambda: first.Contact.update(row, {"Title": "A"}),
                       lambda: second.Contact.update(row, {"Title": "B"}))
    org.knobs.latency_ms = 0
    [err] = [r for r in results if isinstance(r, SalesforceMalformedRequest)]
    assert err.status == 400
    assert err.content == [{"message": MESSAGE.format(row), "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]
    winner = "A" if results[0] == 204 else "B"
    assert 204 in results and sf.Contact.get(row)["Title"] == winner


def test_all_or_none_collection_that_loses_a_lock_writes_nothing(org, sf, client):
    shared = sf.Account.create({"Name": "Shared"})["id"]
    own = [sf.Account.create({"Name": n})["id"] for n in ("Own A", "Own B")]
    org.knobs.lock_rate, org.knobs.latency_ms = 1.0, LATENCY_MS
    bodies = [dict(contacts([shared, mine], tag), allOrNone=True) for mine, tag in zip(own, "ab", strict=True)]
    results = together(*(insert(client(org), b) for b in bodies))
    org.knobs.latency_ms = 0
    won, lost = sorted(results, key=lambda rows: not rows[0]["success"])
    assert [r["success"] for r in won] == [True, True]
    assert lost == [locked(shared), {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records "
        "were valid and the request was using AllOrNone header", "fields": []}]}]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 2


def test_composite_subrequest_and_collection_on_one_parent_collide(org, sf, client):
    acc = sf.Account.create({"Name": "Shared"})["id"]
    org.knobs.lock_rate, org.knobs.latency_ms = 1.0, LATENCY_MS
    composite = {"compositeRequest": [{"method": "POST", "url": "/services/data/v66.0/sobjects/Contact",
                                       "referenceId": "c", "body": {"LastName": "Comp", "AccountId": acc}}]}
    comp_sf, coll_sf = client(org), client(org)
    comp, coll = together(lambda: comp_sf.restful("composite", method="POST", json=composite),
                          insert(coll_sf, contacts([acc], "coll")))
    org.knobs.latency_ms = 0
    sub = comp["compositeResponse"][0]
    if coll[0]["success"]:
        assert sub == {"body": [{"message": MESSAGE.format(acc), "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}],
                       "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "c"}
    else:
        assert coll == [locked(acc)] and sub["httpStatusCode"] == 201
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 1


def test_requests_alone_or_on_other_parents_never_collide(org, sf, client):
    a, b = sf.Account.create({"Name": "A"})["id"], sf.Account.create({"Name": "B"})["id"]
    org.knobs.lock_rate, org.knobs.latency_ms = 1.0, LATENCY_MS
    results = together(insert(client(org), contacts([a], "a", 3)), insert(client(org), contacts([b], "b", 3)))
    assert [r["success"] for rows in results for r in rows] == [True] * 6
    org.knobs.latency_ms = 0
    for tag in "cde":   # one after another: the serial client
        assert all(r["success"] for r in insert(sf, contacts([a, b], tag, 2))())
    row = sf.Contact.create({"LastName": "Row", "AccountId": a})["id"]
    assert sf.Contact.update(row, {"Title": "Again"}) == 204 and sf.Contact.delete(row) == 204


def lost_rows(make_org, client, seed: int) -> list[int]:
    org = make_org()
    sf = client(org)
    acc = sf.Account.create({"Name": "Shared"})["id"]
    org.knobs.lock_rate, org.knobs.lock_seed, org.knobs.latency_ms = 0.5, seed, LATENCY_MS
    results = together(*(insert(client(org), contacts([acc], tag, 40)) for tag in "ab"))
    lost = [[i for i, r in enumerate(rows) if not r["success"]] for rows in results]
    assert min(lost, key=len) == []   # the request that locked the account first loses nothing
    return max(lost, key=len)


def test_rest_contention_is_reproducible_from_the_seed(make_org, client):
    once, again = lost_rows(make_org, client, 11), lost_rows(make_org, client, 11)
    other = lost_rows(make_org, client, 12)
    assert once == again
    assert once != other
    assert 8 < len(once) < 32   # about half of the second request's 40 rows


def test_rest_write_while_a_bulk_job_holds_the_parent_collides(org, sf, sf_session):
    org.knobs.lock_rate = 1.0
    acc = sf.Account.create({"Name": "Busy"})["id"]
    h = {"Authorization": f"Bearer {org.ready_token}"}
    base = org.instance_url + "/services/data/v66.0/jobs/ingest"
    job = sf_session.post(base, headers=h, json={"object": "Contact", "operation": "insert"}).json()["id"]
    sf_session.put(f"{base}/{job}/batches", headers=dict(h, **{"Content-Type": "text/csv"}),
                   data="LastName,AccountId\n" + "".join(f"b{i},{acc}\n" for i in range(4)))
    # Holding the store keeps the job from writing (and finishing) once it has taken its first rows' parents.
    with org.store.lock:
        sf_session.patch(f"{base}/{job}", headers=h, json={"state": "UploadComplete"})
        for _ in range(500):
            if org.locks.holds(acc):
                break
            time.sleep(0.01)
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf.Contact.create({"LastName": "Rest", "AccountId": acc})
    assert err.value.status == 400
    assert err.value.content == [{"message": MESSAGE.format(acc), "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]
    for _ in range(500):
        info = sf_session.get(f"{base}/{job}", headers=h).json()
        if info["state"] == "JobComplete":
            break
        time.sleep(0.02)
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (4, 0)
    assert sf.Contact.create({"LastName": "After", "AccountId": acc})["success"]   # the job is over
