"""Two localorg orgs (source and target), clients for them, and the migration run against them."""

from __future__ import annotations

from typing import Any

import pytest

from backend.migration.engine import Migration, MigrationResult
from backend.migration.plan import Plan
from backend.salesforce.client import SalesforceClient
from tests.pipeline.sf_helpers import MemoryJournal, MemoryParts


@pytest.fixture
def source_org(make_org):
    return make_org("src")


@pytest.fixture
def target_org(make_org):
    return make_org("dst")


def client_of(org: Any, localorg: Any) -> SalesforceClient:
    return SalesforceClient(org.instance_url, org.ready_token, ca_bundle=str(localorg.ca_path))


def migrate(source_org: Any, target_org: Any, localorg: Any, plan: dict[str, Any] | Plan, *, dry_run: bool = False,
            journal: MemoryJournal | None = None, parts: MemoryParts | None = None, **kw: Any
            ) -> tuple[MigrationResult, MemoryJournal, MemoryParts]:
    journal = journal if journal is not None else MemoryJournal()
    parts = parts if parts is not None else MemoryParts()
    plan = plan if isinstance(plan, Plan) else Plan.from_dict(plan)
    source = client_of(source_org, localorg) if source_org is not None else None
    m = Migration(plan, client_of(target_org, localorg), source, journal=journal, parts=parts,
                  sink_options={"lock_backoff": 0.01}, **kw)
    return m.run(dry_run=dry_run), journal, parts


def rows(org: Any, sobject: str) -> list[dict[str, Any]]:
    return [dict(r) for r in org.store.table(sobject).rows.values()]


def by(org: Any, sobject: str, field: str) -> dict[str, dict[str, Any]]:
    return {r[field]: r for r in rows(org, sobject)}
