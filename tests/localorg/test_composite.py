"""sObject Collections and /composite with referenceId substitution, through requests / sf.restful."""

from __future__ import annotations

from sfdx.localorg import dml

ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not "
               "all records were valid and the request was using AllOrNone header", "fields": []}


def acct(name, **kw):
    return {"attributes": {"type": "Account"}, "Name": name, **kw}


def test_collections_create_mixed_types_with_per_record_errors(rest):
    r = rest.post("composite/sobjects", json={"allOrNone": False, "records": [
        acct("One"), {"attributes": {"type": "Contact"}, "LastName": "Two"},
        {"attributes": {"type": "Contact"}, "FirstName": "NoLast"}]})
    assert r.status_code == 200
    body = r.json()
    assert body[0]["success"] and body[0]["id"].startswith("001") and body[1]["id"].startswith("003")
    assert body[2] == {"success": False, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message":
                       "Required fields are missing: [LastName]", "fields": ["LastName"]}]}


def test_collections_all_or_none_rolls_back(rest, org):
    r = rest.post("composite/sobjects", json={"allOrNone": True, "records": [acct("Good"), acct("x" * 300)]})
    body = r.json()
    assert body[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert body[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert org.store.count("Account") == 0


def test_collections_update_and_delete(sf, rest):
    ids = [sf.Account.create({"Name": n})["id"] for n in ("A", "B")]
    upd = rest.patch("composite/sobjects", json={"records": [
        {"attributes": {"type": "Account"}, "Id": ids[0], "Name": "A2"},
        {"attributes": {"type": "Account"}, "Id": ids[1], "Industry": "Nope", "NumberOfEmployees": "x"}]})
    assert upd.json()[0] == {"id": ids[0], "success": True, "errors": []}
    assert upd.json()[1]["errors"][0]["statusCode"] == "JSON_PARSER_ERROR"
    gone = rest.delete(f"composite/sobjects?ids={ids[0]},{ids[1]}&allOrNone=false").json()
    assert gone == [{"id": ids[0], "success": True, "errors": []}, {"id": ids[1], "success": True, "errors": []}]
    again = rest.delete(f"composite/sobjects?ids={ids[0]}").json()
    assert again == [{"id": ids[0], "success": False, "errors": [
        {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]}]


def test_collections_delete_all_or_none_with_malformed_id(sf, rest, org):
    good = sf.Account.create({"Name": "Keep"})["id"]
    body = rest.delete(f"composite/sobjects?ids={good},001RM000003oLrB000&allOrNone=true").json()
    assert body == [{"id": good, "success": False, "errors": [ROLLED_BACK]},
                    {"success": False, "errors": [{"statusCode": "MALFORMED_ID",
                                                   "message": "malformed id 001RM000003oLrB000", "fields": []}]}]
    assert org.store.get(good) is not None
    empty = rest.delete("composite/sobjects?ids=")
    assert empty.status_code == 400
    assert empty.json() == [{"message": "At least 1 Id is required.", "errorCode": "REQUIRED_FIELD_MISSING"}]


def test_collections_upsert_by_email_reports_created(sf, rest):
    existing = sf.Contact.create({"LastName": "Old", "Email": "old@example.com"})["id"]
    r = rest.patch("composite/sobjects/Contact/Email", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "Email": "old@example.com", "LastName": "Updated"},
        {"attributes": {"type": "Contact"}, "Email": "new@example.com", "LastName": "New"}]})
    out = r.json()
    assert out[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert out[1]["created"] is True and out[1]["success"] is True
    assert sf.Contact.get(existing)["LastName"] == "Updated"


def test_collections_limit_is_200(rest):
    r = rest.post("composite/sobjects", json={"records": [acct(f"A{i}") for i in range(201)]})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_composite_reference_ids_via_simple_salesforce(sf):
    v = "/services/data/v59.0"
    body = {"compositeRequest": [
        {"method": "POST", "url": f"{v}/sobjects/Account", "referenceId": "newAcc", "body": {"Name": "Ref Co"}},
        {"method": "POST", "url": f"{v}/sobjects/Contact", "referenceId": "newCon",
         "body": {"LastName": "Ref", "AccountId": "@{newAcc.id}"}},
        {"method": "GET", "url": f"{v}/query/?q=SELECT+Id,Account.Name+FROM+Contact", "referenceId": "q"},
        {"method": "GET", "url": f"{v}/sobjects/Account/@{{q.records[0].Account.attributes.type}}",
         "referenceId": "bad"}]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert out[0]["httpStatusCode"] == 201 and out[0]["httpHeaders"]["Location"].endswith(out[0]["body"]["id"])
    assert out[1]["httpStatusCode"] == 201
    assert out[2]["body"]["records"][0]["Account"]["Name"] == "Ref Co"
    assert out[3]["httpStatusCode"] == 404 and out[3]["referenceId"] == "bad"


def test_composite_all_or_none_halts_and_rolls_back(sf, org):
    v = "/services/data/v59.0"
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{v}/sobjects/Account", "referenceId": "a", "body": {"Name": "Rolled"}},
        {"method": "POST", "url": f"{v}/sobjects/Contact", "referenceId": "c", "body": {"FirstName": "x"}},
        {"method": "GET", "url": f"{v}/limits", "referenceId": "l"}]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [o["httpStatusCode"] for o in out] == [400, 400, 400]
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert out[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert org.store.count("Account") == 0


def test_composite_counts_as_one_api_call(rest, org):
    before = org.api_used
    rest.post("composite", json={"compositeRequest": [
        {"method": "GET", "url": "/services/data/v66.0/limits", "referenceId": f"r{i}"} for i in range(5)]})
    assert org.api_used == before + 1


def test_engine_apply_reads_csv_strings(org):
    res = dml.apply(org.store, "insert", "Account", [{"Name": "Csv", "NumberOfEmployees": "12",
                                                      "AnnualRevenue": "1000.5", "Industry": ""}], csv=True)
    rec = org.store.get(res[0].id)
    assert rec["NumberOfEmployees"] == 12 and rec["AnnualRevenue"] == 1000.5 and rec.get("Industry") is None
    bad = dml.apply(org.store, "insert", "Account", [{"Name": "X", "NumberOfEmployees": "many"}], csv=True)
    assert bad[0].errors[0].bulk() == ("INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: "
                                       "many:NumberOfEmployees --")


def test_sobject_tree_creates_nested_children_or_nothing(rest, org):
    body = {"records": [{"attributes": {"type": "Account", "referenceId": "acc1"}, "Name": "Tree Co",
                         "Contacts": {"records": [
                             {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "Leaf"}]}}]}
    r = rest.post("composite/tree/Account", json=body)
    assert r.status_code == 201
    results = r.json()["results"]
    assert r.json()["hasErrors"] is False and [x["referenceId"] for x in results] == ["acc1", "c1"]
    assert org.store.get(results[1]["id"])["AccountId"] == results[0]["id"]
    body["records"][0]["Contacts"]["records"][0]["Email"] = "123"
    bad = rest.post("composite/tree/Account", json=body)
    assert bad.status_code == 400
    assert bad.json() == {"hasErrors": True, "results": [{"referenceId": "c1", "errors": [
        {"statusCode": "INVALID_EMAIL_ADDRESS", "message": "Email: invalid email address: 123", "fields": ["Email"]}]}]}
    assert org.store.count("Account") == 1
