"""Builders for run tests: an account, an OrgConnection to a localorg org, a job over an uploaded CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.extensions import db
from backend.models import Account, Job, OrgConnection, Run
from backend.models.base import TenantScope
from backend.services import get_blob_store
from backend.storage.blobs import expiry_for

ROOT = Path(__file__).resolve().parents[2]
FORCE_APP = ROOT / "force-app"
CLIENT_ID = "3MVG9inflowTestsConsumerKey"
CLIENT_SECRET = "INFLOW-TESTS-CONSUMER-SECRET"


def account(company: str = "Acme", retention_days: int = 14) -> Account:
    row = Account(company=company, region="eu-frankfurt", retention_days=retention_days)
    db.session.add(row)
    db.session.commit()
    return row


def bare_run(acct: Account) -> Run:
    """A run of a bare insert job (no file, no org): for the journal and result parts alone."""
    job = Job(account_id=acct.id, name="j", object_name="Contact", operation="insert")
    db.session.add(job)
    db.session.flush()
    run = Run(account_id=acct.id, job_id=job.id, checkpoint={})
    db.session.add(run)
    db.session.commit()
    return run


def connect(acct: Account, org: Any, *, access_token: str | None = None, namespace: str = "",
            known_user: bool = True) -> OrgConnection:
    """An OrgConnection to a localorg org with a real refresh token from a registered client app, the org
    admin's; `known_user=False`: saved before `connected_by` existed, so it does not say whose they are."""
    if not any(app.consumer_key == CLIENT_ID for app in org.apps.values()):
        org.register_app("Inflow", ["https://127.0.0.1/oauth/callback"], consumer_key=CLIENT_ID,
                         consumer_secret=CLIENT_SECRET)
    refresh = org.sessions.new_refresh_token(org.admin_id, CLIENT_ID, "api refresh_token")
    conn = OrgConnection(account_id=acct.id, name=org.name, org_id=org.id, instance_url=org.instance_url,
                         namespace_prefix=namespace, connected_by=org.admin_id if known_user else None)
    conn.set_secret("access_token", access_token if access_token is not None else org.ready_token)
    conn.set_secret("refresh_token", refresh)
    db.session.add(conn)
    db.session.commit()
    return conn


def csv_job(acct: Account, conn: OrgConnection | None, data: bytes, mapping: dict[str, Any], *,
            name: str = "Contacts", api: str = "auto") -> Job:
    store = get_blob_store()
    blob = store.put(acct.id, "upload", data, expires_at=expiry_for("upload", acct.retention_days),
                     name="contacts.csv")
    job = TenantScope(acct.id).add(Job(
        name=name, source={"type": "csv", "config": {}, "blob_id": blob.id},
        org_connection_id=conn.id if conn else None, object_name=mapping["object"],
        operation=mapping.get("operation", "insert"), mapping={**mapping, "api": api}))
    db.session.commit()
    return job


def contacts_csv(n: int, start: int = 0) -> bytes:
    lines = ["First Name,Last Name,Email"]
    lines += [f"Ann{i},Lee{i},ann{i}@example.com" for i in range(start, start + n)]
    return ("\n".join(lines) + "\n").encode()


CONTACT_MAPPING: dict[str, Any] = {
    "object": "Contact", "operation": "insert",
    "fields": [{"field": "FirstName", "column": "First Name"}, {"field": "LastName", "column": "Last Name"},
               {"field": "Email", "column": "Email"}],
}


_FIELD_META = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">{}</CustomField>')


def legacy_id_tree(root: Path) -> Path:
    """An SFDX tree adding Contact.Legacy_Id__c, an external id (the upsert key)."""
    path = root / "objects/Contact/fields/Legacy_Id__c.field-meta.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_FIELD_META.format(
        "<fullName>Legacy_Id__c</fullName><externalId>true</externalId><label>Legacy Id</label>"
        "<length>20</length><type>Text</type><unique>true</unique>"))
    return root
