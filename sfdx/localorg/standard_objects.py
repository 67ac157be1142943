"""The standard objects every local org starts with, with realistic fields, lengths and picklists."""

from __future__ import annotations

from . import organization, pricebooks
from .fieldkit import (
    boolean,
    date,
    datetime_,
    email,
    integer,
    number,
    phone,
    pick,
    ref,
    system_fields,
    text,
    textarea,
    url,
)
from .schema import Field, Schema, SObjectType

SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."]
INDUSTRIES = ["Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
              "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
              "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
              "Utilities", "Other"]
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
GEOCODE_ACCURACY = ["Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood", "City",
                    "County", "State", "Unknown"]
STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
          "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost"]


def _obj(schema: Schema, name: str, prefix: str, label: str, plural: str, owner: bool = True,
         owner_to: list[str] | None = None) -> SObjectType:
    obj = SObjectType(name, label, plural, prefix)
    system_fields(obj, owner=owner, owner_to=owner_to)
    return schema.add(obj)


def _address(obj: SObjectType, prefix: str, label: str) -> None:
    """Address parts linked to their compound field (`BillingAddress`, or `Address` on Lead), as real describes do."""
    lab, comp = f"{label} " if label else "", f"{prefix}Address"
    obj.add(textarea(f"{prefix}Street", 255, f"{lab}Street", compound_field_name=comp),
            text(f"{prefix}City", 40, f"{lab}City", compound_field_name=comp),
            text(f"{prefix}State", 80, f"{lab}State/Province", compound_field_name=comp),
            text(f"{prefix}PostalCode", 20, f"{lab}Zip/Postal Code", compound_field_name=comp),
            text(f"{prefix}Country", 80, f"{lab}Country", compound_field_name=comp),
            number(f"{prefix}Latitude", f"{lab}Latitude", scale=15, compound_field_name=comp),
            number(f"{prefix}Longitude", f"{lab}Longitude", scale=15, compound_field_name=comp),
            pick(f"{prefix}GeocodeAccuracy", GEOCODE_ACCURACY, f"{lab}Geocode Accuracy", length=40,
                 compound_field_name=comp),
            Field(comp, "address", f"{lab}Address".strip(), createable=False, updateable=False, filterable=False))


def _person_name(obj: SObjectType, last_required: bool = True) -> None:
    """Compound Name: FirstName/LastName/Salutation are stored, Name is derived on every write."""
    obj.add(pick("Salutation", SALUTATIONS, compound_field_name="Name", length=40, extra_type_info="personname"),
            text("FirstName", 40, "First Name", compound_field_name="Name", extra_type_info="personname"),
            text("LastName", 80, "Last Name", required=last_required, compound_field_name="Name",
                 extra_type_info="personname"),
            Field("Name", "string", "Full Name", length=121, createable=False, updateable=False,
                  nillable=False, defaulted_on_create=True, name_field=True, extra_type_info="personname"))


def _account(s: Schema) -> None:
    a = _obj(s, "Account", "001", "Account", "Accounts")
    a.add(text("Name", 255, "Account Name", required=True, name_field=True, compound_field_name="Name",
               extra_type_info="switchablepersonname"),
          pick("Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                        "Installation Partner", "Technology Partner", "Other"], "Account Type"),
          ref("ParentId", "Account", "Parent", "Parent Account ID"),
          ref("RecordTypeId", "RecordType", "RecordType", "Record Type ID"),
          phone("Phone", "Account Phone"), phone("Fax", "Account Fax"), url("Website"),
          text("AccountNumber", 40, "Account Number"), text("Site", 80, "Account Site"),
          pick("Industry", INDUSTRIES), number("AnnualRevenue", "Annual Revenue", kind="currency"),
          integer("NumberOfEmployees", "Employees"),
          pick("Rating", ["Hot", "Warm", "Cold"], "Account Rating"),
          pick("Ownership", ["Public", "Private", "Subsidiary", "Other"]),
          text("TickerSymbol", 20, "Ticker Symbol"), textarea("Description", 32000, "Account Description"))
    _address(a, "Billing", "Billing")
    _address(a, "Shipping", "Shipping")


def _contact(s: Schema) -> None:
    c = _obj(s, "Contact", "003", "Contact", "Contacts")
    _person_name(c)
    c.add(ref("AccountId", "Account", "Account", "Account ID", cascade_delete=True),
          ref("ReportsToId", "Contact", "ReportsTo", "Reports To ID"),
          ref("RecordTypeId", "RecordType", "RecordType", "Record Type ID"),
          email("Email", id_lookup=True), phone("Phone", "Business Phone"), phone("MobilePhone", "Mobile Phone"),
          phone("HomePhone", "Home Phone"), text("Title", 128), text("Department", 80),
          date("Birthdate"), pick("LeadSource", LEAD_SOURCES, "Lead Source"),
          boolean("HasOptedOutOfEmail", "Email Opt Out"), boolean("DoNotCall", "Do Not Call"),
          textarea("Description", 32000, "Contact Description"))
    _address(c, "Mailing", "Mailing")


def _lead(s: Schema) -> None:
    le = _obj(s, "Lead", "00Q", "Lead", "Leads", owner_to=["Group", "User"])
    _person_name(le)
    le.add(text("Company", 255, "Company", required=True), text("Title", 128), email("Email", id_lookup=True),
           phone("Phone"), phone("MobilePhone", "Mobile Phone"), url("Website"),
           pick("Status", ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                           "Closed - Not Converted"], "Lead Status", restricted=True, required=True,
                default="Open - Not Contacted"),
           pick("LeadSource", LEAD_SOURCES, "Lead Source"), pick("Industry", INDUSTRIES),
           pick("Rating", ["Hot", "Warm", "Cold"]), number("AnnualRevenue", "Annual Revenue", kind="currency"),
           integer("NumberOfEmployees", "Employees"), boolean("IsConverted", "Converted"),
           ref("RecordTypeId", "RecordType", "RecordType", "Record Type ID"),
           textarea("Description", 32000))
    _address(le, "", "")


def _opportunity(s: Schema) -> None:
    o = _obj(s, "Opportunity", "006", "Opportunity", "Opportunities")
    o.add(text("Name", 120, "Name", required=True, name_field=True),
          ref("AccountId", "Account", "Account", "Account ID", cascade_delete=True),
          ref("ContactId", "Contact", "Contact", "Contact ID"),
          ref("RecordTypeId", "RecordType", "RecordType", "Record Type ID"),
          pick("StageName", STAGES, "Stage", restricted=True, required=True),
          date("CloseDate", "Close Date", required=True), number("Amount", kind="currency"),
          number("Probability", "Probability (%)", precision=3, scale=0, kind="percent"),
          pick("Type", ["Existing Customer - Upgrade", "Existing Customer - Replacement",
                        "Existing Customer - Downgrade", "New Customer"], "Opportunity Type"),
          pick("LeadSource", LEAD_SOURCES, "Lead Source"), text("NextStep", 255, "Next Step"),
          pick("ForecastCategoryName", ["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
               "Forecast Category"),
          ref("CampaignId", "Campaign", "Campaign", "Campaign ID"),
          boolean("IsClosed", "Closed"), boolean("IsWon", "Won"), textarea("Description", 32000))


def _case(s: Schema) -> None:
    c = _obj(s, "Case", "500", "Case", "Cases", owner_to=["Group", "User"])
    c.add(Field("CaseNumber", "string", "Case Number", length=30, createable=False, updateable=False,
                nillable=False, defaulted_on_create=True, auto_number=True, name_field=True),
          ref("AccountId", "Account", "Account", "Account ID"), ref("ContactId", "Contact", "Contact",
                                                                       "Contact ID"),
          ref("RecordTypeId", "RecordType", "RecordType", "Record Type ID"),
          pick("Status", ["New", "Working", "Escalated", "Closed"], restricted=True, default="New"),
          pick("Priority", ["High", "Medium", "Low"], default="Medium"),
          pick("Origin", ["Phone", "Email", "Web"], "Case Origin"), text("Subject", 255),
          textarea("Description", 32000), email("SuppliedEmail", "Web Email"),
          text("SuppliedName", 80, "Web Name"), boolean("IsClosed", "Closed"))


def _campaigns(s: Schema) -> None:
    c = _obj(s, "Campaign", "701", "Campaign", "Campaigns")
    c.add(text("Name", 80, "Name", required=True, name_field=True),
          ref("ParentId", "Campaign", "Parent", "Parent Campaign ID"),
          pick("Type", ["Conference", "Webinar", "Trade Show", "Public Relations", "Partners", "Referral Program",
                        "Advertisement", "Banner Ads", "Direct Mail", "Email", "Telemarketing", "Other"]),
          pick("Status", ["Planned", "In Progress", "Completed", "Aborted"]), date("StartDate", "Start Date"),
          date("EndDate", "End Date"), number("BudgetedCost", "Budgeted Cost in Campaign", kind="currency"),
          boolean("IsActive", "Active"), textarea("Description", 32000))
    m = _obj(s, "CampaignMember", "00v", "Campaign Member", "Campaign Members", owner=False)
    m.add(ref("CampaignId", "Campaign", "Campaign", "Campaign ID", required=True, cascade_delete=True),
          ref("ContactId", "Contact", "Contact", "Contact ID", cascade_delete=True),
          ref("LeadId", "Lead", "Lead", "Lead ID", cascade_delete=True),
          pick("Status", ["Planned", "Received", "Responded", "Sent"], default="Sent"),
          boolean("HasResponded", "Responded"))


def _activities(s: Schema) -> None:
    who = ["Contact", "Lead"]
    what = ["Account", "Opportunity", "Case", "Campaign"]
    t = _obj(s, "Task", "00T", "Task", "Tasks", owner_to=["Group", "User"])
    t.add(ref("WhoId", who, "Who", "Name ID", cascade_delete=True),
          ref("WhatId", what, "What", "Related To ID", cascade_delete=True),
          text("Subject", 255), date("ActivityDate", "Due Date Only"),
          pick("Status", ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"],
               required=True, default="Not Started", restricted=True),
          pick("Priority", ["High", "Normal", "Low"], required=True, default="Normal"),
          textarea("Description", 32000), boolean("IsClosed", "Closed"))
    e = _obj(s, "Event", "00U", "Event", "Events", owner_to=["Calendar", "User"])
    e.add(ref("WhoId", who, "Who", "Name ID", cascade_delete=True),
          ref("WhatId", what, "What", "Related To ID", cascade_delete=True),
          text("Subject", 255), text("Location", 255), datetime_("ActivityDateTime", "Due Date Time"),
          date("ActivityDate", "Due Date Only"), datetime_("StartDateTime", "Start Date Time"),
          datetime_("EndDateTime", "End Date Time"), integer("DurationInMinutes", "Duration"),
          boolean("IsAllDayEvent", "All-Day Event"), textarea("Description", 32000),
          pick("ShowAs", ["Busy", "OutOfOffice", "Free"], "Show Time As", length=40, default="Busy"),
          ref("RecurrenceActivityId", "Event", "RecurrenceActivity", "Recurrence Activity ID",
              child_relationship="RecurringEvents"))


def _setup_objects(s: Schema) -> None:
    u = _obj(s, "User", "005", "User", "Users", owner=False)
    u.add(text("Username", 80, required=True, unique=True, id_lookup=True), text("LastName", 80, required=True),
          text("FirstName", 40), Field("Name", "string", "Full Name", length=121, createable=False,
                                       updateable=False, nillable=False, defaulted_on_create=True,
                                       name_field=True),
          email("Email", nillable=False),
          text("Alias", 8, required=True), boolean("IsActive", "Active", default=True),
          text("TimeZoneSidKey", 40, "Time Zone", default="America/Los_Angeles", defaulted_on_create=True),
          text("LocaleSidKey", 40, "Locale", default="en_US", defaulted_on_create=True),
          text("LanguageLocaleKey", 40, "Language", default="en_US", defaulted_on_create=True),
          text("Title", 80), text("Department", 80), text("UserType", 40, "User Type", createable=False,
                                                          updateable=False))
    r = _obj(s, "RecordType", "012", "Record Type", "Record Types", owner=False)
    r.add(text("Name", 80, "Record Type Label", required=True, name_field=True),
          text("DeveloperName", 80, "Record Type Name", required=True),
          text("SobjectType", 40, "SObject Type Name", required=True), boolean("IsActive", "Active", True),
          text("NamespacePrefix", 15, "Namespace Prefix"), textarea("Description", 255))
    o = _obj(s, "Organization", "00D", "Organization", "Organizations", owner=False)
    organization.add_fields(o, _address)
    o.createable = o.deletable = o.undeletable = r.deletable = u.deletable = False
    # Setup metadata (the package's notificationtypes): queryable, never written through the data API.
    n = _obj(s, "CustomNotificationType", "0ML", "Custom Notification Type", "Custom Notification Types", owner=False)
    n.add(text("DeveloperName", 80, "Custom Notification Name", required=True),
          text("MasterLabel", 80, "Notification Name", required=True, name_field=True),
          text("CustomNotifTypeName", 80, "Custom Notification Type Name"), textarea("Description", 255),
          boolean("Desktop", "Desktop"), boolean("Mobile", "Mobile"),
          text("NamespacePrefix", 15, "Namespace Prefix"))
    n.createable = n.updateable = n.deletable = n.undeletable = False


def build_standard_schema() -> Schema:
    """A fresh Schema holding the standard objects (each org gets its own copy)."""
    s = Schema()
    for build in (_account, _contact, _lead, _opportunity, _case, _campaigns, _activities, _setup_objects,
                  pricebooks.add_objects):
        build(s)
    return s
