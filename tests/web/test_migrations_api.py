"""The migrations JSON API against two localorg orgs: templates, a dry run that counts and writes nothing, a run
started through the worker with counts per object, and its rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account, OrgConnection
from backend.runs import multi
from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.migration.helpers import by, rows
from tests.runs.factories import account, connect
from tests.web.canvas_support import bearer, canvas_config, install, launch


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return canvas_config(app_config, localorg, monkeypatch)


@pytest.fixture
def prod(make_org):  # noqa: F811
    src = make_org("prod")
    acme = src.store.insert("Account", {"Name": "Acme"})
    src.store.insert("Account", {"Name": "Zeta"})
    for last in ("Ada", "Bob"):
        src.store.insert("Contact", {"LastName": last, "Email": f"{last.lower()}@acme.test", "AccountId": acme})
    src.store.insert("Opportunity", {"Name": "Acme renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31",
                                     "AccountId": acme})
    return src


@pytest.fixture
def session(client, org, prod):  # noqa: F811
    """Signed in from the target org's Lightning tab, with the production org connected to the same account."""
    install(org)
    headers = bearer(launch(client, org))
    target = db.session.scalars(select(OrgConnection).where(OrgConnection.org_id == org.id)).one()
    source = connect(db.session.get(Account, target.account_id), prod)
    return headers, source.id, target.id


def test_templates_are_listed(client, session):
    headers, _, _ = session
    body = client.get("/api/migrations", headers=headers).get_json()
    assert [t["name"] for t in body["templates"]] == ["accounts-contacts-opportunities", "products-pricebooks",
                                                      "cases-comments"]
    assert body["templates"][1]["objects"] == ["Product2", "Pricebook2", "PricebookEntry"]
    assert body["jobs"] == []


def test_dry_run_counts_per_object_and_writes_nothing(client, session, org):  # noqa: F811
    headers, source, target = session
    org.store.insert("Account", {"Name": "Acme"})
    resp = client.post("/api/migrations/dry-run", headers=headers, json={
        "source_org_connection_id": source, "target_org_connection_id": target,
        "template": "accounts-contacts-opportunities"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    counts = {s["object"]: (s["read"], s["insert"], s["update"], s["unmatched"]) for s in body["steps"]}
    # the owners (the source's admin) have no match in the target and no fallback was given
    assert counts == {"Account": (2, 1, 1, 2), "Contact": (2, 2, 0, 2), "Opportunity": (1, 1, 0, 1)}
    assert body["order"][:3] == ["1. Account: references no other step", "2. Contact: after Account (AccountId)",
                                 "3. Opportunity: after Account (AccountId); after Contact (ContactId)"]
    fallback = client.post("/api/migrations/dry-run", headers=headers, json={
        "source_org_connection_id": source, "target_org_connection_id": target, "objects": ["Account"],
        "where": {"Account": "Name = 'Zeta'"}, "match": {"Account": []}, "fallback_owner": org.admin_username})
    assert [(s["read"], s["insert"], s["unmatched"]) for s in fallback.get_json()["steps"]] == [(1, 1, 0)]
    assert [a["Name"] for a in rows(org, "Account")] == ["Acme"] and rows(org, "Contact") == []


def test_a_migration_runs_through_the_worker_shows_steps_and_rolls_back(client, session, org):  # noqa: F811
    headers, source, target = session
    resp = client.post("/api/migrations", headers=headers, json={
        "name": "Seed UAT", "source_org_connection_id": source, "target_org_connection_id": target,
        "template": "accounts-contacts-opportunities", "fallback_owner": org.admin_username})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    started = resp.get_json()
    assert (started["state"], started["kind"], started["job_name"]) == ("queued", "migrate", "Seed UAT")
    assert multi.run_migration(started["id"]) == "succeeded"  # what the worker's task does
    run = client.get(f"/api/runs/{started['id']}", headers=headers).get_json()
    assert (run["state"], run["succeeded"], run["created"], run["updated"], run["can_rollback"]) == (
        "succeeded", 5, 5, 0, True)
    assert [(s["object"], s["inserted"], s["updated"], s["failed"]) for s in run["steps"]] == [
        ("Account", 2, 0, 0), ("Contact", 2, 0, 0), ("Opportunity", 1, 0, 0)]
    accounts = by(org, "Account", "Name")
    assert by(org, "Opportunity", "Name")["Acme renewal"]["AccountId"] == accounts["Acme"]["Id"]
    listed = client.get("/api/migrations", headers=headers).get_json()["jobs"]
    assert [(j["id"], j["name"], j["objects"]) for j in listed] == [
        (started["job_id"], "Seed UAT", "Account, Contact, Opportunity")]
    job = client.get(f"/api/migrations/{started['job_id']}", headers=headers).get_json()
    assert job["plan"]["owners"] == {"fallback": org.admin_username} and job["source_org_connection_id"] == source

    assert client.post(f"/api/runs/{started['id']}/rollback", headers=headers).status_code == 202
    assert multi.rollback_migration_run(started["id"]) == "rolled_back"
    run = client.get(f"/api/runs/{started['id']}", headers=headers).get_json()
    # the second passes (self-references, none set here) first, then the steps children first
    assert run["rollback_steps"] == [["Contact", "references", 0, 0], ["Account", "references", 0, 0],
                                     ["Opportunity", "insert", 1, 0],
                                     ["Contact", "insert", 2, 0], ["Account", "insert", 2, 0]]
    assert rows(org, "Account") == [] and rows(org, "Opportunity") == []


def test_another_accounts_instance_and_bad_choices_are_refused(client, session, make_org):  # noqa: F811
    headers, source, target = session
    stranger = connect(account("Initech"), make_org("initech"))
    other = client.post("/api/migrations/dry-run", headers=headers, json={
        "source_org_connection_id": stranger.id, "target_org_connection_id": target, "objects": ["Account"]})
    assert other.status_code == 404 and "Initech" not in other.get_data(as_text=True)
    started = client.post("/api/migrations", headers=headers, json={
        "source_org_connection_id": stranger.id, "target_org_connection_id": target, "objects": ["Account"]})
    assert started.status_code == 404
    neither = client.post("/api/migrations/dry-run", headers=headers, json={
        "source_org_connection_id": source, "target_org_connection_id": target})
    assert neither.status_code == 400 and neither.get_json()["message"] == "Choose a template or a list of objects."
    stray = client.post("/api/migrations/dry-run", headers=headers, json={
        "source_org_connection_id": source, "target_org_connection_id": target, "objects": ["Account"],
        "match": {"Contact": ["Email"]}})
    assert stray.status_code == 400 and "not in the migration: contact" in stray.get_json()["message"]
