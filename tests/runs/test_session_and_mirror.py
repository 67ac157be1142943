"""client_for renews an expired token and saves it encrypted and knows whose it is; run history is upserted
into the org by key."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from backend.extensions import db
from backend.models import OrgConnection
from backend.pipeline.sinks.rest_resume import stamp
from backend.salesforce.mirror import RunMirror
from backend.salesforce.session import client_for
from backend.services import get_keyring, get_settings
from tests.runs.factories import FORCE_APP, account, connect

JOB = {"job_key": "job-1", "name": "Weekly contacts", "target_object": "Contact", "operation": "hardDelete",
       "source_type": "csv", "schedule": None, "active": True}


def test_an_expired_token_is_renewed_once_and_saved_encrypted(app, org):
    conn = connect(account(), org, access_token="00Dexpired!token")
    client = client_for(conn, get_keyring(), get_settings())
    assert client.describe("Contact")["name"] == "Contact"
    db.session.expire_all()
    fresh = db.session.get(OrgConnection, conn.id)
    token = fresh.get_secret("access_token")
    assert token != "00Dexpired!token" and client.access_token == token
    assert token not in (fresh.access_token or "")  # stored as ciphertext, not as the token
    assert org.sessions.check(token) is not None


@pytest.mark.parametrize("known_user", [True, False])
def test_the_client_knows_the_connected_user_and_asks_userinfo_only_when_it_must(app, org, known_user):
    # Real Salesforce may refuse userinfo to a token with only the api and refresh_token scopes, so a run's
    # REST "sent" marks (rest_resume.stamp) take the user from the connection instead.
    conn = connect(account(), org, known_user=known_user)
    paths: list[str] = []
    session = requests.Session()
    session.hooks["response"].append(lambda resp, **_: paths.append(urlsplit(resp.url).path))
    client = client_for(conn, get_keyring(), get_settings(), session=session)
    assert client.describe("Contact")["name"] == "Contact"
    assert stamp(client)[1] == org.admin_id
    assert ("/services/oauth2/userinfo" in paths) is not known_user


def test_a_revoked_refresh_token_fails_with_a_message_to_reconnect(app, org):
    from backend.errors import FatalSalesforceError

    conn = connect(account(), org, access_token="00Dexpired!token")
    org.sessions.revoke(conn.get_secret("refresh_token"))
    with pytest.raises(FatalSalesforceError, match="reconnect"):
        client_for(conn, get_keyring(), get_settings()).describe("Contact")


@pytest.mark.parametrize("namespace", ["", "inflow"])
def test_run_history_is_upserted_by_key_and_throttled(app, make_org, sf_session, namespace):
    from simple_salesforce import Salesforce

    org = make_org(source_dir=FORCE_APP, namespace=namespace or None)
    conn = connect(account(), org, namespace=namespace)
    now = [100.0]
    mirror = RunMirror(client_for(conn, get_keyring(), get_settings()), namespace, job=JOB, run_key="run-1",
                       clock=lambda: now[0])
    counts = {"api": "bulk2", "started": None, "finished": None, "processed": 10, "succeeded": 9, "failed": 1}
    assert mirror.sync(status="running", **counts, final=True)
    now[0] += 5
    assert not mirror.sync(status="running", **{**counts, "processed": 20})  # less than 10 s later
    now[0] += 6
    assert mirror.sync(status="cancelling", **{**counts, "processed": 30})
    assert mirror.sync(status="partial", **{**counts, "processed": 40}, error_summary="1 row failed",
                       final=True)
    ns = f"{namespace}__" if namespace else ""
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    runs = sf.query(f"SELECT {ns}Run_Key__c, {ns}Status__c, {ns}Records_Processed__c, {ns}Operation__c, "
                    f"{ns}Import_Job__c FROM {ns}Import_Run__c")["records"]
    jobs = sf.query(f"SELECT Id, Name, {ns}Job_Key__c FROM {ns}Import_Job__c")["records"]
    assert len(runs) == 1 and len(jobs) == 1
    assert runs[0][f"{ns}Status__c"] == "partial" and runs[0][f"{ns}Records_Processed__c"] == 40
    assert runs[0][f"{ns}Operation__c"] == "hard_delete" and runs[0][f"{ns}Import_Job__c"] == jobs[0]["Id"]
    assert jobs[0]["Name"] == "Weekly contacts"


def test_an_org_without_the_package_objects_turns_history_off_without_raising(app, org):
    conn = connect(account(), org)
    mirror = RunMirror(client_for(conn, get_keyring(), get_settings()), "", job=JOB, run_key="run-2")
    counts = {"api": "rest", "started": None, "finished": None, "processed": 1, "succeeded": 1, "failed": 0}
    assert mirror.sync(status="running", **counts, final=True) is False
    assert mirror.enabled is False
    assert mirror.sync(status="succeeded", **counts, final=True) is False
