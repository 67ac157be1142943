"""Small builders for tenant rows used across foundation tests."""

from __future__ import annotations

from backend.extensions import db
from backend.models import Account, Connection, Job, OrgConnection, Run, User


def account(company: str = "Acme") -> Account:
    row = Account(company=company, region="eu-frankfurt")
    db.session.add(row)
    db.session.commit()
    return row


def tenant_rows(acct: Account) -> dict[type, object]:
    """One of every tenant-owned model for `acct`, secrets set."""
    org = OrgConnection(account_id=acct.id, org_id="00D000000000001AAA", instance_url="https://x.example")
    org.set_secret("access_token", f"access-{acct.company}")
    org.set_secret("refresh_token", f"refresh-{acct.company}")
    conn = Connection(account_id=acct.id, type="postgresql", name="warehouse")
    conn.set_secret("parameters", '{"password": "hunter2"}')
    user = User(account_id=acct.id, email=f"admin@{acct.company.lower()}.example", role="admin")
    job = Job(account_id=acct.id, name="Contacts", object_name="Contact", operation="insert")
    db.session.add_all([org, conn, user, job])
    db.session.flush()
    run = Run(account_id=acct.id, job_id=job.id)
    db.session.add(run)
    db.session.commit()
    return {OrgConnection: org, Connection: conn, User: user, Job: job, Run: run}
