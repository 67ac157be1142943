"""Verify a Salesforce Canvas signed request: HMAC-SHA256 over the still-encoded envelope, then its shape."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

ALGORITHM = "HMACSHA256"
MAX_SIGNED_REQUEST_BYTES = 64 * 1024  # real envelopes are a few KiB; refuse to parse anything huge


class CanvasError(ValueError):
    """The signed request is not one Salesforce signed for us; `reason` is safe to log (never the payload)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CanvasRequest:
    """The verified envelope, with the few fields Inflow uses pulled out."""

    envelope: dict[str, Any]

    def _section(self, *path: str) -> dict[str, Any]:
        node: Any = self.envelope
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    @property
    def client(self) -> dict[str, Any]:
        return self._section("client")

    @property
    def user(self) -> dict[str, Any]:
        return self._section("context", "user")

    @property
    def organization(self) -> dict[str, Any]:
        return self._section("context", "organization")

    @property
    def application(self) -> dict[str, Any]:
        return self._section("context", "application")

    @property
    def environment(self) -> dict[str, Any]:
        return self._section("context", "environment")

    @property
    def org_id(self) -> str:
        return str(self.organization.get("organizationId") or "")

    @property
    def user_id(self) -> str:
        return str(self.envelope.get("userId") or self.user.get("userId") or "")

    @property
    def instance_url(self) -> str:
        return str(self.client.get("instanceUrl") or "").rstrip("/")

    @property
    def namespace_prefix(self) -> str:
        return str(self.application.get("namespace") or self.organization.get("namespacePrefix") or "")

    @property
    def issued_at(self) -> str:
        """Opaque: real orgs send values such as -246115464 (docs/accounts.md); kept for the audit log only."""
        return str(self.envelope.get("issuedAt"))[:32]

    @property
    def oauth_token(self) -> str:
        return str(self.client.get("oauthToken") or "")

    @property
    def api_version(self) -> str:
        version = self._section("context", "environment", "version").get("api")
        return str(version or "")


def b64decode_any(text: str) -> bytes:
    """Standard or URL-safe base64, with or without padding; anything else raises CanvasError."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise CanvasError("not base64") from None


def sign(encoded_envelope: str, secret: str) -> bytes:
    """The HMAC Salesforce computes: keyed by the consumer secret, over the base64 text, not the JSON."""
    return hmac.new(secret.encode("utf-8"), encoded_envelope.encode("ascii"), hashlib.sha256).digest()


def verify_signed_request(signed_request: str, secret: str) -> CanvasRequest:
    """The envelope if Salesforce signed it with `secret`; CanvasError otherwise.

    Nothing here bounds replay: `issuedAt` is not a time in practice, so the caller confirms the envelope's
    OAuth token with the org (backend.salesforce.identity) before it trusts the launch."""
    if not secret:
        raise CanvasError("no consumer secret configured")
    if not signed_request or len(signed_request) > MAX_SIGNED_REQUEST_BYTES:
        raise CanvasError("missing or oversized signed_request")
    encoded_sig, dot, encoded_env = signed_request.partition(".")  # the first period only
    if not dot or not encoded_sig or not encoded_env or not encoded_env.isascii():
        raise CanvasError("malformed signed_request")
    if not hmac.compare_digest(b64decode_any(encoded_sig), sign(encoded_env, secret)):
        raise CanvasError("signature mismatch")
    try:
        envelope = json.loads(b64decode_any(encoded_env).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CanvasError("envelope is not JSON") from None
    if not isinstance(envelope, dict):
        raise CanvasError("envelope is not an object")
    # Only after the HMAC matched: the algorithm field is inside the signed envelope.
    if str(envelope.get("algorithm", "")).upper() != ALGORITHM:
        raise CanvasError("unexpected algorithm")
    request = CanvasRequest(envelope)
    if not request.org_id or not request.user_id or not request.instance_url or not request.oauth_token:
        raise CanvasError("envelope lacks organization, user, instance URL or OAuth token")
    return request


def make_signed_request(envelope: dict[str, Any], secret: str) -> str:
    """Build a signed request exactly as Salesforce does (tests and the local demo use this)."""
    encoded = base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()
    return base64.b64encode(sign(encoded, secret)).decode() + "." + encoded
