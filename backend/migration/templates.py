"""Ready-made plans for the families admins copy most: `inflow migrate --template NAME`, the New migration screen.

Each is a plan dict (docs/migrate.md) with every createable field ("*") and match rules that make a second
run update instead of duplicating.
"""

from __future__ import annotations

import copy
from typing import Any

from backend.errors import ConfigError
from backend.migration.plan import Plan, pairs, split_commas

TEMPLATES: dict[str, dict[str, Any]] = {
    "accounts-contacts-opportunities": {
        "label": "Accounts, Contacts and Opportunities",
        "plan": {"steps": [{"object": "Account", "match": ["Name"]},
                           {"object": "Contact", "match": ["Email"]},
                           {"object": "Opportunity", "match": ["Name"]}]},
    },
    "products-pricebooks": {
        "label": "Products, Price books and Price book entries",
        # the target's own standard price book stands in for the source's; standard prices are written
        # first, because Salesforce refuses a custom price for a product without one
        "plan": {"steps": [{"object": "Product2", "match": ["Name"]},
                           {"object": "Pricebook2", "where": "IsStandard = false", "match": ["Name"]},
                           {"object": "PricebookEntry", "match": ["Pricebook2Id", "Product2Id"],
                            "order_by": "Pricebook2.IsStandard DESC"}]},
    },
    "cases-comments": {
        "label": "Cases and Case comments",
        "plan": {"steps": [{"object": "Case"}, {"object": "CaseComment"}]},
    },
}


def names() -> list[str]:
    return list(TEMPLATES)


def template_plan(name: str) -> dict[str, Any]:
    """A fresh copy of the template's plan dict (callers may add where/match to it)."""
    if name not in TEMPLATES:
        raise ConfigError(f"No template {name!r}; templates: {', '.join(TEMPLATES)}.")
    return copy.deepcopy(TEMPLATES[name]["plan"])


def describe() -> list[dict[str, Any]]:
    """Name, label and steps of every template, for `--list-templates` and the API."""
    return [{"name": n, "label": t["label"], "objects": [s["object"] for s in t["plan"]["steps"]],
             "match": {s["object"]: s.get("match", []) for s in t["plan"]["steps"]}} for n, t in TEMPLATES.items()]


def templated(name: str, where: list[str], match: list[str]) -> Plan:
    """A template's plan with the CLI's `--where OBJECT=...` and `--match OBJECT=...` laid over its steps."""
    plan = Plan.from_dict(template_plan(name))
    wheres = pairs(where, "--where")
    matches = {k: [f for f in v.split("+") if f] for k, v in pairs(split_commas(match), "--match").items()}
    unknown = (set(wheres) | set(matches)) - {s.object.lower() for s in plan.steps}
    if unknown:
        raise ConfigError(f"--where/--match name objects not in the template: {', '.join(sorted(unknown))}.")
    for step in plan.steps:
        key = step.object.lower()
        if key in wheres:
            step.where = f"({step.where}) AND ({wheres[key]})" if step.where else wheres[key]
        step.match = matches.get(key, step.match)
    return plan


def build_plan(template: str | None, objects: list[str], where: dict[str, str], match: dict[str, list[str]],
               fallback_owner: str | None = None) -> dict[str, Any]:
    """The plan dict a screen's choices describe: a template or objects, with per-object filters and match
    rules laid over it (a match of [] always inserts). Checked by Plan.from_dict before it is returned."""
    if bool(template) == bool(objects):
        raise ConfigError("Choose a template or a list of objects.")
    plan = template_plan(template) if template else {"steps": [{"object": o} for o in objects]}
    steps = {s["object"].lower(): s for s in plan["steps"]}
    unknown = {k.lower() for k in [*where, *match]} - set(steps)
    if unknown:
        raise ConfigError(f"Filters and match rules name objects not in the migration: {', '.join(sorted(unknown))}.")
    for obj, condition in where.items():
        if condition.strip():
            step = steps[obj.lower()]
            step["where"] = f"({step['where']}) AND ({condition})" if step.get("where") else condition.strip()
    for obj, fields in match.items():
        steps[obj.lower()]["match"] = [f.strip() for f in fields if f.strip()]
    if fallback_owner:
        plan["owners"] = {"fallback": fallback_owner}
    Plan.from_dict(plan)
    return plan
