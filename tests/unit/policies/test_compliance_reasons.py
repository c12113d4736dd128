"""The reason vocabulary: stable strings, scoped where a rule has a scope."""

from __future__ import annotations

import pytest

from dialer.domain.compliance_reasons import (
    DEFERRABLE_CODES,
    SCOPED_CODES,
    Reason,
    ReasonCode,
)


def test_reasons_are_plain_stable_strings():
    assert Reason.of(ReasonCode.OUTSIDE_WINDOW, "FL") == "outside_window:FL"
    assert Reason.of(ReasonCode.DNC) == "dnc"
    assert Reason.of(ReasonCode.CAP_24H, "OK") == "cap_24h:OK"
    assert Reason.of(ReasonCode.OUTSIDE_WINDOW, "federal") == "outside_window:federal"


def test_parse_round_trips_and_exposes_code_and_scope():
    reason = Reason.parse("sunday:AL")
    assert reason == "sunday:AL"
    assert reason.code is ReasonCode.SUNDAY
    assert reason.scope == "AL"
    assert reason.deferrable
    dnc = Reason.parse("dnc")
    assert dnc.code is ReasonCode.DNC
    assert dnc.scope is None
    assert not dnc.deferrable


@pytest.mark.parametrize("text", ["bogus", "outside_window", "dnc:FL", "holiday:", "cap_24h"])
def test_malformed_reasons_are_refused(text):
    with pytest.raises(ValueError, match=r".+"):
        Reason.parse(text)


def test_the_code_values_are_the_documented_ones():
    # These strings are stored and shown; renaming one is a data migration, so they are pinned.
    assert {code.value for code in ReasonCode} == {
        "invalid_number",
        "unknown_timezone",
        "dnc",
        "no_voicemail_consent",
        "no_consent",
        "consent_revoked",
        "consent_insufficient",
        "scrub_missing",
        "scrub_stale",
        "max_attempts",
        "emergency",
        "holiday",
        "sunday",
        "outside_window",
        "cap_24h",
        "cap_daily",
    }
    assert set(ReasonCode) >= DEFERRABLE_CODES
    assert set(ReasonCode) >= SCOPED_CODES
