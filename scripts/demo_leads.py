"""Writes the demo's lead list and its sidecars (deterministic; rerun after changing it):

- ``examples/demo/leads.csv``: 1,000 rows in the import's CSV format, over every US time zone and
  30 states, with leads that have no consent, numbers that do not exist, and duplicate rows;
- ``examples/demo/dnc.txt``: numbers of some of those leads, for ``dialer dnc import``;
- ``examples/demo/invalid.txt``: the numbers the demo's simulated Telnyx says do not exist.

``DNC Scrubbed At`` is left empty: the demo stamps the day it runs (it stands in for your scrub
against the national registry, which the campaign requires within 31 days).

Run: ``python scripts/demo_leads.py`` (stdlib only).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "examples" / "demo"
ROWS = 1_000
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
# (state, area code, city, zone): every US zone, and states with calling rules of their own.
PLACES = (
    ("NY", "212", "New York", "America/New_York"),
    ("NJ", "201", "Jersey City", "America/New_York"),
    ("PA", "215", "Philadelphia", "America/New_York"),
    ("MA", "617", "Boston", "America/New_York"),
    ("RI", "401", "Providence", "America/New_York"),
    ("GA", "404", "Atlanta", "America/New_York"),
    ("FL", "305", "Miami", "America/New_York"),
    ("NC", "704", "Charlotte", "America/New_York"),
    ("OH", "216", "Cleveland", "America/New_York"),
    ("MI", "313", "Detroit", "America/New_York"),
    ("VA", "703", "Arlington", "America/New_York"),
    ("KY", "502", "Louisville", "America/New_York"),
    ("IL", "312", "Chicago", "America/Chicago"),
    ("TX", "214", "Dallas", "America/Chicago"),
    ("TN", "615", "Nashville", "America/Chicago"),
    ("MO", "314", "St. Louis", "America/Chicago"),
    ("MN", "612", "Minneapolis", "America/Chicago"),
    ("LA", "504", "New Orleans", "America/Chicago"),
    ("OK", "405", "Oklahoma City", "America/Chicago"),
    ("AL", "205", "Birmingham", "America/Chicago"),
    ("CO", "303", "Denver", "America/Denver"),
    ("UT", "801", "Salt Lake City", "America/Denver"),
    ("NM", "505", "Albuquerque", "America/Denver"),
    ("AZ", "602", "Phoenix", "America/Phoenix"),
    ("CA", "415", "San Francisco", "America/Los_Angeles"),
    ("WA", "206", "Seattle", "America/Los_Angeles"),
    ("OR", "503", "Portland", "America/Los_Angeles"),
    ("NV", "702", "Las Vegas", "America/Los_Angeles"),
    ("AK", "907", "Anchorage", "America/Anchorage"),
    ("HI", "808", "Honolulu", "Pacific/Honolulu"),
)
FIRST = ("Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances")
LAST = ("Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson")
CONSENT = ("express_written", "web form", "2026-01-05T10:00:00Z")


def phone(area: str, j: int) -> str:
    """A distinct, valid number of ``area`` for each j (exchanges 2xx-9xx, never 555 or N11)."""
    exchange = 201 + (j % 700)
    if exchange % 100 == 11 or exchange == 555:
        exchange += 1
    return f"+1{area}{exchange}{1000 + j // 700:04d}"


def main() -> None:
    """Write the three files."""
    rng = random.Random(2026)
    OUT.mkdir(parents=True, exist_ok=True)
    rows, dnc, invalid = [], [], []
    for i in range(ROWS):
        state, area, city, zone = PLACES[i % len(PLACES)]
        number = phone(area, i // len(PLACES))
        consent = CONSENT
        if i % 25 == 3:
            dnc.append(number)  # on the tenant's DNC list before the campaign starts
        elif i % 25 == 8:
            consent = ("", "", "")  # no consent on record: never dialled
        elif i % 33 == 5:
            invalid.append(number)  # the simulated carrier says it does not exist
        elif i % 50 == 17 and rows:
            number = rows[rng.randrange(len(rows))][0]  # a duplicate row: merged by the import
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        rows.append(
            [
                number,
                first,
                last,
                f"{first}.{last}{i}@example.com".lower(),
                "Acme Insurance",
                f"{100 + i} Main St",
                city,
                state,
                f"{10000 + i * 37 % 89999:05d}",
                zone,
                "renewal;demo",
                *consent,
                "",
                f"P-{i + 1:07d}",
            ]
        )
    with (OUT / "leads.csv").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    (OUT / "dnc.txt").write_text("\n".join(dnc) + "\n")
    (OUT / "invalid.txt").write_text("\n".join(invalid) + "\n")
    print(f"{len(rows)} rows, {len(dnc)} on DNC, {len(invalid)} invalid -> {OUT}")


if __name__ == "__main__":
    main()
