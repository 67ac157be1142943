"""Bulk API 1.0 serial insert through salesforce-bulk against localorg."""

from __future__ import annotations

from tests.pipeline.sf_helpers import (  # noqa: F401
    FieldMapping,
    Mapping,
    client,
    csv_bytes,
    localorg,
    make_org,
    org,
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
