"""Salesforce OAuth 2.0 for connected instances: web-server flow with PKCE, signed token responses, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from backend.errors import FatalSalesforceError, RetriableSalesforceError
from backend.extensions import db
from backend.models.orgs import OrgConnection
from backend.security.crypto import DecryptionError, Keyring
from backend.services import get_keyring, get_settings
from backend.settings import Settings

SCOPE = "api refresh_token"
TIMEOUT = 30
# Hosts Salesforce serves logins and instances from (My Domain, sandboxes, Hyperforce, Government Cloud).
SALESFORCE_SUFFIXES = (".salesforce.com", ".force.com", ".cloudforce.com", ".salesforce.mil")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_ID_URL = re.compile(r"/id/(00D[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?)/(005[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?)$")


class OAuthFlowError(ValueError):
    """The OAuth exchange failed or its answer cannot be trusted; the message is safe to show."""


@dataclass(frozen=True)
class TokenGrant:
    """A verified token response."""

    access_token: str
    refresh_token: str | None
    instance_url: str
    org_id: str
    user_id: str


def salesforce_url(url: str, settings: Settings) -> str:
    """`url` reduced to its origin if it is an https Salesforce host; ValueError otherwise.

    We send the client secret and tokens to these hosts, so nothing else may be configured as one."""
    parts = urlsplit((url or "").strip())
    host = (parts.hostname or "").lower()
    loopback = settings.egress_allow_loopback and host in LOOPBACK_HOSTS
    if parts.scheme != "https" or parts.username or parts.password or not host:
        raise ValueError("a Salesforce URL must be https://<host> without credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("give only the host, e.g. https://yourcompany.my.salesforce.com")
    if not loopback and not host.endswith(SALESFORCE_SUFFIXES):
        raise ValueError(f"{host} is not a Salesforce host (*.my.salesforce.com and the like)")
    return f"https://{parts.netloc.lower()}"


def login_url_for(kind: str, my_domain: str | None, settings: Settings) -> str:
    if kind == "production":
        return salesforce_url(settings.salesforce_login_url, settings)
    if kind == "sandbox":
        return salesforce_url(settings.salesforce_sandbox_login_url, settings)
    if kind == "mydomain":
        return salesforce_url(my_domain or "", settings)
    raise ValueError("kind must be production, sandbox or mydomain")


def _session(settings: Settings, redirect_uri: str | None = None) -> OAuth2Session:
    return OAuth2Session(settings.salesforce_client_id, settings.salesforce_client_secret, scope=SCOPE,
                         redirect_uri=redirect_uri, code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_post", default_timeout=TIMEOUT)


def authorization_url(login_url: str, redirect_uri: str, settings: Settings, state: str | None = None,
                      prompt: str = "login consent") -> tuple[str, str, str]:
    """(url to send the browser to, state, PKCE code verifier); keep state and verifier for the callback.
    prompt=login lets the user sign in to another org than the one the browser is signed in to."""
    verifier = generate_token(64)  # 43-128 characters per RFC 7636
    url, state = _session(settings, redirect_uri).create_authorization_url(
        f"{login_url}/services/oauth2/authorize", state=state, code_verifier=verifier, prompt=prompt)
    return url, state, verifier


def exchange_code(login_url: str, redirect_uri: str, code: str, verifier: str, settings: Settings) -> TokenGrant:
    """Trade the authorization code (with its PKCE verifier) for tokens and verify Salesforce signed them."""
    try:
        token = _session(settings, redirect_uri).fetch_token(
            f"{login_url}/services/oauth2/token", code=code, code_verifier=verifier)
    except OAuthError as err:
        raise OAuthFlowError(f"Salesforce refused the authorization ({err.error})") from None
    except requests.RequestException:
        raise OAuthFlowError("Salesforce did not answer the token request; try again") from None
    return verified_grant(dict(token), settings)


def verify_signature(token: dict[str, Any], secret: str) -> bool:
    """Salesforce signs id + issued_at with the client secret, so a tampered identity URL is caught."""
    ident, issued, signature = token.get("id"), token.get("issued_at"), token.get("signature")
    if not (isinstance(ident, str) and isinstance(issued, str) and isinstance(signature, str)):
        return False
    expected = hmac.new(secret.encode(), (ident + issued).encode(), hashlib.sha256).digest()
    try:
        given = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(given, expected)


def verified_grant(token: dict[str, Any], settings: Settings) -> TokenGrant:
    if not verify_signature(token, settings.salesforce_client_secret):
        raise OAuthFlowError("Salesforce's token response failed its signature check")
    match = _ID_URL.search(urlsplit(token["id"]).path)
    if match is None or not token.get("access_token"):
        raise OAuthFlowError("Salesforce's token response lacks the org or the access token")
    try:
        instance_url = salesforce_url(token.get("instance_url", ""), settings)
    except ValueError as err:
        raise OAuthFlowError(f"Salesforce answered with an unexpected instance URL: {err}") from None
    return TokenGrant(token["access_token"], token.get("refresh_token"), instance_url, match.group(1),
                      match.group(2))


def token_url(org: OrgConnection) -> str:
    return f"{(org.login_url or org.instance_url).rstrip('/')}/services/oauth2/token"


def refresh_tokens(org: OrgConnection, keyring: Keyring | None = None, settings: Settings | None = None) -> str:
    """Renew the org's access token with its refresh token; save both (rotated) encrypted. Returns the new
    access token. A refused refresh marks the org `needs_reconnect` (committed) and raises Fatal."""
    ring = keyring or get_keyring()
    conf = settings or get_settings()
    try:
        refresh = org.get_secret("refresh_token", ring)
    except DecryptionError:
        refresh = None  # altered or moved ciphertext: unusable, so the user must reconnect (checklist 10)
    if not refresh or org.status == "disconnected":
        _needs_reconnect(org)
        raise FatalSalesforceError(f"Inflow cannot renew access to {org.name or org.instance_url}; reconnect it.")
    try:
        token = dict(_session(conf).refresh_token(token_url(org), refresh_token=refresh))
    except OAuthError as err:
        _needs_reconnect(org)
        raise FatalSalesforceError(f"Salesforce refused to renew access to {org.name or org.instance_url} "
                                   f"({err.error}); reconnect it.") from None
    except requests.RequestException as err:
        raise RetriableSalesforceError("Salesforce did not answer the token refresh; retrying later.",
                                       detail=type(err).__name__) from None
    try:
        grant = verified_grant(token, conf)
    except OAuthFlowError as err:
        raise FatalSalesforceError(str(err)) from None
    if grant.org_id[:15] != org.org_id[:15]:
        raise FatalSalesforceError("Salesforce answered the refresh for a different org")
    org.set_secret("access_token", grant.access_token, ring)
    org.set_secret("refresh_token", grant.refresh_token or refresh, ring)  # rotation: keep the newest
    org.instance_url = grant.instance_url
    org.status = "connected"
    org.mark_used()
    return grant.access_token


def _needs_reconnect(org: OrgConnection) -> None:
    if org.status != "disconnected":
        org.status = "needs_reconnect"
        db.session.commit()


def revoke(instance_url: str, token: str) -> bool:
    """Revoke a token at Salesforce (a refresh token also revokes its access tokens). True when revoked or
    already invalid there; False when Salesforce could not be reached or answered otherwise."""
    try:
        resp = requests.post(f"{instance_url}/services/oauth2/revoke", data={"token": token}, timeout=TIMEOUT)
    except requests.RequestException:
        return False
    if resp.status_code == 200:
        return True
    try:
        return resp.status_code == 400 and resp.json().get("error") == "invalid_token"
    except ValueError:
        return False


def revoke_org(org: OrgConnection, keyring: Keyring | None = None) -> bool:
    """Revoke every token held for `org` at Salesforce (Disconnect, account deletion). True when none of
    them is still valid there. The caller deletes the ciphertexts either way."""
    ring = keyring or get_keyring()
    ok = True
    for column in ("refresh_token", "access_token"):  # revoking the refresh token ends its access tokens too
        try:
            token = org.get_secret(column, ring)
        except DecryptionError:
            ok = False
            continue
        if token:
            ok = revoke(org.instance_url, token) and ok
    return ok
