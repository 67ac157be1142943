"""Canvas apps: registration (Python API) and the signed request Salesforce POSTs to a canvas URL.

`signed_request = base64(HMAC-SHA256(consumer secret, encoded envelope)) + "." + base64(JSON envelope)`,
the envelope shaped like a real CanvasRequest from a Lightning page (`force:canvasApp`, displayLocation
"Aura", record id passed in `environment.parameters`, `environment.record` empty).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .org import ClientApp, Org

API_VERSION = "66.0"


def register_canvas_app(org: Org, name: str, canvas_url: str, *, developer_name: str | None = None,
                        namespace: str | None = None, tab: str | None = None, approval_required: bool = False,
                        callback_urls: list[str] | None = None, consumer_key: str | None = None,
                        consumer_secret: str | None = None, scopes: list[str] | None = None) -> ClientApp:
    """Register a client app with canvas settings (shown under `client_apps[].canvas` in the state file).

    `tab` names the Lightning tab (`/lightning/n/<tab>`); `approval_required` makes users who have not
    approved the app get a GET with `_sfdc_canvas_authvalue=user_approval_required` (self-authorize).
    """
    app = org.register_app(name, callback_urls or [canvas_url.rsplit("/", 1)[0] + "/oauth/callback"],
                           canvas_url=canvas_url, consumer_key=consumer_key, consumer_secret=consumer_secret)
    if scopes is not None:
        app.scopes = list(scopes)
    app.canvas = _settings(org, app, developer_name, namespace, tab, approval_required)
    if org.on_change:
        org.on_change()
    return app


def _settings(org: Org, app: ClientApp, developer_name: str | None = None, namespace: str | None = None,
              tab: str | None = None, approval_required: bool = False) -> dict[str, Any]:
    dev = developer_name or app.name.replace(" ", "_")
    return {"developer_name": dev, "namespace": namespace if namespace is not None else (org.namespace or ""),
            "tab": tab or dev, "approval_required": approval_required, "access_method": "Post",
            "location": "Aura", "application_id": org.ids.new("06P"), "reference_id": org.ids.new("09H")}


def canvas_apps(org: Org) -> list[ClientApp]:
    """Apps with a canvas URL; one registered without canvas settings (org.register_app, the admin endpoint,
    the demo seed) gets the defaults: developer name and tab = its name, POST, no approval needed."""
    apps = [a for a in list(org.apps.values()) if a.canvas_url]
    for app in apps:
        if app.canvas is None:
            app.canvas = _settings(org, app)
    return apps


def approve(org: Org, app: ClientApp, user_id: str, approved: bool = True) -> None:
    """Record (or revoke) a user's approval of a self-authorize canvas app."""
    approvals: set[tuple[str, str]] = org.extra.setdefault("canvas_approvals", set())
    (approvals.add if approved else approvals.discard)((app.consumer_key, user_id))


def needs_approval(org: Org, app: ClientApp, user_id: str) -> bool:
    settings = app.canvas or {}
    return bool(settings.get("approval_required")) and \
        (app.consumer_key, user_id) not in org.extra.get("canvas_approvals", set())


def sign(envelope: dict[str, Any], secret: str) -> str:
    encoded = base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode("utf-8")).decode("ascii")
    digest = hmac.new(secret.encode("utf-8"), encoded.encode("ascii"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii") + "." + encoded


def _season(version: str) -> str:
    return ("SUMMER", "WINTER", "SPRING")[(int(float(version)) - 31) % 3]


def _user(org: Org, user_id: str) -> dict[str, Any]:
    u = org.store.get(user_id) or {}
    base = f"{org.instance_url}/profilephoto/005"
    return {"userId": user_id, "userName": u.get("Username"), "firstName": u.get("FirstName"),
            "lastName": u.get("LastName"), "email": u.get("Email"),
            "fullName": " ".join(p for p in (u.get("FirstName"), u.get("LastName")) if p),
            "locale": u.get("LocaleSidKey") or "en_US", "language": u.get("LanguageLocaleKey") or "en_US",
            "timeZone": u.get("TimeZoneSidKey") or "America/Los_Angeles",
            "profileId": "00e" + org.id[3:15], "roleId": None, "userType": "STANDARD", "currencyISOCode": "USD",
            "profilePhotoUrl": base + "/F", "profileThumbnailUrl": base + "/T", "siteUrl": None,
            "siteUrlPrefix": None, "networkId": None, "accessibilityModeEnabled": False, "isDefaultNetwork": True}


def _links(org: Org, user_id: str) -> dict[str, Any]:
    v, oid = API_VERSION, org.id[:15]
    data = f"/services/data/v{v}"
    return {"loginUrl": org.instance_url, "enterpriseUrl": f"/services/Soap/c/{v}/{oid}",
            "metadataUrl": f"/services/Soap/m/{v}/{oid}", "partnerUrl": f"/services/Soap/u/{v}/{oid}",
            "restUrl": f"{data}/", "sobjectUrl": f"{data}/sobjects/", "searchUrl": f"{data}/search/",
            "queryUrl": f"{data}/query/", "recentItemsUrl": f"{data}/recent/",
            "chatterFeedsUrl": "/services/data/v31.0/chatter/feeds",
            "chatterGroupsUrl": "/services/data/v31.0/chatter/groups",
            "chatterUsersUrl": "/services/data/v31.0/chatter/users",
            "chatterFeedItemsUrl": "/services/data/v31.0/chatter/feed-items", "userUrl": f"/{user_id}"}


def opaque_issued_at(token: str) -> int:
    """What real orgs send as `issuedAt`: a signed 32-bit number that is not Unix time (captures carry
    -1882588807, -1555461611, -1364736570, -246115464 and 1677461276 on a v35 envelope; README, Sources)."""
    return int.from_bytes(hashlib.sha256(token.encode("utf-8")).digest()[:4], "big", signed=True)


def _record(org: Org, record: dict[str, Any] | None) -> dict[str, Any]:
    # Filled only where Salesforce fills it (page layouts, Visualforce): attributes first, then Id.
    if not record:
        return {}
    rtype = record["type"]
    return {"attributes": {"type": rtype, "url": f"/services/data/v{API_VERSION}/sobjects/{rtype}/{record['Id']}"},
            "Id": record["Id"]}


def build_envelope(org: Org, app: ClientApp, user_id: str, location_url: str, instance_id: str,
                   parameters: dict[str, Any] | None = None, *, display_location: str = "Aura",
                   record: dict[str, Any] | None = None) -> dict[str, Any]:
    """A CanvasRequest for `user_id`, with a fresh OAuth token issued to the app (and a refresh token
    when the app has the refresh_token scope). `record` ({"type", "Id"}) fills environment.record, as a
    page-layout canvas gets it; a Lightning (Aura) host leaves it empty and passes ids in `parameters`."""
    settings = app.canvas or {}
    scope = " ".join(app.scopes)
    refresh = org.sessions.new_refresh_token(user_id, app.consumer_key, scope) \
        if "refresh_token" in app.scopes else None
    session = org.sessions.issue(user_id, app.consumer_key, scope, refresh)
    return {
        "algorithm": "HMACSHA256", "issuedAt": opaque_issued_at(session.token), "userId": user_id,
        "client": {"refreshToken": refresh, "instanceId": instance_id, "targetOrigin": org.instance_url,
                   "instanceUrl": org.instance_url, "oauthToken": session.token},
        "context": {
            "user": _user(org, user_id), "links": _links(org, user_id),
            "application": {"name": app.name, "canvasUrl": app.canvas_url, "applicationId": settings.get(
                "application_id"), "version": "1.0", "authType": "SIGNED_REQUEST",
                "referenceId": settings.get("reference_id"), "options": [], "samlInitiationMethod": "None",
                "namespace": settings.get("namespace", ""), "isInstalledPersonalApp": False,
                "developerName": settings.get("developer_name", app.name)},
            "organization": {"organizationId": org.id, "name": org.name, "multicurrencyEnabled": False,
                             "namespacePrefix": org.namespace, "currencyIsoCode": "USD"},
            "environment": {"referer": None, "locationUrl": location_url, "displayLocation": display_location,
                            "sublocation": None, "uiTheme": "Theme4d",
                            "dimensions": {"width": "100%", "height": "900px", "maxWidth": "1000px",
                                           "maxHeight": "2000px", "clientWidth": "1200px", "clientHeight": "900px"},
                            "parameters": dict(parameters or {}), "record": _record(org, record),
                            "version": {"season": _season(API_VERSION), "api": API_VERSION}}}}


def signed_request(org: Org, app: ClientApp, user_id: str, location_url: str, instance_id: str,
                   parameters: dict[str, Any] | None = None, **where: Any) -> str:
    """`where`: display_location and record, as build_envelope takes them."""
    return sign(build_envelope(org, app, user_id, location_url, instance_id, parameters, **where),
                app.consumer_secret)
