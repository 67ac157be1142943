"""The Organization object and the one record every org has, with the fields a real org returns
(recorded: CumulusCI's `GET_sobjects_Organization.yaml`, see README "Sources")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .fieldkit import boolean, datetime_, email, integer, phone, pick, text, url
from .schema import SObjectType
from .table import Table
from .values import format_datetime

ACCESS = ["None", "Read", "Edit", "ReadEditTransfer", "ControlledByParent", "All", "ReadSelect",
          "HideDetailsInsert", "ShowDetails", "ShowDetailsInsert"]
DEFAULT_ACCESS = {"Account": "Edit", "Contact": "ControlledByParent", "Opportunity": "Edit",
                  "Lead": "ReadEditTransfer", "Case": "ReadEditTransfer", "Calendar": "HideDetailsInsert",
                  "Pricebook": "ReadSelect", "Campaign": "All"}
PREFERENCES = {"ReceivesInfoEmails": True, "ReceivesAdminInfoEmails": True,
               "PreferencesRequireOpportunityProducts": False, "PreferencesTransactionSecurityPolicy": False,
               "PreferencesTerminateOldestSession": False, "PreferencesConsentManagementEnabled": True,
               "PreferencesAutoSelectIndividualOnMerge": False, "PreferencesLightningLoginEnabled": True,
               "PreferencesOnlyLLPermUserAllowed": False, "UsesStartDateAsFiscalYearName": False,
               "IsReadOnly": False}


def add_fields(o: SObjectType, address: Any) -> None:
    o.add(text("Name", 80, "Name", required=True, name_field=True), text("Division", 80))
    address(o, "", "")
    o.add(phone("Phone"), phone("Fax"), text("PrimaryContact", 80, "Primary Contact"),
          text("DefaultLocaleSidKey", 40, "Locale"), text("TimeZoneSidKey", 40, "Time Zone"),
          text("LanguageLocaleKey", 40, "Language"),
          *(boolean(name) for name in PREFERENCES),
          integer("FiscalYearStartMonth", "Fiscal Year Starts In", digits=2),
          *(pick(f"Default{obj}Access", ACCESS, f"Default {obj} Access", length=40) for obj in DEFAULT_ACCESS),
          url("DelegatedAuthenticationServiceUrl", "Delegated Authentication Service URL"),
          email("ComplianceBccEmail", "Compliance BCC Email"),
          pick("UiSkin", ["Theme1", "Theme2", "PortalDefault", "Webstore", "Theme3", "Theme4d"], "UI Skin"),
          text("SignupCountryIsoCode", 2, "Signup Country"), datetime_("TrialExpirationDate", "Trial Expiration Date"),
          integer("NumKnowledgeService", "Knowledge Licenses"),
          pick("OrganizationType", ["Developer Edition", "Enterprise Edition", "Unlimited Edition"], "Edition"),
          text("NamespacePrefix", 15, "Namespace Prefix"), text("InstanceName", 5, "Instance Name"),
          boolean("IsSandbox", "Is Sandbox"), pick("WebToCaseDefaultOrigin", ["Phone", "Email", "Web"],
                                                  "Web to Cases Default Origin"),
          integer("MonthlyPageViewsUsed", "Monthly Page Views Used", digits=9),
          integer("MonthlyPageViewsEntitlement", "Monthly Page Views Allowed", digits=9))
    for f in o.fields.values():
        f.createable = f.updateable = False


def put_record(table: Table, org_id: str, name: str, admin_id: str, admin_name: str) -> None:
    """The org's own Organization row: a Developer Edition org in the US, created now by its admin."""
    now = datetime.now(UTC)
    stamp = format_datetime(now)
    rec: dict[str, Any] = dict.fromkeys(table.obj.fields)
    rec.update(PREFERENCES, Id=org_id, Name=name, Country="US", PrimaryContact=admin_name,
               DefaultLocaleSidKey="en_US", TimeZoneSidKey="America/Los_Angeles", LanguageLocaleKey="en_US",
               FiscalYearStartMonth=1, UiSkin="Theme3", SignupCountryIsoCode="US",
               TrialExpirationDate=format_datetime(now + timedelta(days=30)), NumKnowledgeService=2,
               OrganizationType="Developer Edition", InstanceName="LO1", IsSandbox=False,
               WebToCaseDefaultOrigin="Web", MonthlyPageViewsUsed=0, MonthlyPageViewsEntitlement=0,
               IsDeleted=False, CreatedDate=stamp, CreatedById=admin_id, LastModifiedDate=stamp,
               LastModifiedById=admin_id, SystemModstamp=stamp,
               **{f"Default{obj}Access": access for obj, access in DEFAULT_ACCESS.items()})
    table.put(org_id, rec)
