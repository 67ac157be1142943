"""Sends a fixture's equivalent request to localorg: its own ids, names and credentials in place of the
recording's, prepared by the named setup steps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from sfdx.localorg import fieldkit
from sfdx.localorg.canvas import register_canvas_app
from sfdx.localorg.org import Org
from sfdx.localorg.server import LocalOrgServer


class Replay:
    def __init__(self, server: LocalOrgServer, org: Org, session: requests.Session) -> None:
        self.server, self.org, self.s = server, org, session
        self.vars: dict[str, Any] = {"org_id": org.id, "user_id": org.admin_id}

    def insert(self, obj: str, **values: Any) -> str:
        return self.org.store.insert(obj, values)

    def sub(self, value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith("{") and value.endswith("}") and value[1:-1] in self.vars:
                return self.vars[value[1:-1]]
            for k, v in self.vars.items():
                if isinstance(v, str):
                    value = value.replace("{" + k + "}", v)
            return value
        if isinstance(value, list):
            return [self.sub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.sub(v) for k, v in value.items()}
        return value

    def send(self, spec: dict[str, Any]) -> requests.Response:
        for step in spec.get("setup", []):
            SETUPS[step](self)
        if spec.get("kind") == "canvas_envelope":
            return self.canvas_page()
        base = self.server.base_url if spec.get("host") == "login" else self.org.instance_url
        headers = dict(spec.get("headers", {}))
        auth = spec.get("auth", "bearer")
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {self.org.ready_token}"
        elif auth == "bad":
            headers["Authorization"] = f"Bearer {self.org.id}!expiredOrUnknownToken"
        elif auth == "X-SFDC-Session":
            headers["X-SFDC-Session"] = self.org.ready_token
        kw: dict[str, Any] = {"params": self.sub(spec.get("params")), "headers": headers, "timeout": 60}
        if "json" in spec:
            kw["json"] = self.sub(spec["json"])
        elif "form" in spec:
            kw["data"] = self.sub(spec["form"])
        elif "data" in spec:
            kw["data"] = self.sub(spec["data"]).encode()
        return self.s.request(spec["method"], base + self.sub(spec["path"]), **kw)

    def canvas_page(self) -> requests.Response:
        """The Lightning tab page hosting a canvas app, as a logged-in user opens it (the envelope is inside)."""
        register_canvas_app(self.org, "Recorded", "https://127.0.0.1:5000/canvas", tab="Recorded")
        return self.s.get(self.org.instance_url + "/secur/frontdoor.jsp", timeout=30,
                          params={"sid": self.org.ready_token, "retURL": "/lightning/n/Recorded"})

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("headers", {})["Authorization"] = f"Bearer {self.org.ready_token}"
        return self.s.request(method, self.org.instance_url + path, timeout=60, **kw)


def _data(r: Replay) -> None:
    acc = r.insert("Account", Name="Sitwell-Bluth", AccountNumber="420")
    con = r.insert("Contact", FirstName="Lindsay", LastName="Sitwell", Email="lindsay@example.com", AccountId=acc)
    r.insert("Opportunity", Name="Illusional", StageName="Prospecting", CloseDate="2021-10-03", AccountId=acc)
    r.vars.update(account_id=acc, contact_id=con, collections_update_body={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Id": acc, "Name": "Sitwell Enterprises"}]})


def _accounts(n: int) -> Callable[[Replay], None]:
    def setup(r: Replay) -> None:
        for i in range(n):
            r.insert("Account", Name=f"Sample Account {i}", Description="Sample", Phone="555-0100",
                     AccountNumber=str(1000 + i))
    return setup


def _notification_type(r: Replay) -> None:
    r.org.add_notification_types([{"DeveloperName": "Import_Done", "MasterLabel": "Import done",
                                   "CustomNotifTypeName": "Import done", "Desktop": True, "Mobile": True}])
    r.vars["notification_type_id"] = next(iter(r.org.store.table("CustomNotificationType").rows))


def _custom_object(r: Replay) -> None:
    r.org.define_object("Custom__c", "Custom", [fieldkit.text("Description__c", 255, custom=True)])


def _record_type(r: Replay) -> None:
    r.org.create_record_type("Account", "HH_Account", "Household Account")


def _upsert_contacts(r: Replay) -> None:
    for first, last, mail in (("Nichael", "Bluth", "Michael.Bluth@example.com"),
                              ("George Oscar", "Bluth", "GOB.Bluth@example.com"),
                              ("Lindsay", "Sitwell", "lindsay.bluth@example.com")):
        r.insert("Contact", FirstName=first, LastName=last, Email=mail)


def _contact_opportunities(r: Replay) -> None:
    con = r.insert("Contact", FirstName="Michael", LastName="Bluth", Email="michael@example.com")
    r.insert("Contact", FirstName="Lindsay", LastName="Sitwell")
    r.insert("Opportunity", Name="Espionage", StageName="Prospecting", CloseDate="2021-10-03", ContactId=con)


def _twin_contacts(r: Replay) -> None:
    for _ in range(2):
        r.insert("Contact", LastName="Twin", Email="twin@example.com")


def _app(r: Replay) -> None:
    app = r.org.register_app("Recorded", ["https://127.0.0.1:5000/oauth/callback"])
    r.vars.update(client_id=app.consumer_key, client_secret=app.consumer_secret, username=r.org.admin_username,
                  password=r.org.admin_password, bad_password="not-" + r.org.admin_password)  # pragma: allowlist secret


def _refresh_token(r: Replay) -> None:
    r.vars["refresh_token"] = r.org.sessions.new_refresh_token(r.org.admin_id, r.vars["client_id"],
                                                               "api refresh_token")


def _revoke_refresh(r: Replay) -> None:
    resp = r.s.post(r.server.base_url + "/services/oauth2/revoke", data={"token": r.vars["refresh_token"]}, timeout=30)
    assert resp.status_code == 200, resp.text


def _bulk1_job(content: str) -> Callable[[Replay], None]:
    def setup(r: Replay) -> None:
        if content == "JSON":
            resp = r.s.post(f"{r.org.instance_url}/services/async/62.0/job", timeout=30, json={
                "operation": "insert", "object": "Account", "contentType": "JSON"},
                headers={"X-SFDC-Session": r.org.ready_token})
            r.vars["bulk1_json_job"] = resp.json()["id"]
        else:
            xml = ('<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/'
                   'dataload"><operation>insert</operation><object>Account</object><contentType>CSV</contentType>'
                   '</jobInfo>')
            resp = r.s.post(f"{r.org.instance_url}/services/async/37.0/job", data=xml.encode(), timeout=30,
                            headers={"X-SFDC-Session": r.org.ready_token, "Content-Type": "application/xml"})
            r.vars["bulk1_csv_job"] = resp.text.split("<id>")[1].split("</id>")[0]
        assert resp.status_code == 201, resp.text
    return setup


def _bulk1_batch_done(r: Replay) -> None:
    url = f"{r.org.instance_url}/services/async/37.0/job/{r.vars['bulk1_csv_job']}/batch"
    hdr = {"X-SFDC-Session": r.org.ready_token, "Content-Type": "text/csv"}
    resp = r.s.post(url, data=b"Name\nZushi Co.\nMUJI\n", headers=hdr, timeout=30)
    batch = resp.text.split("<id>")[1].split("</id>")[0]
    r.vars["bulk1_batch"] = batch
    for _ in range(200):
        if "<state>Completed</state>" in r.s.get(f"{url}/{batch}", headers=hdr, timeout=30).text:
            return
        time.sleep(0.05)
    raise AssertionError("Bulk 1.0 batch did not complete")


def _bulk2_ingest_job(r: Replay) -> None:
    resp = r.api("POST", "/services/data/v58.0/jobs/ingest", json={"object": "Account", "operation": "insert",
                                                                     "lineEnding": "LF", "contentType": "CSV"})
    r.vars["bulk2_job"] = resp.json()["id"]


def _bulk2_uploaded(r: Replay) -> None:
    resp = r.api("PUT", f"/services/data/v58.0/jobs/ingest/{r.vars['bulk2_job']}/batches",
                 data=b"Name,ShippingCity,NumberOfEmployees,AnnualRevenue,Website,Description\n"
                      b"Lorem Ipsum,Milano,2676,912260031,https://ft.com/lacus/at.jsp,Lorem ipsum\n"
                      b"Posuere Inc,Bodo,many,896852810,http://webs.com/in/faucibus.json,consectetur\n",
                 headers={"Content-Type": "text/csv"})
    assert resp.status_code == 201, resp.text


def _bulk2_done(r: Replay, kind: str, job: str) -> None:
    for _ in range(400):
        state = r.api("GET", f"/services/data/v58.0/jobs/{kind}/{job}").json()["state"]
        if state in ("JobComplete", "Failed"):
            return
        time.sleep(0.05)
    raise AssertionError(f"Bulk 2.0 {kind} job did not finish")


def _bulk2_closed(r: Replay) -> None:
    r.api("PATCH", f"/services/data/v58.0/jobs/ingest/{r.vars['bulk2_job']}", json={"state": "UploadComplete"})
    _bulk2_done(r, "ingest", r.vars["bulk2_job"])


def _bulk2_query_done(r: Replay) -> None:
    resp = r.api("POST", "/services/data/v58.0/jobs/query", json={"operation": "query",
                                                                    "query": "SELECT Id, Name FROM Account"})
    r.vars["bulk2_query"] = resp.json()["id"]
    _bulk2_done(r, "query", r.vars["bulk2_query"])


def _first_page(r: Replay) -> None:
    resp = r.api("GET", "/services/data/v52.0/query", params={"q": "SELECT Name FROM Account"},
                 headers={"Sforce-Query-Options": "batchSize=200"})
    r.vars["next_records_url"] = resp.json()["nextRecordsUrl"]


def _bulk1_query_job(r: Replay) -> None:
    con = r.insert("Contact", LastName="Contact", Email="contact@example.com")
    acc = r.insert("Account", Name="Sample Account", Description="Sample", Phone="555-0100", AccountNumber="1")
    for i, what in enumerate((None, acc, acc)):   # as recorded: the first event has no What, the others do
        r.insert("Event", Subject=f"Test Event {i}", DurationInMinutes=60, ActivityDateTime="2024-11-07T07:00:00Z",
                 WhoId=con, WhatId=what)
    hdr = {"X-SFDC-Session": r.org.ready_token, "Content-Type": "application/json"}  # as simple-salesforce sends
    base = f"{r.org.instance_url}/services/async/62.0/job"
    job = r.s.post(base, json={"operation": "query", "object": "Event", "contentType": "JSON"}, headers=hdr,
                   timeout=30).json()["id"]
    soql = ("SELECT Id, Who.LastName, Who.Email, What.Name, What.Description, What.Phone, What.AccountNumber, "
            "Subject, DurationInMinutes, ActivityDateTime FROM Event ORDER BY Subject")
    batch = r.s.post(f"{base}/{job}/batch", data=soql.encode(), timeout=30, headers=hdr).json()["id"]
    for _ in range(200):
        if r.s.get(f"{base}/{job}/batch/{batch}", headers=hdr, timeout=30).json()["state"] == "Completed":
            break
        time.sleep(0.05)
    results = r.s.get(f"{base}/{job}/batch/{batch}/result", headers=hdr, timeout=30).json()
    r.vars.update(bulk1_query_job=job, bulk1_query_batch=batch, bulk1_query_result=results[0])


SETUPS: dict[str, Callable[[Replay], None]] = {
    "data": _data, "notification_type": _notification_type,
    "accounts17": _accounts(17), "accounts10": _accounts(10), "accounts3": _accounts(3),
    "accounts250": _accounts(250),
    "first_page": _first_page, "bulk1_query_job": _bulk1_query_job,
    "custom_object": _custom_object, "record_type": _record_type, "upsert_contacts": _upsert_contacts,
    "contact_opportunities": _contact_opportunities, "twin_contacts": _twin_contacts, "app": _app,
    "refresh_token": _refresh_token, "revoke_refresh": _revoke_refresh, "bulk1_json_job": _bulk1_job("JSON"),
    "bulk1_csv_job": _bulk1_job("CSV"), "bulk1_batch_done": _bulk1_batch_done, "bulk2_ingest_job": _bulk2_ingest_job,
    "bulk2_uploaded": _bulk2_uploaded, "bulk2_closed": _bulk2_closed, "bulk2_query_done": _bulk2_query_done,
}


def load(path: Any) -> dict[str, Any]:
    return json.loads(path.read_text())
