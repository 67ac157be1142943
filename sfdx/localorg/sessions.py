"""Access tokens, refresh tokens and authorization codes of one org (all in memory)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Session:
    """An access token; `app` is the consumer key it was issued to (None for the ready admin token)."""

    token: str
    user_id: str
    app: str | None
    scope: str
    issued_at: float
    expires_at: float
    refresh: str | None = None
    revoked: bool = False

    def valid(self, now: float | None = None) -> bool:
        return not self.revoked and (now or time.time()) < self.expires_at


@dataclass
class Grant:
    """A refresh token, or an authorization code awaiting exchange."""

    user_id: str
    app: str
    scope: str
    redirect_uri: str = ""
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    expires_at: float = 0.0
    revoked: bool = False
    access_tokens: list[str] = field(default_factory=list)


class SessionStore:
    """Tokens of one org. Tokens look like Salesforce's: `<org id>!<random>`."""

    def __init__(self, org_id: str, knobs: Any) -> None:
        self.org_id = org_id
        self.knobs = knobs  # token_lifetime is read at issue time, so the admin knob applies to new tokens
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.codes: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str, app: str | None = None, scope: str = "api refresh_token",
              refresh: str | None = None) -> Session:
        now = time.time()
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72)}"
        s = Session(token, user_id, app, scope, now, now + self.knobs.token_lifetime, refresh)
        with self._lock:
            self._drop_expired(now)
            self.sessions[token] = s
            if refresh and refresh in self.refresh_tokens:
                self.refresh_tokens[refresh].access_tokens.append(token)
        return s

    def _drop_expired(self, now: float) -> None:
        # Memory grows with records only: forget sessions an hour after they stopped working.
        if len(self.sessions) % 64 == 0:
            for tok in [t for t, s in self.sessions.items() if s.expires_at + 3600 < now]:
                del self.sessions[tok]

    def check(self, token: str) -> Session | None:
        """The live session for `token`, or None if unknown, expired or revoked."""
        s = self.sessions.get(token)
        return s if s is not None and s.valid() else None

    def new_refresh_token(self, user_id: str, app: str, scope: str) -> str:
        token = f"5Aep{secrets.token_urlsafe(64)}"
        self.refresh_tokens[token] = Grant(user_id, app, scope)
        return token

    def new_code(self, grant: Grant) -> str:
        code = f"aPrx{secrets.token_urlsafe(48)}"
        grant.expires_at = time.time() + 900
        self.codes[code] = grant
        return code

    def take_code(self, code: str) -> Grant | None:
        """Codes are single use and expire after 15 minutes."""
        g = self.codes.pop(code, None)
        return g if g is not None and g.expires_at > time.time() else None

    def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token; a refresh token also kills its access tokens."""
        with self._lock:
            s = self.sessions.get(token)
            if s is not None:
                s.revoked = True
                return True
            g = self.refresh_tokens.get(token)
            if g is None:
                return False
            g.revoked = True
            for t in g.access_tokens:
                if t in self.sessions:
                    self.sessions[t].revoked = True
            return True
