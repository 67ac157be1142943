"""Bulk API 1.0 serial insert through salesforce-bulk against localorg."""

from __future__ import annotations

from tests.pipeline.sf_helpers import (  # noqa: F401
    FieldMapping,
    Mapping,
    client,
    csv_bytes,
    records,
    start,
)


def people(n: int, bad_every: int = 0) -> bytes:
    return csv_bytes(["Last", "Mail"], [[f"L{i}", "not-an-email" if bad_every and i % bad_every == 0 else
                                         f"p{i}@example.com"] for i in range(n)])


def insert_mapping() -> Mapping:
    return Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Mail")])


def test_insert_on_bulk1_serial(client, org):  # noqa: F811
    result, _, parts = start(client, people(30, bad_every=10), insert_mapping(), api="bulk1", chunk_size=12)
    assert (result.api_used, result.succeeded, result.failed) == ("bulk1", 27, 3)
    assert len(records(org, "Contact")) == 27 and len(parts.csv_rows("success")) == 27


def test_bulk1_resume_waits_for_a_posted_batch_instead_of_posting_it_again(client, org):  # noqa: F811
    from tests.pipeline.test_runner import CrashOn

    journal = CrashOn("chunk/000001")  # batch of chunk 1 posted and done; we die before recording the chunk
    try:
        start(client, people(30), insert_mapping(), api="bulk1", chunk_size=10, journal=journal)
    except SystemExit:
        pass
    posted = journal.get("bulk1/batch/000001/0")
    result, _, parts = start(client, people(30), insert_mapping(), api="bulk1", chunk_size=10, journal=journal)
    assert (result.succeeded, result.failed) == (30, 0)
    assert journal.get("bulk1/batch/000001/0") == posted
    assert sorted(r["LastName"] for r in records(org, "Contact")) == sorted(f"L{i}" for i in range(30))


def test_bulk1_renews_an_expired_session_once(org, localorg):  # noqa: F811
    from backend.salesforce.client import SalesforceClient
    from tests.pipeline.test_runner import _revoke_at

    renewals = []

    def renew() -> str:
        renewals.append(1)
        return org.sessions.issue(org.admin_id).token

    c = SalesforceClient(org.instance_url, org.sessions.issue(org.admin_id).token, ca_bundle=str(localorg.ca_path),
                         on_unauthorized=renew)
    result, _, _ = start(c, people(30), insert_mapping(), api="bulk1", chunk_size=10, should_stop=_revoke_at(org, c, 1))
    assert (result.succeeded, result.failed) == (30, 0) and len(renewals) == 1
    assert len(records(org, "Contact")) == 30
