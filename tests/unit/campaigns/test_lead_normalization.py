"""Lead normalisation (one path for JSON and CSV rows), merging, and the CSV record splitter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.domain.leads import LeadFields, LeadRejected, RejectReason, merge_leads, normalize_lead
from dialer.services.imports import map_columns, read_header, records, row_fields


def test_a_lead_is_normalised_and_located() -> None:
    lead = normalize_lead(
        LeadFields(
            phone=" (305) 555-0100 ",
            first_name=" Ana ",
            state="florida",
            email="a@b.co",
            tags=("x", "x", " y "),
        )
    )
    assert lead.phone == "+13055550100"
    assert (lead.first_name, lead.state, lead.area_code_state) == ("Ana", "FL", "FL")
    assert lead.tags == ("x", "y")
    # Florida spans two zones: the (Miami) number picks the eastern one
    assert (lead.zone, lead.zone_source) == ("America/New_York", "address_state+number")


def test_location_order_is_explicit_zone_then_address_then_number() -> None:
    explicit = normalize_lead(LeadFields(phone="+12125550123", state="CA", time_zone="America/Denver"))
    assert (explicit.zone, explicit.zone_source) == ("America/Denver", "explicit_zone")
    assert (explicit.state, explicit.area_code_state) == ("CA", "NY")
    address = normalize_lead(LeadFields(phone="+12125550123", state="CA"))
    assert (address.zone, address.zone_source) == ("America/Los_Angeles", "address_state")
    number = normalize_lead(LeadFields(phone="+12125550123"))
    assert (number.zone, number.zone_source) == ("America/New_York", "number")


def test_default_region_reads_national_numbers() -> None:
    assert normalize_lead(LeadFields(phone="020 7946 0958"), default_region="GB").phone == "+442079460958"


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        (LeadFields(phone=""), RejectReason.PHONE_MISSING, "phone"),
        (LeadFields(phone="hello"), RejectReason.PHONE_UNPARSEABLE, "phone"),
        (LeadFields(phone="+1 555 123 4567"), RejectReason.PHONE_INVALID, "phone"),
        (LeadFields(phone="+1212555"), RejectReason.PHONE_NOT_POSSIBLE, "phone"),
        (
            LeadFields(phone="+12125550123", time_zone="Mars/Base"),
            RejectReason.INVALID_TIME_ZONE,
            "time_zone",
        ),
        (LeadFields(phone="+12125550123", state="Narnia"), RejectReason.INVALID_STATE, "state"),
        (LeadFields(phone="+12125550123", email="nope"), RejectReason.INVALID_EMAIL, "email"),
        (
            LeadFields(phone="+12125550123", consent_type="maybe", consent_granted_at="2026-01-01"),
            RejectReason.INVALID_CONSENT_TYPE,
            "consent_type",
        ),
        (
            LeadFields(phone="+12125550123", consent_type="express", consent_granted_at="soon"),
            RejectReason.INVALID_CONSENT_TIMESTAMP,
            "consent_granted_at",
        ),
        (
            LeadFields(phone="+12125550123", consent_type="express"),
            RejectReason.CONSENT_INCOMPLETE,
            "consent_granted_at",
        ),
        (
            LeadFields(phone="+12125550123", consent_granted_at="2026-01-01"),
            RejectReason.CONSENT_INCOMPLETE,
            "consent_type",
        ),
        (
            LeadFields(
                phone="+12125550123",
                consent_type="express",
                consent_granted_at="2026-02-01",
                consent_revoked_at="2026-01-01",
            ),
            RejectReason.INVALID_CONSENT_TIMESTAMP,
            "consent_revoked_at",
        ),
        (
            LeadFields(phone="+12125550123", dnc_scrubbed_at="last week"),
            RejectReason.INVALID_SCRUB_DATE,
            "dnc_scrubbed_at",
        ),
        (LeadFields(phone="+12125550123", company="x" * 501), RejectReason.FIELD_TOO_LONG, "company"),
    ],
)
def test_bad_leads_are_rejected_with_a_stable_reason(
    fields: LeadFields, reason: RejectReason, field: str
) -> None:
    with pytest.raises(LeadRejected) as caught:
        normalize_lead(fields)
    assert (caught.value.reason, caught.value.field) == (reason, field)
    assert "555" not in caught.value.message  # the raw number stays out of messages (and logs)


def test_consent_and_scrub_dates_are_parsed_as_aware_instants() -> None:
    lead = normalize_lead(
        LeadFields(
            phone="+12125550123",
            consent_type="Express_Written",
            consent_granted_at="2026-01-05T10:00:00Z",
            dnc_scrubbed_at="2026-03-01",
        )
    )
    assert lead.consent is not None
    assert lead.consent.granted_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert lead.consent.source == "unspecified"
    assert lead.dnc_scrubbed_at == datetime(2026, 3, 1, tzinfo=UTC)


def test_merging_keeps_old_fields_unites_tags_and_takes_new_facts() -> None:
    old = normalize_lead(
        LeadFields(phone="+12125550123", first_name="Ada", tags=("a",), custom_fields={"k": "1"})
    )
    new = normalize_lead(
        LeadFields(phone="2125550123", last_name="L", tags=("b",), custom_fields={"j": "2"}, state="CA")
    )
    merged = merge_leads(old, new)
    assert (merged.first_name, merged.last_name, merged.state, merged.zone) == (
        "Ada",
        "L",
        "CA",
        "America/Los_Angeles",
    )
    assert merged.tags == ("a", "b")
    assert merged.custom_fields == {"k": "1", "j": "2"}


def test_csv_records_keep_exact_bytes_lines_and_quoted_newlines() -> None:
    data = b'\xef\xbb\xbfPhone,Address\r\n+12125550123,"1 Main\nApt 2"\r\n\r\n+12125550124,x'
    chunks = iter([data[i : i + 7] for i in range(0, len(data), 7)])
    got = list(records(chunks, first_line=1))
    assert b"".join(r.data for r in got) == data
    assert [(r.line, r.lines) for r in got] == [(1, 1), (2, 2), (4, 1), (5, 1)]
    assert read_header(got[0]) == (["phone", "address"], [])
    assert map_columns(["Mobile", "First Name", "Policy No", "custom.tier"]) == (
        ["phone", "first_name", "custom:Policy No", "custom:tier"],
        [],
    )
    fields = row_fields(["phone", "tags", "custom:tier"], ["+12125550123", "a;b|c", "gold"])
    assert fields.tags == ("a", "b", "c")
    assert fields.custom_fields == {"tier": "gold"}
