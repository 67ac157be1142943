"""The package installs and Inflow works against it: `sf project deploy start --source-dir force-app` (the
unmodified CLI, Metadata API deploy) into an empty localorg org, then an import whose run history lands in
the deployed Import_Run__c."""

from __future__ import annotations

import shutil

from simple_salesforce import Salesforce

from backend.models.base import TenantScope
from backend.runs import execute, service
from tests.localorg.sf_cli import SfCli
from tests.runs.factories import CONTACT_MAPPING, FORCE_APP, ROOT, account, connect, contacts_csv, csv_job


def _describe(org, sf_session, name: str) -> dict:
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    body = getattr(sf, name).describe()
    return {"fields": body["fields"], "childRelationships": body["childRelationships"], "label": body["label"],
            "labelPlural": body["labelPlural"]}


def test_package_deployed_by_the_sf_cli_into_an_empty_org_takes_an_inflow_import(
        app, localorg, make_org, sf_session, tmp_path):
    org = make_org()
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    assert "Import_Run__c" not in {o["name"] for o in sf.describe()["sobjects"]}
    project = tmp_path / "project"   # the CLI writes .sf/ into the project; keep it out of the worktree
    project.mkdir()
    shutil.copy(ROOT / "sfdx-project.json", project)
    shutil.copytree(FORCE_APP, project / "force-app")
    cli = SfCli(tmp_path / "home", localorg.ca_path, org.instance_url, org.ready_token)

    out = cli.run("project", "deploy", "start", "--source-dir", "force-app", "-o", "lo", cwd=project)

    assert out["status"] == 0, out
    result = out["result"]
    assert result["success"] and result["status"] == "Succeeded" and result["numberComponentErrors"] == 0
    deployed = {(f["type"], f["fullName"]) for f in result["files"] if f["state"] == "Created"}
    assert {("CustomObject", "Import_Run__c"), ("CustomField", "Import_Run__c.Run_Key__c"),
            ("CustomTab", "Inflow"), ("ExternalClientApplication", "Inflow")} <= deployed
    loaded_at_start = make_org(source_dir=FORCE_APP)
    for name in ("Import_Job__c", "Import_Run__c"):
        assert _describe(org, sf_session, name) == _describe(loaded_at_start, sf_session, name)

    acct = account()
    conn = connect(acct, org)
    job = csv_job(acct, conn, contacts_csv(5), CONTACT_MAPPING, api="rest")
    run = service.create_run(TenantScope(acct.id), job.id).run
    assert execute.run_import(run.id) == "succeeded"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 5
    [hist] = sf.query("SELECT Status__c, Records_Succeeded__c, Object__c FROM Import_Run__c "
                      f"WHERE Run_Key__c = '{run.id}'")["records"]
    assert (hist["Status__c"], hist["Records_Succeeded__c"], hist["Object__c"]) == ("succeeded", 5, "Contact")


def test_deploy_reports_what_localorg_cannot_accept_as_salesforce_does(localorg, make_org, tmp_path):
    org = make_org()
    project = tmp_path / "project"
    (project / "force-app/main/default/classes").mkdir(parents=True)
    shutil.copy(ROOT / "sfdx-project.json", project)
    (project / "force-app/main/default/classes/Hello.cls").write_text("public class Hello {}\n")
    (project / "force-app/main/default/classes/Hello.cls-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<apiVersion>66.0</apiVersion><status>Active</status></ApexClass>\n")
    tab = project / "force-app/main/default/tabs"
    tab.mkdir()
    (tab / "Missing__c.tab-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CustomTab xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<customObject>true</customObject><motif>Custom20: Airplane</motif></CustomTab>\n")
    cli = SfCli(tmp_path / "home", localorg.ca_path, org.instance_url, org.ready_token)

    out = cli.run("project", "deploy", "start", "--source-dir", "force-app", "-o", "lo", cwd=project)

    assert out["status"] == 1 and out["result"]["status"] == "Failed" and not out["result"]["success"], out
    failures = {(f["type"], f["fullName"]): f["error"] for f in out["result"]["files"] if f["state"] == "Failed"}
    assert failures == {("ApexClass", "Hello"): "Not available for deploy for this organization",
                        ("CustomTab", "Missing__c"): "In field: customObject - no CustomObject named Missing__c found"}
    assert org.schema.get("Missing__c") is None and "CustomTab" not in org.extra.get("metadata", {})
