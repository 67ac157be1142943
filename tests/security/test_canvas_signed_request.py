"""verify_signed_request: Salesforce's HMAC scheme exactly, constant-time, and nothing else (checklist 1-2).

Envelopes are shaped like the captures named in sfdx/localorg/README.md (Sources)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from backend.security import canvas
from backend.security.canvas import CanvasError, make_signed_request, verify_signed_request

SECRET = "7B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C"


def _envelope(**changes) -> dict:
    """The v63 capture's shape: opaque negative issuedAt, null refresh token, namespace "" beside null."""
    env = {"algorithm": "HMACSHA256", "issuedAt": -246115464, "userId": "005000000000001AAA",
           "client": {"refreshToken": None, "instanceId": "_:Inflow:j_id0:j_id1:canvasapp",
                      "targetOrigin": "https://acme.my.salesforce.com",
                      "instanceUrl": "https://acme.my.salesforce.com", "oauthToken": "00D000000000001!AQ.token"},
           "context": {"user": {"userId": "005000000000001AAA", "userType": "STANDARD", "email": "a@acme.example",
                                "locale": "es_PE", "timeZone": "America/Lima"},
                       "links": {"restUrl": "/services/data/v63.0/",
                                 "chatterFeedsUrl": "/services/data/v31.0/chatter/feeds"},
                       "organization": {"organizationId": "00D000000000001AAA", "name": "Acme",
                                        "namespacePrefix": None},
                       "application": {"namespace": "inflow", "authType": "SIGNED_REQUEST"},
                       "environment": {"displayLocation": "Visualforce", "uiTheme": "Theme3", "parameters": {},
                                       "record": {}, "dimensions": {"width": "100%", "height": "900px"},
                                       "version": {"season": "SPRING", "api": "63.0"}}}}
    env.update(changes)
    return env


def test_reference_shape_verifies_and_exposes_the_fields_inflow_uses():
    request = verify_signed_request(make_signed_request(_envelope(), SECRET), SECRET)
    assert (request.org_id, request.user_id, request.instance_url, request.namespace_prefix) == (
        "00D000000000001AAA", "005000000000001AAA", "https://acme.my.salesforce.com", "inflow")


def test_signature_is_over_the_encoded_envelope_as_the_docs_say():
    encoded = base64.b64encode(json.dumps(_envelope()).encode()).decode()
    digest = hmac.new(SECRET.encode(), encoded.encode(), hashlib.sha256).digest()
    assert verify_signed_request(base64.b64encode(digest).decode() + "." + encoded, SECRET)
    signed_json = hmac.new(SECRET.encode(), json.dumps(_envelope()).encode(), hashlib.sha256).digest()
    with pytest.raises(CanvasError):  # a signature over the decoded JSON is not Salesforce's scheme
        verify_signed_request(base64.b64encode(signed_json).decode() + "." + encoded, SECRET)


@pytest.mark.parametrize("variant", ["standard", "urlsafe", "unpadded", "urlsafe-unpadded"])
def test_both_base64_alphabets_with_or_without_padding(variant):
    sig, env = make_signed_request(_envelope(), SECRET).split(".", 1)
    raw_sig, raw_env = base64.b64decode(sig), base64.b64decode(env)
    encode = base64.urlsafe_b64encode if "urlsafe" in variant else base64.b64encode
    env_text = encode(raw_env).decode()
    sig_text = encode(hmac.new(SECRET.encode(), env_text.rstrip("=").encode() if "unpadded" in variant
                               else env_text.encode(), hashlib.sha256).digest()).decode()
    if "unpadded" in variant:
        sig_text, env_text = sig_text.rstrip("="), env_text.rstrip("=")
    assert verify_signed_request(f"{sig_text}.{env_text}", SECRET).org_id == "00D000000000001AAA"
    assert raw_sig  # the parts decode


@pytest.mark.parametrize("position", ["signature", "payload"])
def test_one_flipped_byte_is_refused(position):
    good = make_signed_request(_envelope(), SECRET)
    index = 3 if position == "signature" else good.index(".") + 20
    bad = good[:index] + ("A" if good[index] != "A" else "B") + good[index + 1:]
    with pytest.raises(CanvasError, match="signature mismatch|not base64"):
        verify_signed_request(bad, SECRET)


def test_foreign_secret_and_wrong_algorithm_are_refused():
    with pytest.raises(CanvasError, match="signature mismatch"):
        verify_signed_request(make_signed_request(_envelope(), "someone-else"), SECRET)
    with pytest.raises(CanvasError, match="algorithm"):
        verify_signed_request(make_signed_request(_envelope(algorithm="HMACSHA1"), SECRET), SECRET)
    with pytest.raises(CanvasError, match="algorithm"):
        verify_signed_request(make_signed_request(_envelope(algorithm="none"), SECRET), SECRET)
    with pytest.raises(CanvasError, match="no consumer secret"):
        verify_signed_request(make_signed_request(_envelope(), ""), "")


@pytest.mark.parametrize("value", ["", "nodot", ".", "abc.", ".abc", "!!!.###", "a" * 70_000 + ".b"])
def test_malformed_input_is_refused_without_exceptions_escaping(value):
    with pytest.raises(CanvasError):
        verify_signed_request(value, SECRET)


def test_only_the_first_period_splits():
    good = make_signed_request(_envelope(), SECRET)
    with pytest.raises(CanvasError):
        verify_signed_request(good + ".extra", SECRET)


def test_signed_but_not_json_or_not_an_object_is_refused():
    for body in (b"not json", b"[1, 2]"):
        encoded = base64.b64encode(body).decode()
        sig = base64.b64encode(canvas.sign(encoded, SECRET)).decode()
        with pytest.raises(CanvasError):
            verify_signed_request(f"{sig}.{encoded}", SECRET)


@pytest.mark.parametrize("issued_at", [-1882588807, -1555461611, -246115464, 0, 1677461276, 2**40, None, "x",
                                       int(time.time()) - 10 * 365 * 86400])
def test_issued_at_is_opaque_and_never_decides(issued_at):
    # Real orgs send negative and far-off values (captures in sfdx/localorg/README.md): none of them, nor a
    # missing or odd one, changes the verdict; the value is kept only for the audit log.
    request = verify_signed_request(make_signed_request(_envelope(issuedAt=issued_at), SECRET), SECRET)
    assert request.org_id == "00D000000000001AAA" and request.issued_at == str(issued_at)


def test_namespace_empty_or_null_means_none():
    env = _envelope()
    env["context"]["application"]["namespace"] = ""
    assert verify_signed_request(make_signed_request(env, SECRET), SECRET).namespace_prefix == ""


def test_an_envelope_without_an_oauth_token_is_refused():
    # The token is what bounds replay (it is confirmed with the org), so an envelope without one is useless.
    env = _envelope()
    env["client"]["oauthToken"] = None
    with pytest.raises(CanvasError, match="OAuth token"):
        verify_signed_request(make_signed_request(env, SECRET), SECRET)


def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(canvas.hmac, "compare_digest", spy)
    verify_signed_request(make_signed_request(_envelope(), SECRET), SECRET)
    with pytest.raises(CanvasError):
        verify_signed_request(make_signed_request(_envelope(), "other"), SECRET)
    assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)
