"""Regions: which deployment holds an org's account. Each region answers only about its own database.

An account lives in exactly one region and nothing about it is copied to another. A canvas launch for
an org this region does not know asks the other regions (settings.region_urls) one question, "do you
hold org X?", signed with a key every region derives from the packaged app's consumer secret. The
answer is a region name or 404: no account data crosses. If a region cannot be asked, the launch fails
closed instead of provisioning a second account for the same org here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

import requests
from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy import select

from backend.extensions import db
from backend.models import Account
from backend.services import get_settings
from backend.settings import Settings
from backend.web.headers import allow_sources, framed_by_salesforce

bp = Blueprint("regions", __name__)
SIGNATURE_HEADER = "X-Inflow-Directory-Signature"
TOLERANCE_SECONDS = 300
LOOKUP_TIMEOUT = 5
REGION_NAMES = {"eu-frankfurt": "Frankfurt (EU)", "us-dallas": "Dallas (US)", "au-sydney": "Sydney (Australia)"}
_ORG_ID = re.compile(r"^00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")


class RegionUnavailable(RuntimeError):
    """Another region could not be asked whether it holds an org; provisioning here would risk a duplicate."""


def _key(settings: Settings) -> bytes:
    # A derived key: the consumer secret itself never signs anything but what Salesforce signs with it.
    return hmac.new(settings.salesforce_client_secret.encode(), b"inflow region directory v1",
                    hashlib.sha256).digest()


def _signature(settings: Settings, org_id: str, timestamp: int) -> str:
    return hmac.new(_key(settings), f"{timestamp}.{org_id}".encode(), hashlib.sha256).hexdigest()


def _signature_ok(settings: Settings, org_id: str, header: str, now: float) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS or not settings.salesforce_client_secret:
        return False
    return hmac.compare_digest(fields.get("v1", ""), _signature(settings, org_id, timestamp))


@bp.post("/api/regions/lookup")
def lookup() -> tuple[Response, int]:
    """Another region asks whether this region holds the account of an org."""
    settings = get_settings()
    org_id = str((request.get_json(silent=True) or {}).get("org_id", ""))
    if not _ORG_ID.match(org_id) or not _signature_ok(settings, org_id, request.headers.get(SIGNATURE_HEADER, ""),
                                                      time.time()):
        return jsonify(error="unauthorized"), 401
    account = db.session.scalars(select(Account).where(Account.salesforce_org_id == org_id)).first()
    if account is not None and account.region == settings.region:
        return jsonify(region=settings.region), 200
    return jsonify(region=None), 404


lookup.csrf_exempt = True  # server to server, authenticated by its signature, never by a cookie


def region_holding(org_id: str, settings: Settings) -> str | None:
    """The other region that holds this org's account, or None when none does; RegionUnavailable when
    a configured region did not answer."""
    for region, url in sorted(settings.region_urls.items()):
        if region == settings.region:
            continue
        timestamp = int(time.time())
        header = f"t={timestamp},v1={_signature(settings, org_id, timestamp)}"
        try:
            resp = requests.post(f"{url}/api/regions/lookup", json={"org_id": org_id},
                                 headers={SIGNATURE_HEADER: header}, timeout=LOOKUP_TIMEOUT)
        except requests.RequestException:
            raise RegionUnavailable(region) from None
        if resp.status_code == 404:
            continue
        try:
            answer = resp.json() if resp.status_code == 200 else {}
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("region") == region:
            return region
        raise RegionUnavailable(region)
    return None


@framed_by_salesforce
def elsewhere_page(region: str, signed_request: str | None = None) -> tuple[str, int]:
    """409: the account lives in `region`; the browser may carry the signed request there itself."""
    url = get_settings().region_urls.get(region, "")
    allow_sources("form-action", url)
    return render_template("canvas/elsewhere.html", region=region, region_name=REGION_NAMES.get(region, region),
                           url=url, signed_request=signed_request), 409
