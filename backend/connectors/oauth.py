"""OAuth 2.0 for connectors (Dropbox, Google Sheets) with Authlib: authorization code + PKCE, refresh, revoke.

Authlib's OAuth2Session is a requests.Session, so it is built as a SafeSession of the egress guard: every
call (authorize exchange, refresh, API, revoke) resolves and checks its host and connects to the checked
address. A refreshed access (and refresh) token is kept in the connector's params and handed to
`on_tokens`, which `stored.connector` points at the encrypted row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from backend.connectors.base import Connector, ConnectorError
from backend.security.egress import EgressBlocked, SafeSession, safe_session

TIMEOUT_S = (10, 60)
TOKEN_KEYS = ("access_token", "refresh_token", "expires_at")


class OAuthSession(SafeSession, OAuth2Session):
    """Authlib's client session with the egress guard's redirect rule (and, via safe_session, its pinning)."""


def client_session(params: dict[str, Any], *, allow_loopback: bool, token: dict | None = None,
                   update_token: Callable[..., None] | None = None, redirect_uri: str | None = None,
                   scope: str | None = None) -> OAuthSession:
    session = OAuthSession(params.get("client_id") or "", params.get("client_secret") or "", scope=scope,
                           redirect_uri=redirect_uri, token=token, update_token=update_token,
                           token_endpoint=params.get("token_url"), code_challenge_method="S256")
    session.default_timeout = TIMEOUT_S
    return safe_session(allow_loopback=allow_loopback, session=session)


def authorization_url(params: dict[str, Any], redirect_uri: str, scope: str | None,
                      extra: dict[str, str]) -> tuple[str, str, str]:
    """(url to send the browser to, state, PKCE verifier); state and verifier go into the sealed flow cookie."""
    if not params.get("client_id"):
        raise ConnectorError("config", "This deployment has no OAuth client id for the provider; set it first.")
    verifier = generate_token(64)
    # Only builds a URL (no request), so a plain client session does.
    session = OAuth2Session(params["client_id"], redirect_uri=redirect_uri, scope=scope, code_challenge_method="S256")
    url, state = session.create_authorization_url(params["auth_url"], code_verifier=verifier, **extra)
    return url, state, verifier


def exchange_code(params: dict[str, Any], redirect_uri: str, code: str, verifier: str, *,
                  allow_loopback: bool, label: str) -> dict[str, Any]:
    """The provider's token response for the code (access_token, refresh_token, expires_at, ...)."""
    session = client_session(params, allow_loopback=allow_loopback, redirect_uri=redirect_uri)
    try:
        with guarded(label, params):
            token = session.fetch_token(params["token_url"], code=code, code_verifier=verifier)
    finally:
        session.close()
    if not token.get("refresh_token"):
        raise ConnectorError("auth", f"{label} granted no refresh token (offline access); connect again.")
    return dict(token)


@contextmanager
def guarded(label: str, params: dict[str, Any]) -> Iterator[None]:
    """Map what can go wrong on the wire to a ConnectorError with a stage; no secret ends up in the message."""
    try:
        yield
    except EgressBlocked as err:
        raise ConnectorError("egress", f"{err}.") from None
    except OAuthError as err:
        words = scrub(err.description or err.error or "refused", params)
        raise ConnectorError("auth", f"{label} refused the authorization ({words}); connect again.") from None
    except requests.exceptions.SSLError:
        raise ConnectorError("tls", f"The TLS certificate of {label} could not be verified.") from None
    except requests.RequestException as err:
        raise ConnectorError("tcp", f"Cannot reach {label}: {type(err).__name__}.") from None


def scrub(text: str, params: dict[str, Any]) -> str:
    """The provider's words without any token or secret of ours in them."""
    for key in ("access_token", "refresh_token", "client_secret"):
        value = str(params.get(key) or "")
        if len(value) >= 6:
            text = text.replace(value, "[hidden]")
    return text


class OAuthConnector(Connector):
    """A connector whose calls carry an OAuth access token, refreshed when it has expired.

    `settings_keys` name the params that come from the deployment's settings (client id and secret,
    endpoint URLs): `stored` adds them when building a connector and never stores them in a connection.
    """

    secret_keys: ClassVar[tuple[str, ...]] = ("refresh_token", "access_token", "client_secret")
    settings_keys: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "auth_url", "token_url")
    scope: ClassVar[str | None] = None
    authorize_extra: ClassVar[dict[str, str]] = {}

    def __init__(self, params: dict[str, Any], *, allow_loopback: bool = False) -> None:
        super().__init__(params, allow_loopback=allow_loopback)
        self.on_tokens: Callable[[dict[str, Any]], None] | None = None
        self._session: OAuthSession | None = None
        self._refreshed_now = False

    def public_params(self) -> dict[str, Any]:
        hidden = set(self.settings_keys) | {"expires_at"}
        return {k: v for k, v in super().public_params().items() if k not in hidden}

    def http(self) -> OAuthSession:
        if self._session is None:
            if not self.params.get("refresh_token"):
                raise ConnectorError("auth", f"The {self.label} connection has no refresh token; connect again.")
            token = {"access_token": self.params.get("access_token") or "", "token_type": "Bearer",
                     "refresh_token": self.params["refresh_token"],
                     "expires_at": int(self.params.get("expires_at") or 1)}  # 1: expired, refresh first
            self._session = client_session(self.params, allow_loopback=self.allow_loopback, token=token,
                                           update_token=self._refreshed)
        return self._session

    def _refreshed(self, token: dict[str, Any], refresh_token: str | None = None, **_: Any) -> None:
        fresh = {"access_token": token["access_token"], "refresh_token": token.get("refresh_token") or refresh_token,
                 "expires_at": int(token.get("expires_at") or time.time() + int(token.get("expires_in") or 3600))}
        self.params.update(fresh)
        self._refreshed_now = True
        if self.on_tokens is not None:
            self.on_tokens(fresh)

    def call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One API request with a live access token; HTTP errors are the caller's to read."""
        with guarded(self.label, self.params):
            response = self.http().request(method, url, **kwargs)
            if response.status_code == 401 and not self._refreshed_now:
                # The provider ended the access token before its expiry: refresh once and try again.
                response.close()
                self.http().token["expires_at"] = 1
                response = self.http().request(method, url, **kwargs)
            return response

    def revoke(self) -> None:
        """Revoke the grant at the provider (Disconnect / delete); subclasses know where."""
        raise NotImplementedError
