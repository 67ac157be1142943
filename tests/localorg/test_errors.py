"""Every validation and session error code, with Salesforce's status codes and bodies."""

from __future__ import annotations

import time

import pytest
import requests

from sfdx.localorg.fieldkit import text


def err(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    return r.json()


@pytest.fixture
def widget(org):
    """A custom object with a unique, case-insensitive External Id and a non-unique one."""
    org.define_object("Widget__c", "Widget", [
        text("Code__c", 20, "Widget Code", unique=True, external_id=True, id_lookup=True, custom=True),
        text("Legacy__c", 20, "Legacy Key", external_id=True, id_lookup=True, custom=True)])
    return org


def test_required_field_missing(rest):
    assert err(rest.post("sobjects/Contact", json={"FirstName": "No"}), 400) == [
        {"message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING",
         "fields": ["LastName"]}]
    opp = err(rest.post("sobjects/Opportunity", json={"Name": "x"}), 400)[0]
    assert opp["message"] == "Required fields are missing: [StageName, CloseDate]"
    assert opp["fields"] == ["StageName", "CloseDate"]


def test_string_too_long_uses_label(rest):
    name = "x" * 256
    assert err(rest.post("sobjects/Account", json={"Name": name}), 400) == [
        {"message": f"Account Name: data value too large: {name} (max length=255)", "errorCode": "STRING_TOO_LONG",
         "fields": ["Name"]}]


def test_invalid_type_and_json_parser_error(rest):
    assert err(rest.post("sobjects/Account", json={"Name": "A", "NumberOfEmployees": 3.5}), 400) == [
        {"message": "Employees: value not of required type: 3.5", "errorCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
         "fields": ["NumberOfEmployees"]}]
    body = '{"Name":"A","NumberOfEmployees":"lots"}'
    parsed = err(rest.post("sobjects/Account", data=body, headers={"Content-Type": "application/json"}), 400)
    assert parsed == [{"message": "Cannot deserialize instance of int from VALUE_STRING value lots or request may "
                                  "be missing a required field at [line:1, column:39]",
                       "errorCode": "JSON_PARSER_ERROR", "fields": []}]
    broken = err(rest.post("sobjects/Account", data='{"Name": ', headers={"Content-Type": "application/json"}),
                 400)
    assert broken[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_restricted_picklist(rest):
    body = {"Name": "Deal", "StageName": "Bogus", "CloseDate": "2026-12-01"}
    assert err(rest.post("sobjects/Opportunity", json=body), 400) == [
        {"message": "Stage: bad value for restricted picklist field: Bogus",
         "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["StageName"]}]
    ok = rest.post("sobjects/Account", json={"Name": "A", "Industry": "Made Up"})  # unrestricted
    assert ok.status_code == 201


def test_duplicate_value_on_unique_case_insensitive_external_id(widget, rest):
    first = rest.post("sobjects/Widget__c", json={"Name": "W1", "Code__c": "abc-1"}).json()["id"]
    body = err(rest.post("sobjects/Widget__c", json={"Name": "W2", "Code__c": "ABC-1"}), 400)
    assert body == [{"message": f"duplicate value found: Code__c duplicates value on record with id: {first[:15]}",
                     "errorCode": "DUPLICATE_VALUE", "fields": []}]
    upd = rest.patch("sobjects/Widget__c/Code__c/ABC-1", json={"Name": "W1 renamed"})
    assert upd.status_code == 200 and upd.json()["id"] == first


def test_duplicate_external_id_in_collections_upsert(widget, rest):
    ids = [rest.post("sobjects/Widget__c", json={"Name": f"W{i}", "Legacy__c": "L-1"}).json()["id"]
           for i in range(2)]
    r = rest.patch("composite/sobjects/Widget__c/Legacy__c",
                   json={"allOrNone": False, "records": [{"attributes": {"type": "Widget__c"}, "Legacy__c": "L-1",
                                                          "Name": "again"}]})
    assert r.status_code == 200
    assert r.json() == [{"success": False, "errors": [
        {"statusCode": "DUPLICATE_EXTERNAL_ID", "fields": [],
         "message": f"Legacy Key: more than one record found for external id field: [{ids[0][:15]}, {ids[1][:15]}]"}],
        "created": False}]


def test_malformed_id(rest):
    assert err(rest.post("sobjects/Contact", json={"LastName": "L", "AccountId": "001bogus"}), 400) == [
        {"message": "Account ID: id value of incorrect type: 001bogus", "errorCode": "MALFORMED_ID",
         "fields": ["AccountId"]}]
    r = rest.delete("composite/sobjects?ids=001RM000003oLrB000")
    assert r.json() == [{"success": False, "errors": [
        {"statusCode": "MALFORMED_ID", "message": "malformed id 001RM000003oLrB000", "fields": []}]}]


def test_invalid_cross_reference_key(rest, org):
    contact = rest.post("sobjects/Contact", json={"LastName": "C"}).json()["id"]
    gone = "001" + contact[3:15]  # an Account id that was never issued
    assert err(rest.post("sobjects/Contact", json={"LastName": "L", "AccountId": gone}), 400) == [
        {"message": "invalid cross reference id", "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": []}]
    opp_rt = org.create_record_type("Opportunity", "Big_Deal")
    assert err(rest.post("sobjects/Account", json={"Name": "A", "RecordTypeId": opp_rt}), 400) == [
        {"message": f"Record Type ID: this ID value isn't valid for the user: {opp_rt}",
         "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["RecordTypeId"]}]


def test_lookup_to_the_wrong_object_type(rest):
    contact = rest.post("sobjects/Contact", json={"LastName": "C"}).json()["id"]
    assert err(rest.post("sobjects/Contact", json={"LastName": "L", "AccountId": contact}), 400) == [
        {"message": f"Account ID: id value of incorrect type: {contact}", "errorCode": "FIELD_INTEGRITY_EXCEPTION",
         "fields": ["AccountId"]}]


def test_entity_is_deleted_on_update_and_delete(rest):
    rid = rest.post("sobjects/Account", json={"Name": "Gone"}).json()["id"]
    assert rest.delete(f"sobjects/Account/{rid}").status_code == 204
    expected = [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]
    assert err(rest.patch(f"sobjects/Account/{rid}", json={"Name": "x"}), 404) == expected
    assert err(rest.delete(f"sobjects/Account/{rid}"), 404) == expected


def test_invalid_field_on_create(rest):
    assert err(rest.post("sobjects/Account", json={"Name": "A", "FavoritePet__c": "cat"}), 400) == [
        {"message": "No such column 'FavoritePet__c' on sobject of type Account", "errorCode": "INVALID_FIELD",
         "fields": []}]
    ro = err(rest.post("sobjects/Account", json={"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z"}), 400)[0]
    assert ro["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE" and ro["fields"] == ["CreatedDate"]


def test_invalid_session_for_unknown_expired_and_revoked_tokens(rest, org, localorg, sf_session):
    body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    rest.token = "00Dbogus!nope"
    r = rest.get("sobjects")
    assert r.status_code == 401 and r.json() == body and r.headers["WWW-Authenticate"] == "Token"
    org.knobs.token_lifetime = 0
    rest.token = org.sessions.issue(org.admin_id).token
    assert err(rest.get("sobjects"), 401) == body
    org.knobs.token_lifetime = 7200
    rest.token = org.sessions.issue(org.admin_id).token
    assert rest.get("sobjects").status_code == 200
    org.sessions.revoke(rest.token)
    assert err(rest.get("sobjects"), 401) == body


def test_request_limit_exceeded_after_allowance_is_spent(rest, org, localorg, sf_session):
    admin = {"X-Localorg-Admin": localorg.admin_secret}
    r = sf_session.patch(localorg.base_url + "/_localorg/knobs", headers=admin,
                         json={"org": org.name, "api_allowance": 3, "api_used": 1})
    assert r.status_code == 200 and r.json()[org.name]["api_allowance"] == 3
    assert rest.get("limits").headers["Sforce-Limit-Info"] == "api-usage=2/3"
    assert rest.get("limits").headers["Sforce-Limit-Info"] == "api-usage=3/3"
    over = rest.get("limits")
    assert over.status_code == 403
    assert over.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert over.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    denied = sf_session.patch(localorg.base_url + "/_localorg/knobs", json={"api_allowance": 9})
    assert denied.status_code == 403


def test_an_outage_answers_server_unavailable_and_does_nothing(rest, org, localorg, sf_session):
    admin = {"X-Localorg-Admin": localorg.admin_secret}
    knobs = localorg.base_url + "/_localorg/knobs"
    r = sf_session.patch(knobs, headers=admin, json={"org": org.name, "unavailable": 503})
    assert r.status_code == 200 and r.json()[org.name]["unavailable"] == 503
    assert err(rest.post("sobjects/Contact", json={"LastName": "Outage"}), 503) == [
        {"message": "Server temporarily unavailable, try again later.", "errorCode": "SERVER_UNAVAILABLE"}]
    sf_session.patch(knobs, headers=admin, json={"org": org.name, "unavailable": 0})
    assert rest.get("query", params={"q": "SELECT Id FROM Contact WHERE LastName = 'Outage'"}).json()["totalSize"] == 0


def test_a_hung_org_holds_calls_until_the_client_gives_up_and_answers_them_late(rest, org, localorg, sf_session):
    admin = {"X-Localorg-Admin": localorg.admin_secret}
    knobs = localorg.base_url + "/_localorg/knobs"
    r = sf_session.patch(knobs, headers=admin, json={"org": org.name, "hang_seconds": 120})
    assert r.status_code == 200 and r.json()[org.name]["hang_seconds"] == 120
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf_session.post(rest.url("sobjects/Contact"), json={"LastName": "Hung"}, timeout=0.5,
                        headers={"Authorization": f"Bearer {rest.token}"})
    sf_session.patch(knobs, headers=admin, json={"org": org.name, "hang_seconds": 0})  # the outage is over
    query = {"q": "SELECT Id FROM Contact WHERE LastName = 'Hung'"}
    deadline = time.monotonic() + 30  # a bound on waiting, not a claim about speed
    while rest.get("query", params=query).json()["totalSize"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)  # the held call goes on once the hang ends: the client never learns it was done
    assert rest.get("query", params=query).json()["totalSize"] == 1
