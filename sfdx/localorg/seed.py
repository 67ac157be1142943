"""`--seed demo`: one org with a few thousand realistic records, record types, users and a canvas app."""

from __future__ import annotations

import random
from datetime import date, timedelta

from . import dml
from .org import Org
from .standard_objects import INDUSTRIES, STAGES

FIRST = ["Ava", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hugo", "Isla", "Jack", "Kate", "Liam", "Maya",
         "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor", "Wendy", "Xavier", "Yara", "Zoe"]
LAST = ["Anderson", "Brown", "Clarke", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ivanova", "Jensen",
        "Kowalski", "Lopez", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt", "Tanaka", "Usman",
        "Varga", "Weber", "Young", "Zhang"]
WORDS = ["Acme", "Blue", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iron", "Juniper",
         "Keystone", "Lumen", "Maple", "Northwind", "Orbit", "Pioneer", "Quartz", "River", "Summit", "Titan"]
SUFFIX = ["Inc.", "GmbH", "Ltd", "LLC", "Group", "Holdings", "Partners", "Systems", "Labs", "& Co."]
CITIES = [("Berlin", "DE"), ("Dallas", "US"), ("Sydney", "AU"), ("Paris", "FR"), ("Austin", "US"),
          ("Munich", "DE"), ("Melbourne", "AU"), ("Toronto", "CA"), ("London", "GB"), ("Madrid", "ES")]


def seed_demo(org: Org, accounts: int = 2000, rng_seed: int = 7) -> dict[str, int]:
    """Fill `org` with demo data; returns counts per object."""
    rng = random.Random(rng_seed)
    sales = org.create_user(f"sales@{org.name}.localorg", "Rep", "Sally", password="demo-sales-1")
    org.create_user(f"ops@{org.name}.localorg", "Ops", "Omar", password="demo-ops-1")
    customer = org.create_record_type("Account", "Customer", "Customer")
    partner = org.create_record_type("Account", "Partner", "Partner")
    org.create_record_type("Opportunity", "New_Business", "New Business")
    rows = []
    for i in range(accounts):
        city, country = rng.choice(CITIES)
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIX)}"
        rows.append({"Name": name, "AccountNumber": f"ACC-{i + 1:05d}", "Industry": rng.choice(INDUSTRIES),
                     "NumberOfEmployees": rng.randint(5, 20000), "AnnualRevenue": rng.randint(1, 5000) * 10000,
                     "BillingCity": city, "BillingCountry": country, "Phone": f"+1 555 {rng.randint(1000, 9999)}",
                     "Website": f"www.{name.split()[0].lower()}{i}.example.com",
                     "RecordTypeId": customer if rng.random() < 0.8 else partner,
                     "OwnerId": sales if rng.random() < 0.3 else org.admin_id})
    acc_ids = [r.id for r in dml.apply(org.store, "insert", "Account", rows) if r.success]
    contacts = []
    for i in range(int(accounts * 1.5)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        contacts.append({"FirstName": first, "LastName": last, "AccountId": rng.choice(acc_ids),
                         "Email": f"{first.lower()}.{i}@example.com", "Title": rng.choice(
                             ["CEO", "CFO", "VP Sales", "Buyer", "Engineer", "Office Manager"]),
                         "Phone": f"+1 555 {rng.randint(1000, 9999)}"})
    con = sum(r.success for r in dml.apply(org.store, "insert", "Contact", contacts))
    opps = []
    for i in range(accounts // 2):
        opps.append({"Name": f"Deal {i + 1}", "AccountId": rng.choice(acc_ids), "StageName": rng.choice(STAGES),
                     "CloseDate": (date(2026, 1, 1) + timedelta(days=rng.randint(0, 540))).isoformat(),
                     "Amount": rng.randint(1, 500) * 1000})
    opp = sum(r.success for r in dml.apply(org.store, "insert", "Opportunity", opps))
    return {"Account": len(acc_ids), "Contact": con, "Opportunity": opp}
