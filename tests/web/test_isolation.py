"""Tenant isolation on every route that takes an id (checklist item 6): account A asking for account B's
object gets 404, B's object is unchanged, and the attempt is audited as `access.denied`.

To cover a new route, add one line to ROUTES: (method, url with {id}, which of B's objects to use).
test_every_id_route_is_in_the_table fails until a new id route is listed here (or in NOT_TENANT_IDS).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, AuditEvent, Job, OrgConnection, Run, User
from backend.models.connections import Connection
from backend.security.tokens import issue_app_token
from backend.services import get_keyring

ROUTES = [
    ("GET", "/api/instances/{id}", "org"),
    ("POST", "/api/instances/{id}/disconnect", "org"),
    ("POST", "/api/instances/{id}/reconnect", "org"),
    ("GET", "/api/orgs/{id}/objects", "org"),
    ("GET", "/api/orgs/{id}/objects/Account", "org"),
    ("GET", "/api/jobs/{id}", "job"),
    ("PUT", "/api/jobs/{id}", "job"),
    ("POST", "/api/jobs/{id}/runs", "job"),
    ("GET", "/ui/jobs/{id}", "job"),
    ("GET", "/api/jobs/{id}/schedule", "job"),
    ("PUT", "/api/jobs/{id}/schedule", "job"),
    ("DELETE", "/api/jobs/{id}/schedule", "job"),
    ("POST", "/api/jobs/{id}/schedule/pause", "job"),
    ("POST", "/api/jobs/{id}/schedule/resume", "job"),
    ("PUT", "/api/jobs/{id}/notifications", "job"),
    ("GET", "/api/runs/{id}", "run"),
    ("GET", "/api/connections/{id}", "connection"),
    ("PATCH", "/api/connections/{id}", "connection"),
    ("DELETE", "/api/connections/{id}", "connection"),
    ("POST", "/api/connections/{id}/test", "connection"),
    ("GET", "/api/connections/{id}/browse", "connection"),
    ("POST", "/api/connections/{id}/preview", "connection"),
    ("POST", "/api/runs/{id}/cancel", "run"),
    ("POST", "/api/runs/{id}/rollback", "run"),
    ("GET", "/api/runs/{id}/files/success", "run"),
    ("GET", "/api/runs/{id}/errors", "run"),
    ("GET", "/api/runs/{id}/record", "run"),
    ("GET", "/ui/runs/{id}", "run"),
    ("GET", "/api/migrations/{id}", "job"),
]
# Routes whose id is not one of our rows (so there is no other tenant's row to ask for), with the reason.
NOT_TENANT_IDS = {
    "/ui/record/<record_id>": "a Salesforce record id, looked up in the launching org, then in the account's scope",
}


def _tenant(name: str) -> dict:
    account = Account(company=name, region="eu-frankfurt")
    db.session.add(account)
    db.session.flush()
    admin = User(account_id=account.id, email=f"admin@{name.lower()}.example", role="admin")
    org = OrgConnection(account_id=account.id, org_id=f"00D{name[:1]}00000000001AAA"[:18],
                        instance_url="https://127.0.0.1:9", status="connected")
    org.set_secret("access_token", f"{name}-access")
    db.session.add_all([admin, org])
    db.session.flush()
    job = Job(account_id=account.id, name=f"{name} contacts", object_name="Contact", operation="insert",
              org_connection_id=org.id)
    db.session.add(job)
    db.session.flush()
    run = Run(account_id=account.id, job_id=job.id, state="queued")
    connection = Connection(account_id=account.id, type="postgresql", name=f"{name} ERP")
    db.session.add_all([run, connection])
    db.session.commit()
    token, _ = issue_app_token(get_keyring(), account_id=account.id, user_id=admin.id, org_connection_id=org.id,
                               region="eu-frankfurt", ttl_seconds=900)
    return {"account": account, "token": token, "org": org, "job": job, "run": run, "connection": connection}


def _snapshot(row) -> dict:
    db.session.expire_all()
    fresh = db.session.get(type(row), row.id)
    return {c.key: getattr(fresh, c.key) for c in type(row).__table__.columns}


@pytest.mark.parametrize(("method", "url", "target"), ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
@pytest.mark.promise("tenant-isolation")
def test_another_accounts_id_is_not_found_and_audited(client, method, url, target):
    alpha, beta = _tenant("Alpha"), _tenant("Beta")
    victim = beta[target]
    before = _snapshot(victim)
    runs_before = db.session.scalars(select(Run.id)).all()
    path = url.format(id=victim.id)
    resp = client.open(path, method=method, json={} if method in ("POST", "PUT") else None,
                       headers={"Authorization": f"Bearer {alpha['token']}"})
    assert resp.status_code == 404, resp.get_data(as_text=True)[:300]
    assert beta["account"].company not in resp.get_data(as_text=True)
    assert _snapshot(victim) == before
    assert db.session.scalars(select(Run.id)).all() == runs_before
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert [(e.account_id, e.target, e.details.get("method")) for e in denied] == [
        (alpha["account"].id, path, method)]


def test_every_id_route_is_in_the_table(app):
    adapter = app.url_map.bind("localhost")
    covered = {(adapter.match(url.format(id="x" * 32), method, return_rule=True)[0].rule, method)
               for method, url, _target in ROUTES}
    missing = [f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
               for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
               if any(arg.endswith("_id") for arg in rule.arguments) and rule.rule not in NOT_TENANT_IDS
               and (rule.rule, method) not in covered]
    assert missing == [], f"add these id routes to ROUTES in {__file__}"
