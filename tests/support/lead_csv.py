"""Generated lead CSV files for import tests and the import benchmark: valid rows across states and
zones, plus bad rows of every kind at fixed intervals, with the outcome each row must have."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

HEADER = [
    "Phone",
    "First Name",
    "Last Name",
    "Email",
    "Company",
    "Address",
    "City",
    "State",
    "ZIP",
    "Timezone",
    "Tags",
    "Consent Type",
    "Consent Source",
    "Consent At",
    "DNC Scrubbed At",
    "policy_number",
]
AREA_CODES = ("212", "305", "415", "312", "214", "713", "404", "602", "206", "617")
STATES = ("NY", "FL", "CA", "IL", "TX", "TX", "GA", "AZ", "WA", "MA")
EXCHANGES = tuple(f"{n}" for n in range(201, 1000) if n % 100 != 11 and n != 555 and n % 100 != 0)


@dataclass
class GeneratedCsv:
    """The file and what importing it must give (lines are 1-based; the header is line 1)."""

    data: bytes
    rows: int = 0
    imported: int = 0
    merged: int = 0
    rejected: dict[int, str] = field(default_factory=dict)


def phone_for(i: int) -> str:
    """A distinct valid US number for every i below 10 * len(EXCHANGES) * 10_000."""
    j = i // len(AREA_CODES)
    return (
        f"+1{AREA_CODES[i % len(AREA_CODES)]}{EXCHANGES[j % len(EXCHANGES)]}{1000 + j // len(EXCHANGES):04d}"
    )


def generate(rows: int) -> GeneratedCsv:
    """``rows`` data rows; about 1 in 11 is bad or a duplicate (every kind appears when rows >= 100)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    result = GeneratedCsv(b"")
    line = 1
    stored: set[str] = set()
    for i in range(rows):
        line += 1
        phone = phone_for(i)
        zone = ""
        consent = ("express_written", "web form", "2026-01-05T10:00:00Z")
        address = f"{i} Main St"
        expected = "imported"
        if i % 97 == 13:
            phone, expected = "+1 555 123 4567", "phone_invalid"
        elif i % 89 == 7:
            phone, expected = "", "phone_missing"
        elif i % 83 == 5:
            phone, expected = "call me", "phone_unparseable"
        elif i % 79 == 3 and i > 10:
            phone, expected = phone_for(i - 10), "merged"  # a duplicate of an earlier row
        elif i % 73 == 2:
            zone, expected = "Mars/Olympus_Mons", "invalid_time_zone"
        elif i % 71 == 1:
            consent, expected = ("verbal-ish", "call", "2026-01-05"), "invalid_consent_type"
        elif i % 67 == 4:
            consent, expected = ("express_written", "form", "yesterday"), "invalid_consent_timestamp"
        elif i % 61 == 6:
            address = f"{i} Main St\nApt 4"  # a quoted newline: one row on two lines
        if expected == "merged" and phone not in stored:
            expected = "imported"  # the row it repeats was itself rejected
        writer.writerow(
            [
                phone,
                f"First{i}",
                f"Last{i}",
                f"lead{i}@example.com",
                "ACME",
                address,
                "Springfield",
                STATES[i % len(STATES)] if not zone else "",
                f"{10000 + i % 89999:05d}",
                zone,
                "renewal;2026",
                *consent,
                "2026-03-01",
                f"P-{i:07d}",
            ]
        )
        result.rows += 1
        if expected == "imported":
            stored.add(phone)
            result.imported += 1
        elif expected == "merged":
            result.merged += 1
        else:
            result.rejected[line] = expected
        line += address.count("\n")
    result.data = ("\ufeff" + out.getvalue()).encode()
    return result
