"""Every name one piece of package metadata uses points at metadata that exists in force-app."""

from __future__ import annotations

import json
import re

import pytest

from .force_app import (
    DEFAULT,
    MD,
    ROOT,
    STANDARD_FIELDS,
    aura_bundles,
    aura_design_attributes,
    aura_interfaces,
    files,
    local_component,
    lwc_bundles,
    parse,
    sobjects,
    text,
    texts,
)

FLEXIPAGES = files("flexipages", ".flexipage-meta.xml")
TABS = files("tabs", ".tab-meta.xml")
APPS = files("applications", ".app-meta.xml")
PERMSETS = files("permissionsets", ".permissionset-meta.xml")
PAGE_TARGETS = {
    "RecordPage": "lightning__RecordPage",
    "HomePage": "lightning__HomePage",
    "AppPage": "lightning__AppPage",
}
AURA_PAGE_INTERFACES = {
    "RecordPage": {"flexipage:availableForAllPageTypes", "flexipage:availableForRecordHome"},
    "HomePage": {"flexipage:availableForAllPageTypes"},
    "AppPage": {"flexipage:availableForAllPageTypes"},
}


def component_instances(page):
    for instance in page.iter(MD + "componentInstance"):
        props = {text(p, "name"): text(p, "value") for p in instance.findall(MD + "componentInstanceProperties")}
        yield text(instance, "componentName"), props


def field_exists(obj: str, field: str) -> bool:
    return field in sobjects()[obj].fields or field in STANDARD_FIELDS


def test_the_package_has_the_pages_tabs_app_and_permission_sets() -> None:
    assert set(FLEXIPAGES) == {"Import_Run_Record_Page", "Import_Job_Record_Page", "Inflow_Home_Page"}
    assert set(TABS) == {"Inflow", "Import_Job__c", "Import_Run__c"}
    assert set(APPS) == {"Inflow"}
    assert set(PERMSETS) == {"Inflow_Admin", "Inflow_User"}
    assert set(sobjects()) == {"Import_Job__c", "Import_Run__c"}


@pytest.mark.parametrize("name", sorted(FLEXIPAGES))
def test_flexipage_components_exist_and_fit_the_page(name: str) -> None:
    page = parse(FLEXIPAGES[name])
    page_type = text(page, "type")
    sobject = text(page, "sobjectType")
    if page_type == "RecordPage":
        assert sobject in sobjects(), f"{name} is for unknown object {sobject}"
    for component, props in component_instances(page):
        local = local_component(component)
        if local is None:
            continue  # a platform component such as force:highlightsPanel
        kind, bundle = local
        assert kind != "missing", f"{name} uses {component}, which is not in force-app"
        if kind == "lwc":
            meta = lwc_bundles()[bundle]
            assert text(meta, "isExposed") == "true", f"{bundle} is not exposed"
            assert PAGE_TARGETS[page_type] in texts(meta, f"targets/{MD}target"), f"{bundle} lacks {page_type}"
            objects = texts(meta, f"targetConfigs/{MD}targetConfig/{MD}objects/{MD}object")
            assert not objects or sobject in objects, f"{bundle} is not allowed on {sobject}"
            declared = {p.get("name") for p in meta.iter(MD + "property")}
            assert set(props) <= declared, f"{name} sets undeclared properties on {bundle}"
        else:
            interfaces = aura_interfaces(aura_bundles()[bundle])
            assert interfaces & AURA_PAGE_INTERFACES[page_type], f"{bundle} cannot be placed on a {page_type}"
            assert set(props) <= aura_design_attributes(bundle), f"{name} sets undeclared attributes on {bundle}"


def test_record_pages_show_the_run_summary_and_the_canvas() -> None:
    run_page = {c for c, _ in component_instances(parse(FLEXIPAGES["Import_Run_Record_Page"]))}
    assert {"force:highlightsPanel", "force:detailPanel", "runSummary", "c:inflowCanvas"} <= run_page
    job_page = {c for c, _ in component_instances(parse(FLEXIPAGES["Import_Job_Record_Page"]))}
    assert {"force:detailPanel", "force:relatedListContainer", "c:inflowCanvas"} <= job_page
    home = {c for c, _ in component_instances(parse(FLEXIPAGES["Inflow_Home_Page"]))}
    assert "recentRuns" in home


@pytest.mark.parametrize("obj", ["Import_Job__c", "Import_Run__c"])
def test_objects_open_their_record_page(obj: str) -> None:
    root = sobjects()[obj].root
    overrides = {text(o, "actionName"): o for o in root.findall(MD + "actionOverrides")}
    view = overrides["View"]
    assert text(view, "type") == "Flexipage"
    page = parse(FLEXIPAGES[text(view, "content")])
    assert text(page, "sobjectType") == obj


def test_the_inflow_tab_hosts_the_canvas_component() -> None:
    tab = parse(TABS["Inflow"])
    kind, bundle = local_component(text(tab, "auraComponent"))
    assert kind == "aura"
    assert "force:appHostable" in aura_interfaces(aura_bundles()[bundle])
    for name in ("Import_Job__c", "Import_Run__c"):
        assert text(parse(TABS[name]), "customObject") == "true"


def test_the_app_is_lightning_with_the_three_tabs() -> None:
    app = parse(APPS["Inflow"])
    assert text(app, "uiType") == "Lightning"
    assert texts(app, "tabs") == ["Inflow", "Import_Job__c", "Import_Run__c"]
    assert set(texts(app, "tabs")) <= set(TABS)


@pytest.mark.parametrize("name", sorted(PERMSETS))
def test_permission_sets_grant_only_what_exists(name: str) -> None:
    perms = parse(PERMSETS[name])
    assert texts(perms, f"applicationVisibilities/{MD}application") == ["Inflow"]
    assert set(texts(perms, f"tabSettings/{MD}tab")) == set(TABS)
    assert set(texts(perms, f"objectPermissions/{MD}object")) == set(sobjects())
    for fp in perms.findall(MD + "fieldPermissions"):
        obj, field = text(fp, "field").split(".")
        meta = sobjects()[obj].fields[field]
        # The platform refuses field permissions on required and master-detail fields.
        assert not meta.required and meta.type != "MasterDetail", f"{name} lists required field {obj}.{field}"
    listed = {text(fp, "field") for fp in perms.findall(MD + "fieldPermissions")}
    optional = {f"{o.name}.{f.name}" for o in sobjects().values() for f in o.fields.values() if f.name != "Name"}
    optional -= {f"{o.name}.{f}" for o in sobjects().values() for f in o.required()}
    assert listed == optional, "every optional field needs a field permission"


def test_users_read_and_admins_manage() -> None:
    def access(name: str) -> dict[str, dict[str, str]]:
        perms = parse(PERMSETS[name])
        return {
            text(op, "object"): {child.tag[len(MD) :]: child.text for child in op}
            for op in perms.findall(f"{MD}objectPermissions")
        }

    for obj, flags in access("Inflow_User").items():
        assert flags["allowRead"] == "true" and flags["allowEdit"] == "false" and flags["allowDelete"] == "false", obj
    for obj, flags in access("Inflow_Admin").items():
        assert all(flags[k] == "true" for k in ("allowCreate", "allowEdit", "allowDelete", "modifyAllRecords")), obj


@pytest.mark.parametrize("obj", ["Import_Job__c", "Import_Run__c"])
def test_layouts_list_views_and_compact_layouts_name_real_fields(obj: str) -> None:
    folder = DEFAULT / "objects" / obj
    standard_columns = {"NAME", "LAST_UPDATE", "CREATED_DATE", "OWNER.ALIAS"}
    for path in sorted((folder / "listViews").glob("*.listView-meta.xml")):
        view = parse(path)
        for column in texts(view, "columns"):
            assert column in standard_columns or field_exists(obj, column), f"{path.name}: {column}"
        for field in texts(view, f"filters/{MD}field"):
            assert field_exists(obj, field), f"{path.name} filters on {field}"
    for path in sorted((folder / "compactLayouts").glob("*.compactLayout-meta.xml")):
        for field in texts(parse(path), "fields"):
            assert field_exists(obj, field), f"{path.name}: {field}"
    assert (
        folder / "compactLayouts" / f"{text(sobjects()[obj].root, 'compactLayoutAssignment')}.compactLayout-meta.xml"
    ).exists()
    (layout_path,) = (DEFAULT / "layouts").glob(f"{obj}-*.layout-meta.xml")
    layout = parse(layout_path)
    on_layout = {}
    for item in layout.iter(MD + "layoutItems"):
        field = text(item, "field")
        assert field_exists(obj, field), f"{layout_path.name}: {field}"
        on_layout[field] = text(item, "behavior")
    for field in sobjects()[obj].required():
        assert on_layout.get(field) == "Required", f"required {obj}.{field} must be Required on the layout"


def test_job_layout_lists_the_runs() -> None:
    layout = parse(DEFAULT / "layouts" / "Import_Job__c-Import Job Layout.layout-meta.xml")
    related = [text(r, "relatedList") for r in layout.findall(MD + "relatedLists")]
    assert related == ["Import_Run__c.Import_Job__c"]
    master = sobjects()["Import_Run__c"].fields["Import_Job__c"]
    assert master.type == "MasterDetail" and master.reference_to == "Import_Job__c"


def test_the_canvas_app_is_an_external_client_app_with_post_and_aura() -> None:
    eca = parse(DEFAULT / "externalClientApps" / "Inflow.eca-meta.xml")
    assert text(eca, "distributionState") == "Packaged"
    canvas = parse(DEFAULT / "extlClntAppCanvasSettings" / "Inflow.ecaCanvas-meta.xml")
    assert text(canvas, "externalClientApplication") == "Inflow"
    assert text(canvas, "accessMethod") == "Post"
    assert {"Aura", "Visualforce"} <= set(texts(canvas, "canvasLocationOptions"))
    url = text(canvas, "canvasUrl")
    assert url.startswith("https://") and "#" not in url  # Salesforce strips fragments
    oauth = parse(DEFAULT / "extlClntAppOauthSettings" / "Inflow.ecaOauth-meta.xml")
    scopes = {s.strip() for s in text(oauth, "commaSeparatedOauthScopes").split(",")}
    assert {"Api", "RefreshToken", "Basic", "OpenID"} <= scopes
    policies = parse(DEFAULT / "extlClntAppOauthPolicies" / "Inflow.ecaOauthPlcy-meta.xml")
    assert text(policies, "permittedUsersPolicyType") == "AdminApprovedPreAuthorized"
    assert set(text(policies, "commaSeparatedPermissionSet").split(",")) == set(PERMSETS)
    plugins = parse(DEFAULT / "extlClntAppPolicies" / "Inflow.ecaPlcy-meta.xml")
    assert text(plugins, "isCanvasPluginEnabled") == "true"


def test_the_aura_host_names_the_canvas_app_and_passes_the_record() -> None:
    markup = aura_bundles()["inflowCanvas"]
    assert re.search(r'developerName="Inflow"', markup) and re.search(r'namespacePrefix="inflow"', markup)
    assert 'onCanvasAppError="{!c.onCanvasAppError}"' in markup
    assert {"force:appHostable", "flexipage:availableForAllPageTypes", "flexipage:availableForRecordHome",
            "force:hasRecordId"} <= aura_interfaces(markup)  # fmt: skip
    helper = (DEFAULT / "aura" / "inflowCanvas" / "inflowCanvasHelper.js").read_text()
    assert "parameters.recordId = recordId" in helper and "parameters.sObjectName" in helper


def test_no_consumer_secret_is_committed() -> None:
    for path in (ROOT / "force-app").rglob("*"):
        if path.is_file():
            body = path.read_text(errors="replace")
            assert "<consumerSecret>" not in body and "<consumerKey>" not in body, path
    assert not list((ROOT / "force-app").rglob("*.ecaGlblOauth-meta.xml"))
    forceignore = (ROOT / ".forceignore").read_text().split()
    assert "**/__tests__/**" in forceignore and "**/*.ecaGlblOauth-meta.xml" in forceignore


def test_project_file_and_api_versions() -> None:
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    assert project["namespace"] == "inflow" and project["sourceApiVersion"] == "66.0"
    (directory,) = project["packageDirectories"]
    assert directory["path"] == "force-app" and directory["versionNumber"] == "0.1.0.NEXT"
    assert (ROOT / directory["definitionFile"]).exists()
    for meta in [*(DEFAULT / "lwc").glob("*/*.js-meta.xml"), *(DEFAULT / "aura").glob("*/*.cmp-meta.xml")]:
        assert text(parse(meta), "apiVersion") == "66.0", meta
