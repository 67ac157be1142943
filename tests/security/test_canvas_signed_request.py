"""verify_signed_request: Salesforce's HMAC scheme exactly, constant-time, and nothing else (checklist 1-2)."""

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
MAX_AGE = 7200


def _envelope(**changes) -> dict:
    env = {"algorithm": "HMACSHA256", "issuedAt": int(time.time()), "userId": "005000000000001AAA",
           "client": {"instanceUrl": "https://acme.my.salesforce.com", "oauthToken": "00D!token",
                      "targetOrigin": "https://acme.my.salesforce.com"},
           "context": {"user": {"userId": "005000000000001AAA", "userType": "STANDARD", "email": "a@acme.example"},
                       "organization": {"organizationId": "00D000000000001AAA", "name": "Acme"},
                       "application": {"namespace": "inflow"}}}
    env.update(changes)
    return env


def test_reference_shape_verifies_and_exposes_the_fields_inflow_uses():
    request = verify_signed_request(make_signed_request(_envelope(), SECRET), SECRET, MAX_AGE)
    assert (request.org_id, request.user_id, request.instance_url, request.namespace_prefix) == (
        "00D000000000001AAA", "005000000000001AAA", "https://acme.my.salesforce.com", "inflow")


def test_signature_is_over_the_encoded_envelope_as_the_docs_say():
    encoded = base64.b64encode(json.dumps(_envelope()).encode()).decode()
    digest = hmac.new(SECRET.encode(), encoded.encode(), hashlib.sha256).digest()
    assert verify_signed_request(base64.b64encode(digest).decode() + "." + encoded, SECRET, MAX_AGE)
    signed_json = hmac.new(SECRET.encode(), json.dumps(_envelope()).encode(), hashlib.sha256).digest()
    with pytest.raises(CanvasError):  # a signature over the decoded JSON is not Salesforce's scheme
        verify_signed_request(base64.b64encode(signed_json).decode() + "." + encoded, SECRET, MAX_AGE)


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
    assert verify_signed_request(f"{sig_text}.{env_text}", SECRET, MAX_AGE).org_id == "00D000000000001AAA"
    assert raw_sig  # the parts decode


@pytest.mark.parametrize("position", ["signature", "payload"])
def test_one_flipped_byte_is_refused(position):
    good = make_signed_request(_envelope(), SECRET)
    index = 3 if position == "signature" else good.index(".") + 20
    bad = good[:index] + ("A" if good[index] != "A" else "B") + good[index + 1:]
    with pytest.raises(CanvasError, match="signature mismatch|not base64"):
        verify_signed_request(bad, SECRET, MAX_AGE)


def test_foreign_secret_and_wrong_algorithm_are_refused():
    with pytest.raises(CanvasError, match="signature mismatch"):
        verify_signed_request(make_signed_request(_envelope(), "someone-else"), SECRET, MAX_AGE)
    with pytest.raises(CanvasError, match="algorithm"):
        verify_signed_request(make_signed_request(_envelope(algorithm="HMACSHA1"), SECRET), SECRET, MAX_AGE)
    with pytest.raises(CanvasError, match="algorithm"):
        verify_signed_request(make_signed_request(_envelope(algorithm="none"), SECRET), SECRET, MAX_AGE)
    with pytest.raises(CanvasError, match="no consumer secret"):
        verify_signed_request(make_signed_request(_envelope(), ""), "", MAX_AGE)


@pytest.mark.parametrize("value", ["", "nodot", ".", "abc.", ".abc", "!!!.###", "a" * 70_000 + ".b"])
def test_malformed_input_is_refused_without_exceptions_escaping(value):
    with pytest.raises(CanvasError):
        verify_signed_request(value, SECRET, MAX_AGE)


def test_only_the_first_period_splits():
    good = make_signed_request(_envelope(), SECRET)
    with pytest.raises(CanvasError):
        verify_signed_request(good + ".extra", SECRET, MAX_AGE)


def test_signed_but_not_json_or_not_an_object_is_refused():
    for body in (b"not json", b"[1, 2]"):
        encoded = base64.b64encode(body).decode()
        sig = base64.b64encode(canvas.sign(encoded, SECRET)).decode()
        with pytest.raises(CanvasError):
            verify_signed_request(f"{sig}.{encoded}", SECRET, MAX_AGE)


def test_freshness_tolerates_clock_skew_but_not_age():
    now = time.time()
    ok = [now - MAX_AGE + 10, now + canvas.CLOCK_SKEW_SECONDS - 10, now - MAX_AGE - canvas.CLOCK_SKEW_SECONDS + 10]
    for issued in ok:
        verify_signed_request(make_signed_request(_envelope(issuedAt=int(issued)), SECRET), SECRET, MAX_AGE, now=now)
    for issued in (now - MAX_AGE - canvas.CLOCK_SKEW_SECONDS - 10, now + canvas.CLOCK_SKEW_SECONDS + 10, None, "x"):
        with pytest.raises(CanvasError):
            verify_signed_request(make_signed_request(_envelope(issuedAt=issued), SECRET), SECRET, MAX_AGE, now=now)


def test_signatures_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(canvas.hmac, "compare_digest", spy)
    verify_signed_request(make_signed_request(_envelope(), SECRET), SECRET, MAX_AGE)
    with pytest.raises(CanvasError):
        verify_signed_request(make_signed_request(_envelope(), "other"), SECRET, MAX_AGE)
    assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)
