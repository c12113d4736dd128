"""Ed25519 verification: every way a request can fail, and agreement with the official SDK."""

from __future__ import annotations

import base64
import json

import pytest

from telnyx_client.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    SignatureFailure,
    load_public_key,
    new_key_pair,
    sign,
    verify,
)
from tests.support.signing import new_signer

NOW = 1_790_000_000
BODY = json.dumps({"data": {"id": "e1", "event_type": "call.hangup", "payload": {}}}).encode()


@pytest.fixture
def signer():
    return new_signer()


def test_valid_signature_is_accepted(signer):
    headers = sign(BODY, signer.signing_key, timestamp=NOW)
    assert verify(BODY, headers, signer.public_key_b64, now=NOW).value == NOW


def test_header_names_are_case_insensitive(signer):
    headers = {k.title(): v for k, v in sign(BODY, signer.signing_key, timestamp=NOW).items()}
    assert verify(BODY, headers, signer.public_key_b64, now=NOW).value == NOW


@pytest.mark.parametrize("drop", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_missing_header_is_rejected(signer, drop):
    headers = sign(BODY, signer.signing_key, timestamp=NOW)
    del headers[drop]
    with pytest.raises(SignatureError) as err:
        verify(BODY, headers, signer.public_key_b64, now=NOW)
    assert err.value.reason is SignatureFailure.MISSING_HEADERS


def test_no_headers_at_all_is_rejected(signer):
    with pytest.raises(SignatureError) as err:
        verify(BODY, None, signer.public_key_b64, now=NOW)
    assert err.value.reason is SignatureFailure.MISSING_HEADERS


def test_tampered_body_is_rejected(signer):
    headers = sign(BODY, signer.signing_key, timestamp=NOW)
    tampered = BODY.replace(b"hangup", b"hangop")
    with pytest.raises(SignatureError) as err:
        verify(tampered, headers, signer.public_key_b64, now=NOW)
    assert err.value.reason is SignatureFailure.BAD_SIGNATURE


def test_signature_from_another_key_is_rejected(signer):
    other, _ = new_key_pair()
    headers = sign(BODY, other, timestamp=NOW)
    with pytest.raises(SignatureError) as err:
        verify(BODY, headers, signer.public_key_b64, now=NOW)
    assert err.value.reason is SignatureFailure.BAD_SIGNATURE


def test_timestamp_is_part_of_what_is_signed(signer):
    headers = sign(BODY, signer.signing_key, timestamp=NOW)
    headers[TIMESTAMP_HEADER] = str(NOW + 1)
    with pytest.raises(SignatureError) as err:
        verify(BODY, headers, signer.public_key_b64, now=NOW)
    assert err.value.reason is SignatureFailure.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("skew", "ok"), [(299, True), (300, True), (301, False), (-300, True), (-301, False), (-4000, False)]
)
def test_timestamp_skew_limit_is_300_seconds_either_way(signer, skew, ok):
    headers = sign(BODY, signer.signing_key, timestamp=NOW + skew)
    if ok:
        verify(BODY, headers, signer.public_key_b64, now=NOW)
    else:
        with pytest.raises(SignatureError) as err:
            verify(BODY, headers, signer.public_key_b64, now=NOW)
        assert err.value.reason is SignatureFailure.STALE_TIMESTAMP


@pytest.mark.parametrize("value", ["", "abc", "1.5e9", "12 34"])
def test_non_integer_timestamp_is_rejected(signer, value):
    headers = sign(BODY, signer.signing_key, timestamp=NOW)
    headers[TIMESTAMP_HEADER] = value
    with pytest.raises(SignatureError) as err:
        verify(BODY, headers, signer.public_key_b64, now=NOW)
    assert err.value.reason in (SignatureFailure.BAD_TIMESTAMP, SignatureFailure.MISSING_HEADERS)


@pytest.mark.parametrize(
    "signature",
    ["not base64 !!", base64.b64encode(b"short").decode(), base64.b64encode(bytes(65)).decode()],
)
def test_malformed_signature_is_rejected(signer, signature):
    headers = sign(BODY, signer.signing_key, timestamp=NOW)
    headers[SIGNATURE_HEADER] = signature
    with pytest.raises(SignatureError) as err:
        verify(BODY, headers, signer.public_key_b64, now=NOW)
    assert err.value.reason is SignatureFailure.MALFORMED_SIGNATURE


@pytest.mark.parametrize(
    "key", ["", "???", base64.b64encode(bytes(31)).decode(), base64.b64encode(bytes(33)).decode()]
)
def test_bad_public_key_is_rejected(key):
    with pytest.raises(SignatureError) as err:
        load_public_key(key)
    assert err.value.reason is SignatureFailure.BAD_PUBLIC_KEY


def test_agrees_with_the_official_sdk(signer):
    """The SDK's webhooks.unwrap is the external oracle: it accepts what we sign and verify."""
    import telnyx  # dev-only oracle; never imported by runtime code

    client = telnyx.Telnyx(api_key="KEY_TEST", public_key=signer.public_key_b64)
    raw = (BODY.decode()).encode()
    headers = sign(raw, signer.signing_key)
    verify(raw, headers, signer.public_key_b64)
    client.webhooks.unwrap(raw.decode(), headers=headers, key=signer.public_key_b64)
    with pytest.raises(ValueError, match=r"[Ss]ignature"):
        client.webhooks.unwrap(
            raw.decode().replace("hangup", "hangop"), headers=headers, key=signer.public_key_b64
        )
