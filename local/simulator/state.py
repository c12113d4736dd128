"""In-memory state of each simulated Telnyx account, plus the ground truth tests read.

One :class:`Account` per API key. Everything of an account is guarded by its own lock: REST
handlers (one thread per request) and the playout (scheduler thread) both take it, and nothing
slow (HTTP, sleeps) ever runs while holding it.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from nacl.signing import SigningKey

from local.simulator.config import AccountConfig
from local.simulator.ground_truth import Dial, Mailbox
from local.simulator.wire import iso_now, new_numeric_id, new_uuid
from telnyx_client.signature import new_key_pair


@dataclass
class Stats:
    """Ground truth for one account (what the simulator did, not what a receiver saw)."""

    dials_accepted: int = 0
    texml_calls_accepted: int = 0
    rate_limited_429: int = 0
    command_id_replays: int = 0
    channel_limit_rejections: int = 0
    injected_5xx: int = 0
    injected_5xx_committed: int = 0
    slow_responses: int = 0
    requests: Counter[str] = field(default_factory=Counter)  # REST requests by handler (e.g. "dial")
    calls_by_number: Counter[str] = field(default_factory=Counter)
    scenarios: Counter[str] = field(default_factory=Counter)
    scenarios_by_number: dict[str, list[str]] = field(default_factory=dict)
    events_emitted: Counter[str] = field(default_factory=Counter)
    webhook_attempts: int = 0
    webhook_retries: int = 0
    webhook_failures: int = 0
    webhook_delivered: int = 0
    webhook_dropped: int = 0
    webhook_undeliverable: int = 0
    duplicates_sent: int = 0
    reordered: int = 0
    init_webhooks: int = 0
    # Our init webhook as Telnyx sees it: answer times (ms) of 2xx answers, and failures (non-2xx,
    # timeout, unreachable) after which Telnyx would start the call without the lead's data.
    init_answer_ms: list[float] = field(default_factory=list)
    init_failures: int = 0
    # Webhook tool calls made during conversations: "{tool}:{status}" → count; "{tool}:error"
    # when the request failed outright. And what the callees asked for, by number.
    tool_calls: Counter[str] = field(default_factory=Counter)
    opt_outs_requested: list[str] = field(default_factory=list)
    callbacks_requested: dict[str, list[str]] = field(default_factory=dict)
    scheduled_events_dispatched: int = 0
    inbound_calls: Counter[str] = field(default_factory=Counter)  # caller number → inbound calls placed
    # The most outbound calls alive at once, and the most alive while an inbound call was (what a
    # tenant's inbound_reserve must keep below its channel limit).
    peak_outbound: int = 0
    peak_outbound_with_inbound: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly copy."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, Counter):
                out[key] = dict(value)
            elif isinstance(value, dict):
                out[key] = {k: list(v) for k, v in value.items()}
            elif isinstance(value, list):
                out[key] = list(value)
            else:
                out[key] = value
        return out


@dataclass
class CallRecord:
    """One call leg and everything its playout needs."""

    account: Account
    call_control_id: str
    call_leg_id: str
    call_session_id: str
    kind: str  # "call_control" | "texml"
    connection_id: str
    from_: str
    to: str
    client_state: str | None
    scenario: str
    rng: random.Random
    direction: str = "outgoing"  # "incoming": a person called one of the account's numbers
    disposition: str = "interested"  # what the human says (drives transcript and insights)
    webhook_url: str | None = None
    webhook_urls: dict[str, str] = field(default_factory=dict)
    amd: str = "disabled"
    assistant: dict[str, Any] | None = None  # the dial's `assistant` object (id + overrides)
    assistant_known: bool = True
    timeout_secs: int = 30
    state: str = "initiated"  # initiated | answered | hangup
    generation: int = 0  # bumped when an action re-plans the call; stale steps become no-ops
    start_time: str = ""
    answered_time: str | None = None
    end_time: str | None = None
    sim_answered_at: float | None = None
    sim_now: float = 0.0
    conversation_id: str | None = None
    conversation_running: bool = False
    speaking: bool = False  # a speak action is being read out
    conversation_started_sim: float | None = None
    dynamic_variables: dict[str, Any] = field(default_factory=dict)
    conversation_metadata: dict[str, Any] = field(default_factory=dict)
    held: list[Any] = field(default_factory=list)  # deliveries held back to be reordered
    events: list[str] = field(default_factory=list)  # event types emitted, in order
    truth: dict[str, str] = field(default_factory=dict)  # what it sent: "cost" total, "disposition"
    # TeXML AI calls
    texml: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0
    command_ids: dict[str, tuple[float, int, dict[str, Any]]] = field(default_factory=dict)
    # Real monotonic seconds the call took a channel (placed → hangup): channel occupancy.
    placed_monotonic: float = 0.0
    ended_monotonic: float | None = None

    @property
    def end_user(self) -> str:
        """The person's number (``telnyx_end_user_target``): the callee, or the inbound caller."""
        return self.from_ if self.direction == "incoming" else self.to

    @property
    def agent(self) -> str:
        """Our number (``telnyx_agent_target``)."""
        return self.to if self.direction == "incoming" else self.from_

    @property
    def is_alive(self) -> bool:
        """A call is alive until its hangup."""
        return self.state != "hangup"

    def summary(self) -> dict[str, Any]:
        """Ground-truth view of the call."""
        return {
            "call_control_id": self.call_control_id,
            "kind": self.kind,
            "from": self.from_,
            "to": self.to,
            "scenario": self.scenario,
            "state": self.state,
            "conversation_id": self.conversation_id,
            "events": list(self.events),
            "truth": dict(self.truth),
        }


class Account:
    """A Telnyx account: config, signing key, REST state, limits and ground truth."""

    def __init__(self, config: AccountConfig, account_index: int, seed: int) -> None:
        self.config = config
        self.index = account_index
        self.lock = threading.RLock()
        self.rng = random.Random(f"{seed}:account:{account_index}")
        self.account_sid = str(self.rng.getrandbits(128))[:20]
        signing_key, public_b64 = new_key_pair()
        self.signing_key: SigningKey = signing_key
        self.public_key_b64 = public_b64
        self.stats = Stats()
        self.assistants: dict[str, dict[str, Any]] = {}  # id → main version
        self.versions: dict[str, dict[str, dict[str, Any]]] = {}  # id → version_id → snapshot
        self.scheduled_events: dict[str, dict[str, dict[str, Any]]] = {}  # assistant id → event id → event
        self.calls: dict[str, CallRecord] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.conversation_insights: dict[str, list[dict[str, Any]]] = {}
        self.insights: dict[str, dict[str, Any]] = {}
        self.insight_groups: dict[str, dict[str, Any]] = {}
        self.texml_apps: set[str] = set()
        self.phone_numbers: dict[str, dict[str, Any]] = {}
        self.dial_times: deque[float] = deque()  # monotonic times of accepted dials (last 5 s)
        self.dial_replays: dict[str, tuple[float, int, dict[str, Any]]] = {}  # command_id → first response
        self.number_attempts: Counter[str] = Counter()
        self.dials: list[Dial] = []  # ground truth: every placed call, in order
        self.mailboxes: dict[str, Mailbox] = {}  # call_control_id → a machine answer's mailbox
        self.on_call_end: dict[str, Any] = {}  # call_control_id → callback(call, cause) (scheduled events)
        self._seed_defaults()

    def _seed_defaults(self) -> None:
        """What a fresh account already has: its numbers and a default insight group."""
        now = iso_now()
        for number in self.config.phone_numbers:
            number_id = new_numeric_id(self.rng)
            self.phone_numbers[number_id] = {
                "id": number_id,
                "record_type": "phone_number",
                "phone_number": number,
                "status": "active",
                "tags": [],
                "external_pin": None,
                "connection_id": None,
                "connection_name": None,
                "customer_reference": None,
                "messaging_profile_id": None,
                "messaging_profile_name": None,
                "billing_group_id": None,
                "emergency_enabled": False,
                "emergency_address_id": None,
                "call_forwarding_enabled": True,
                "cnam_listing_enabled": False,
                "caller_id_name_enabled": False,
                "call_recording_enabled": False,
                "t38_fax_gateway_enabled": False,
                "phone_number_type": "local",
                "inbound_call_screening": "disabled",
                "deletion_lock_enabled": False,
                "hd_voice_enabled": False,
                "country_iso_alpha2": "US",
                "purchased_at": now,
                "created_at": now,
                "updated_at": now,
                "source_type": "number_order",
            }
        self.default_insight_id = new_uuid(self.rng)
        self.default_group_id = new_uuid(self.rng)
        summary = {
            "id": self.default_insight_id,
            "name": "Summary",
            "instructions": "Summarize the conversation.",
            "insight_type": "default",
            "json_schema": "",
            "webhook": "",
            "created_at": now,
        }
        self.insights[summary["id"]] = summary
        self.insight_groups[self.default_group_id] = {
            "id": self.default_group_id,
            "name": "Default",
            "description": "Default insights",
            "webhook": "",
            "created_at": now,
            "insights": [summary],
        }

    def live_calls(self) -> int:
        """Calls not yet hung up (the channel-limit count)."""
        return sum(1 for c in self.calls.values() if c.is_alive)

    def note_peaks(self) -> None:
        """Record the outbound peaks after a call was placed (caller holds the lock)."""
        alive = [c for c in self.calls.values() if c.is_alive]
        outbound = sum(1 for c in alive if c.direction != "incoming")
        self.stats.peak_outbound = max(self.stats.peak_outbound, outbound)
        if len(alive) > outbound:
            self.stats.peak_outbound_with_inbound = max(self.stats.peak_outbound_with_inbound, outbound)

    def known_connection(self, connection_id: str) -> bool:
        """True when dials may use ``connection_id`` (any id if the account lists none)."""
        return (
            not self.config.connection_ids
            or connection_id in self.config.connection_ids
            or (connection_id in self.texml_apps)
        )
