"""A SalesforceClient for a connected org whose 401 handler refreshes the token and saves it encrypted."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app

from backend.extensions import db
from backend.models.orgs import OrgConnection
from backend.salesforce.client import SalesforceClient
from backend.security.crypto import Keyring
from backend.settings import Settings


def ca_bundle() -> str | None:
    """The CA bundle requests would take from the environment (localorg's, in tests and the demo)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or None


def refresh_access_token(app: Flask, org_id: str, keyring: Keyring, settings: Settings) -> str:
    """Renew the org's access token at `{login_url or instance_url}/services/oauth2/token`; commit it.

    Runs in its own app context and session: the sinks call the client (and so this) from threads.
    """
    from backend.salesforce.oauth import refresh_tokens

    with app.app_context():  # a fresh session, whatever thread we are on
        org = db.session.get(OrgConnection, org_id)
        try:
            token = refresh_tokens(org, keyring, settings)
            db.session.commit()  # the new (and any rotated refresh) token, encrypted, before it is used
        finally:
            db.session.remove()
    return token


def client_for(org: OrgConnection, keyring: Keyring, settings: Settings, **kwargs: Any) -> SalesforceClient:
    """A client for `org`; a 401 INVALID_SESSION_ID refreshes the token once and repeats the call.

    It acts as the user whose tokens are stored (`connected_by`), so it need not ask userinfo, which may refuse
    a token with only the api and refresh_token scopes; a connection saved before that column asks still.
    """
    bundle = kwargs.pop("ca_bundle", None) or ca_bundle()
    kwargs.setdefault("user_id", org.connected_by)
    kwargs.setdefault("timeout", settings.salesforce_timeout_seconds)
    app, org_id = current_app._get_current_object(), org.id
    return SalesforceClient(org.instance_url, org.get_secret("access_token", keyring) or "",
                            api_version=settings.salesforce_api_version,
                            on_unauthorized=lambda: refresh_access_token(app, org_id, keyring, settings),
                            ca_bundle=bundle, **kwargs)
