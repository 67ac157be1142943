"""No state change on GET: every GET route of the app, signed in or not, leaves the database unchanged."""

from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, AuditEvent, Blob, Job, OrgConnection, Run, User
from backend.models.base import utcnow
from tests.accounts_support import Browser, app_config, sign_up, smtp  # noqa: F401
from tests.foundation.factories import tenant_rows


def _snapshot() -> dict[str, list[tuple]]:
    state = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        state[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return state


def _path(rule, ids: dict[str, str]) -> str:
    """The rule's URL with each variable filled by a seeded row's id (or a file name for paths)."""
    values = {}
    for arg in rule.arguments:
        if rule._converters[arg].__class__.__name__ == "PathConverter":
            values[arg] = "inflow.css"
        else:
            values[arg] = next((v for k, v in ids.items() if k in arg), ids["default"])
    return rule.build(values)[1]


def test_every_get_route_leaves_the_database_unchanged(app, client, smtp):  # noqa: F811
    browser = Browser(client)
    sign_up(browser, smtp)
    account = db.session.scalars(select(Account)).one()
    rows = tenant_rows(account)
    rows[OrgConnection].instance_url = "https://127.0.0.1:9"  # nothing listens there: no call leaves the host
    blob = Blob(account_id=account.id, kind="result", name="r.csv", expires_at=utcnow(), complete=True)
    db.session.add(blob)
    db.session.commit()
    ids = {"instance": rows[OrgConnection].id, "org": rows[OrgConnection].id, "job": rows[Job].id,
           "run": rows[Run].id, "user": rows[User].id, "blob": blob.id, "file": blob.id, "default": rows[Job].id}
    anonymous = Browser(client.application.test_client(), ip="192.0.2.77")
    before, started = _snapshot(), utcnow()
    visited = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = _path(rule, ids)
        for who in (browser, anonymous):
            for query in ("", "?token=x&code=y&state=z&next=/x"):
                who.get(path + query, headers={"Accept": "text/html"})
        visited.append(path)
    after = _snapshot()
    # Security events recording a refusal (checklist items 1 and 6) are the one thing a GET may add.
    after.pop("audit_events"), before.pop("audit_events")
    assert after == before
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.created_at >= started)))
    assert all(a.endswith((".denied", ".rejected")) for a in actions), actions
    assert "/settings" in visited and "/login" in visited and "/verify" in visited
