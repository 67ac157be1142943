"""Invocable standard action `customNotificationAction` (POST /services/data/vXX.X/actions/standard/...).

Accepted notifications are recorded in `org.extra["custom_notifications"]` so a test can see what a user
would have been shown. Shapes follow the Actions Developer Guide example (no recorded real error exists;
see README "Sources")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g

from .errors import SfError, not_found
from .values import format_datetime
from .web import api_version, current_org, json_body, sf_json

blueprint = Blueprint("localorg_actions", __name__, url_prefix="/services/data/v<version>/actions/standard")
ACTION = "customNotificationAction"
REQUIRED = ("customNotifTypeId", "recipientIds", "title", "body")


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


def _problems(item: Any) -> list[dict[str, Any]]:
    if not isinstance(item, dict):
        return [{"statusCode": "INVALID_INPUT", "message": "Each input must be a JSON object.", "fields": []}]
    out = [{"statusCode": "REQUIRED_FIELD_MISSING", "message": f"Missing required input parameter: {name}",
            "fields": []} for name in REQUIRED if item.get(name) in (None, "", [])]
    if not out and not (item.get("targetId") or item.get("targetPageRef")):
        out.append({"statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Missing required input parameter: targetId or targetPageRef", "fields": []})
    return out


@blueprint.post(f"/{ACTION}")
def custom_notification() -> Response:
    if float(api_version()) < 46:
        raise not_found()
    body = json_body()
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise SfError("JSON_PARSER_ERROR", "Invalid JSON: the request body needs a non-empty inputs array")
    org, results, sent = current_org(), [], []
    for item in inputs:
        errors = _problems(item)
        results.append({"actionName": ACTION, "errors": errors or None, "isSuccess": not errors,
                        "outputValues": None if errors else {
                            "SuccessMessage": "Your custom notification is processed successfully."}})
        if not errors:
            recipients = item["recipientIds"] if isinstance(item["recipientIds"], list) else [item["recipientIds"]]
            sent.append({"customNotifTypeId": item["customNotifTypeId"], "recipientIds": recipients,
                         "title": item["title"], "body": item["body"], "targetId": item.get("targetId"),
                         "targetPageRef": item.get("targetPageRef"),
                         "senderId": item.get("senderId") or g.session.user_id,
                         "createdDate": format_datetime(datetime.now(UTC))})
    org.extra.setdefault("custom_notifications", []).extend(sent)
    return sf_json(results, 200 if all(r["isSuccess"] for r in results) else 400)
