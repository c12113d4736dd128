"""A realistic :class:`ReportData` for the report's tests: a 400-lead A/B campaign that ran for a
few minutes at its dial limit, with retries, DNC and no-consent blocks, invalid numbers, calls
overlapping up to the channel limit, and the stats API's cost and disposition figures.
Deterministic (seeded), so a test can assert on exact counts."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer_cli.report.model import ReportData

START = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
VARIANTS = ("asst-a", "asst-b")
DIAL_LIMIT_PER_MINUTE = 120  # 2 dials/s
CHANNELS = 20


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


#: The campaign's pool as GET /caller-ids shows it: one healthy number, one the rule rested.
CALLER_IDS: list[dict[str, Any]] = [
    {
        "id": "cid_a",
        "phone_number": "+12125550100",
        "enabled": True,
        "health": {"state": "active", "calls": 73, "answer_rate": 0.4521, "short_share": 0.0606},
    },
    {
        "id": "cid_b",
        "phone_number": "+12125550101",
        "enabled": True,
        "health": {
            "state": "rested",
            "calls": 0,
            "answer_rate": None,
            "short_share": None,
            "rested_until": "2026-11-25T21:05:00.000000Z",
            "rest_reason": "answer rate 4% over its last 50 calls, below 50% of the pool's 45% (73 calls)",
            "rested_by": "health",
            "rested_at": "2026-11-24T21:05:00.000000Z",
        },
    },
]


def report_data(leads: int = 400, seed: int = 12, with_stats: bool = True) -> ReportData:
    rng = random.Random(seed)
    clock = START
    live: list[datetime] = []  # end times of calls in progress
    details: list[dict[str, Any]] = []
    outcomes: Counter[str] = Counter()
    for i in range(leads):
        lead_id = f"lead-{i:04d}"
        variant = VARIANTS[i % 2]
        history: list[dict[str, Any]] = []
        status, reasons = "exhausted", []
        if i % 20 == 3:
            status, reasons = "blocked", ["dnc"]
        elif i % 20 == 7:
            status, reasons = "blocked", ["no_consent"]
        else:
            reach_p = 0.45 if variant == "asst-a" else 0.30
            for n in range(1, 4):
                clock += timedelta(seconds=rng.uniform(0.4, 0.6))  # just under the 2/s limit
                live = [end for end in live if end > clock]
                if len(live) >= CHANNELS:
                    clock = min(live)
                    live = [end for end in live if end > clock]
                if i % 20 == 11:
                    outcome = "invalid_number"
                elif rng.random() < reach_p:
                    outcome = "answered_human"
                else:
                    outcome = rng.choice(("no_answer", "busy", "voicemail"))
                duration = rng.uniform(20, 90) if outcome == "answered_human" else rng.uniform(2, 25)
                ended = clock + timedelta(seconds=duration)
                live.append(ended)
                outcomes[outcome] += 1
                history.append(
                    {
                        "n": n,
                        "state": "ended",
                        "assistant_id": variant,
                        "caller_id_id": CALLER_IDS[(i + n) % 2]["id"],
                        "call_control_id": f"v3:{lead_id}-{n}",
                        "claimed_at": _iso(clock - timedelta(seconds=0.2)),
                        "accepted_at": _iso(clock),
                        "ended_at": _iso(ended),
                        "outcome": outcome,
                        "duration_s": round(duration),
                        "callback": False,
                    }
                )
                if outcome == "invalid_number":
                    status = "invalid"
                    break
                if outcome == "answered_human":
                    status = "reached"
                    break
        details.append(
            {
                "id": lead_id,
                "campaign_id": "camp-1",
                "phone": f"+1212{2010000 + i}",
                "status": status,
                "last_reasons": reasons,
                "attempts": len(history),
                "history": history,
            }
        )
    by_state = Counter(d["status"] for d in details)
    dials = sum(outcomes.values())
    campaign = {
        "id": "camp-1",
        "name": "Renewals <November> & co",  # markup in a name must come out escaped
        "status": "completed",
        "lead_count": leads,
        "assistant_variants": [{"assistant_id": v, "weight": 50} for v in VARIANTS],
        "budget": {"max_cost": 25.0, "currency": "USD"},
    }
    progress = {
        "campaign_id": "camp-1",
        "status": "completed",
        "lead_count": leads,
        "leads_by_state": dict(by_state),
        "outcomes": dict(outcomes),
        "deferred_by_reason": {"outside_window": 0},
        "dial_limit_per_minute": DIAL_LIMIT_PER_MINUTE,
        "dials_last_minute": 0,
        "dials_total": dials,
        "due_now": 0,
        "in_flight": 0,
        "slot_limit": CHANNELS,
        "slots_in_use": 0,
    }
    stats = None
    if with_stats:
        human = outcomes["answered_human"]
        total = 0.011 * dials + 0.09 * human
        stats = {  # the shape of GET /campaigns/{id}/stats (money as decimal strings)
            "calls": {
                "by_disposition": {
                    "interested": human // 3,
                    "not_interested": human // 3,
                    "callback_requested": human // 6,
                    "do_not_call": human - 2 * (human // 3) - human // 6,
                    "voicemail_left": outcomes["voicemail"],
                },
                "cost_total": f"{total:.4f}",
                "cost_per_call": f"{total / dials:.4f}",
                "cost_per_connected_minute": "0.1123",
                "cost_by_outcome": {
                    k: f"{v * (0.1 if k == 'answered_human' else 0.011):.4f}" for k, v in outcomes.items()
                },
            },
            "timeline": [
                {
                    "hour": "2026-11-24T21:00:00Z",
                    "calls": dials,
                    "connected": human + outcomes["voicemail"],
                    "answered_human": human,
                    "converted": human // 3,
                    "cost": f"{total:.4f}",
                }
            ],
        }
    return ReportData(
        campaign=campaign,
        progress=progress,
        leads=details,
        generated_at="2026-11-24T21:10:00+00:00",
        stats=stats,
        assistants={"asst-a": "Renewal reminder", "asst-b": "Renewal reminder (direct)"},
        api_url="http://127.0.0.1:3000",
        caller_ids=CALLER_IDS,
    )
