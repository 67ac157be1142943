"""Invocable standard actions: `customNotificationAction` (the bell in Lightning), recorded per org.

No recorded real response was found beyond Salesforce's documented example (Action objects guide,
"Custom Notification Actions"); the success shape follows it and the per-input error shape follows the
invocable actions' documented `errors` list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response

from .errors import SfError, not_found
from .ids import to18
from .values import format_datetime
from .web import api_version, current_org, current_session, json_body, sf_json

blueprint = Blueprint("localorg_actions", __name__, url_prefix="/services/data/v<version>/actions/standard")
ACTION = "customNotificationAction"
REQUIRED = ("customNotifTypeId", "recipientIds", "title", "body")
LIMITS = {"title": 250, "body": 750}


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


def _since_v46() -> None:
    if float(api_version()) < 46:  # the action exists from API 46.0
        raise not_found()


@blueprint.get(f"/{ACTION}")
def describe_action() -> Response:
    _since_v46()
    inputs = [{"name": name, "label": name, "required": name in REQUIRED,
               "type": "REFERENCE" if name.endswith(("Id", "Ids")) else "STRING"}
              for name in ("customNotifTypeId", "recipientIds", "senderId", "title", "body", "targetId",
                           "targetPageRef")]
    return sf_json({"name": ACTION, "label": "Send Custom Notification", "type": "CUSTOMNOTIFICATIONACTION",
                    "inputs": inputs, "outputs": [{"name": "SuccessMessage", "type": "STRING"}]})


@blueprint.post(f"/{ACTION}")
def send() -> Response:
    _since_v46()
    body = json_body()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise SfError("JSON_PARSER_ERROR", "Missing the inputs list: send {\"inputs\": [{...}]}", status=400)
    org, session = current_org(), current_session()
    results = []
    for item in inputs:
        errors = _errors(org, item if isinstance(item, dict) else {})
        if not errors:
            org.extra.setdefault("custom_notifications", []).append(
                dict(item, senderId=item.get("senderId") or session.user_id,
                     createdDate=format_datetime(datetime.now(UTC))))
        results.append({"actionName": ACTION, "errors": errors or None, "isSuccess": not errors,
                        "outputValues": None if errors else
                        {"SuccessMessage": "Your custom notification is processed successfully."}})
    status = 200 if all(r["isSuccess"] for r in results) else 400
    return sf_json(results, status)


def _errors(org: Any, item: dict[str, Any]) -> list[dict[str, Any]]:
    missing = [name for name in REQUIRED if item.get(name) in (None, "", [])]
    if not item.get("targetId") and not item.get("targetPageRef"):
        missing.append("targetId or targetPageRef")
    if missing:
        return [{"statusCode": "REQUIRED_FIELD_MISSING",
                 "message": f"Missing required input parameter: {', '.join(missing)}", "fields": []}]
    for name, limit in LIMITS.items():
        if len(str(item[name])) > limit:
            return [{"statusCode": "STRING_TOO_LONG", "message": f"{name}: data value too large (max {limit})",
                     "fields": [name]}]
    type_id = to18(str(item["customNotifTypeId"]))
    if type_id is None or type_id not in org.store.table("CustomNotificationType").rows:
        return [{"statusCode": "INVALID_ID_FIELD", "message": "invalid custom notification type Id",
                 "fields": ["customNotifTypeId"]}]
    recipients = item["recipientIds"] if isinstance(item["recipientIds"], list) else [item["recipientIds"]]
    users = org.store.table("User").rows
    if len(recipients) > 500 or any(to18(str(r)) not in users for r in recipients):
        return [{"statusCode": "INVALID_ID_FIELD", "message": "recipientIds: invalid or more than 500 ids",
                 "fields": ["recipientIds"]}]
    return []
