"""Incremental exports: the export job a `--since-last NAME` stands for, and its watermark.

The watermark moves only after a run succeeded, so a failed or cut-off export is simply repeated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.extensions import db
from backend.models.jobs import Job
from backend.models.orgs import OrgConnection


def export_job(org: OrgConnection, name: str, definition: dict[str, Any], object_name: str) -> Job:
    """The org's export job of that name, created on first use (its source is what the export reads)."""
    job = db.session.scalars(select(Job).where(
        Job.account_id == org.account_id, Job.org_connection_id == org.id, Job.kind == "export",
        Job.name == name)).first()
    if job is None:
        job = Job(account_id=org.account_id, org_connection_id=org.id, kind="export", name=name,
                  source=definition, object_name=object_name, operation="export")
        db.session.add(job)
        db.session.commit()
    return job


def advance(job: Job, started_at: datetime) -> None:
    """After a successful run: the next run reads what changed after this one's start."""
    job.watermark = started_at
    db.session.commit()
