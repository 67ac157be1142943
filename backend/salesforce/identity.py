"""Confirm a canvas envelope's OAuth token with the org that issued it (OpenID userinfo), cached briefly.

A signed request has no nonce and its `issuedAt` is not a time, so a captured envelope stays correctly
signed forever. What ends its life is the token inside it: Salesforce stops answering for it after a
logout, a session timeout or a revocation (Disconnect). Asking the org that named itself in the envelope
who owns the token bounds replay by the token's own life (docs/accounts.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from backend.security.egress import EgressBlocked, safe_session

# A reload within this many seconds needs no round trip; a revocation Inflow did itself (Disconnect) drops
# the entry at once, one done in the org (logout, timeout) is seen at the latest this much later.
CONFIRMED_SECONDS = 300
TIMEOUT_SECONDS = 10
KEY = "canvas:token:{}"
ORG_KEYS = "canvas:org-tokens:{}"  # the confirmations of one org, so Disconnect can drop them all


class TokenNotConfirmed(Exception):
    """The org does not vouch for the token (revoked, expired, or someone else's); safe to log."""


class IdentityUnavailable(Exception):
    """The org could not be asked (network, 5xx); the launch may be tried again."""


def _key(token: str) -> str:
    return KEY.format(hashlib.sha256(token.encode("utf-8")).hexdigest())


def _id15(value: Any) -> str:
    # Salesforce ids come as 15 (case-sensitive) or 18 characters; the first 15 identify the record.
    return str(value or "")[:15]


def confirm_token(redis: Any, instance_url: str, token: str, user_id: str, org_id: str, *,
                  allow_loopback: bool) -> None:
    """Return when the org confirms that `token` belongs to `user_id` of `org_id`; raise otherwise."""
    owner = f"{_id15(user_id)}:{_id15(org_id)}"
    cached = redis.get(_key(token))
    if cached is not None:
        if cached.decode() != owner:
            raise TokenNotConfirmed("the token belongs to another user or org")
        return
    info = _userinfo(instance_url, token, allow_loopback)
    if f"{_id15(info.get('user_id'))}:{_id15(info.get('organization_id'))}" != owner:
        raise TokenNotConfirmed("the token belongs to another user or org")
    key, org_keys = _key(token), ORG_KEYS.format(_id15(org_id))
    with redis.pipeline() as pipe:
        pipe.set(key, owner, ex=CONFIRMED_SECONDS)
        pipe.sadd(org_keys, key)
        pipe.expire(org_keys, CONFIRMED_SECONDS)
        pipe.execute()


def forget_org(redis: Any, org_id: str) -> None:
    """Drop every confirmation for an org at once (Disconnect revoked its tokens here), so the next launch
    from any envelope of that org asks Salesforce again."""
    org_keys = ORG_KEYS.format(_id15(org_id))
    keys = [k.decode() for k in redis.smembers(org_keys)]
    redis.delete(org_keys, *keys)


def _userinfo(instance_url: str, token: str, allow_loopback: bool) -> dict[str, Any]:
    url = instance_url.rstrip("/") + "/services/oauth2/userinfo"
    try:
        with safe_session(allow_loopback=allow_loopback) as session:
            resp = session.get(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                               timeout=TIMEOUT_SECONDS)
    except EgressBlocked as err:
        raise TokenNotConfirmed(f"instance URL refused: {err}") from None
    except requests.RequestException as err:
        raise IdentityUnavailable(type(err).__name__) from None
    # Salesforce answers 403 "Bad_OAuth_Token" for a revoked or expired token (401 on some hosts).
    if resp.status_code in (400, 401, 403):
        raise TokenNotConfirmed(f"userinfo answered {resp.status_code}")
    if resp.status_code != 200:
        raise IdentityUnavailable(f"userinfo answered {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        raise IdentityUnavailable("userinfo answered no JSON") from None
    if not isinstance(body, dict):
        raise IdentityUnavailable("userinfo answered no JSON object")
    return body
