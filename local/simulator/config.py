"""Configuration of the Telnyx simulator: accounts, scenario mix, delivery faults, limits.

Every knob has a default that behaves like a plain, healthy Telnyx account, so
``Simulator(SimulatorConfig())`` works out of the box. Times are in *simulated* seconds and are
multiplied by ``time_scale`` before they become real delays (``time_scale=0.01`` plays a
two-minute conversation in 1.2 s); HTTP-level numbers (webhook timeout, dial rate windows,
slow-response latency) are real seconds because they are about the wire, not about the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any


class Scenario(StrEnum):
    """How a dialled call plays out (what the callee does)."""

    HUMAN = "human"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"
    START_FAILED = "start_failed"


DEFAULT_MIX: dict[str, float] = {
    Scenario.HUMAN: 0.45,
    Scenario.VOICEMAIL: 0.2,
    Scenario.NO_ANSWER: 0.15,
    Scenario.BUSY: 0.08,
    Scenario.INVALID_NUMBER: 0.04,
    Scenario.FAILED: 0.05,
    Scenario.START_FAILED: 0.03,
}

DEFAULT_API_KEY = "KEYSIM_default"
INSIGHT_DELIVERIES = frozenset({"call_event", "group_webhook", "both"})
SPAM_RISKS = frozenset({"low", "medium", "high", None})  # ReputationData.spam_risk in the spec


@dataclass(frozen=True)
class AccountConfig:
    """One Telnyx account (tenant): its API key, limits and where events go by default.

    ``webhook_url`` stands in for the connection's webhook URL: it is used when a dial carries no
    ``webhook_url``. ``connection_ids`` empty means "accept any connection id"; otherwise dials
    and TeXML calls on an unknown id fail with 10015, as Telnyx does (assistants' auto-created
    TeXML apps are always known).
    """

    api_key: str = DEFAULT_API_KEY
    webhook_url: str | None = None
    channel_limit: int = 10
    dials_per_second: int = 30
    dials_per_5s: int = 150
    connection_ids: tuple[str, ...] = ()
    phone_numbers: tuple[str, ...] = ("+15550000100", "+15550000101", "+15550000102")
    # False: calls play out and events are counted, but no webhook is sent (load runs that
    # measure dialling alone, without the receiver's webhook path).
    deliver_webhooks: bool = True
    # Telnyx Number Reputation (issue 23): number (E.164) → its ``spam_risk`` (low, medium, high;
    # None: registered, no data collected yet). Keys are the monitored numbers
    # ``GET /v2/enterprises/{id}/reputation/numbers`` lists. ``reputation_enterprise_id``: the one
    # enterprise with reputation enabled (others answer 404, as Telnyx does); None accepts any id.
    spam_risk: dict[str, str | None] = field(default_factory=dict)
    reputation_enterprise_id: str | None = None

    def __post_init__(self) -> None:
        bad = {n: r for n, r in self.spam_risk.items() if r not in SPAM_RISKS}
        if bad:
            raise ValueError(f"spam_risk values must be low, medium, high or null: {bad}")


@dataclass
class SimulatorConfig:
    """Everything the simulator can be told; mutable at runtime through :meth:`Simulator.configure`.

    Scenario choice: ``number_scenarios`` (callee number → scenario) wins, then
    ``caller_scenarios`` (our caller ID → scenario), otherwise a weighted draw from
    ``scenario_mix``. All randomness derives from ``seed`` per account, callee number
    and attempt, so a run with the same dials gives the same outcomes whatever the thread timing.
    """

    accounts: tuple[AccountConfig, ...] = (AccountConfig(),)
    seed: int = 1
    time_scale: float = 1.0
    scenario_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    number_scenarios: dict[str, str] = field(default_factory=dict)
    # Caller ID (our ``from`` number) → scenario for every call it places, e.g. ``no_answer``: a
    # number carriers label "Spam Likely", whose calls nobody picks up (issue 23: caller-ID
    # health rests it). A callee's ``number_scenarios`` entry still wins (an invalid number is
    # invalid whoever calls it).
    caller_scenarios: dict[str, str] = field(default_factory=dict)
    # Delivery (webhooks)
    webhook_timeout_s: float = 2.0
    retry_delays_s: tuple[float, ...] = (1.0, 2.0, 4.0)  # simulated seconds; len + 1 = max attempts
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    extra_delay_s: float = 0.0  # simulated seconds added to every delivery, jittered 0..x
    delivery_workers: int = 6
    # REST faults
    error_5xx_rate: float = 0.0
    error_5xx_commit_fraction: float = 0.5  # share of injected 5xx on a dial where the call WAS placed
    slow_response_rate: float = 0.0
    slow_response_s: float = 0.0
    # Every dial (Call Control and TeXML AI) is refused with this status and places nothing: 401
    # a revoked key, 402 no balance, 403 a disabled account or connection (trips the circuit
    # breaker, issue 24). None: dials are answered as usual.
    dial_refusal_status: int | None = None
    # Behaviour
    command_id_window_s: float = 60.0
    strict_assistant_ids: bool = True  # dial with an unknown assistant id → conversation.start_failed
    conversation_secs: tuple[float, float] = (30.0, 150.0)
    # How long a mailbox waits for speech after its greeting before it hangs up (simulated s).
    mailbox_silence_secs: tuple[float, float] = (6.0, 14.0)
    # What answered humans conclude (playout.DISPOSITIONS → weight); None draws them uniformly.
    disposition_mix: dict[str, float] | None = None
    # Answered humans call the assistant's webhook tools (opt_out, schedule_callback,
    # set_disposition) during the conversation, as Telnyx would (WIRE §12.1).
    tool_calls: bool = True
    # Seconds from the start of the conversation to the callback a "callback_requested" person
    # asks for (the time they say; the tool gets it as an ISO 8601 local date-time).
    callback_after_s: float = 2 * 86400.0
    # Where a conversation's insight results go (WIRE §12.4): "call_event"
    # (``call.conversation_insights.generated``, no names), "group_webhook" (the insight group's
    # ``webhook`` URL, top-level ``conversation.insights.completed`` with ``insight_name``s), or
    # "both". A group without a webhook URL gets no group webhook, as on Telnyx.
    insight_delivery: str = "both"
    undocumented_fields: bool = True  # add the real-capture extras of WIRE §7.1 (calling_party_type, codec …)
    port: int = 0  # 0 = any free port; the server binds 127.0.0.1 only
    # Seconds added to the simulated wall clock (event timestamps, scheduled events), matching the
    # product's local-only CLOCK_OFFSET_SECONDS.
    clock_offset_s: float = 0.0

    def account_by_key(self) -> dict[str, AccountConfig]:
        """Accounts indexed by API key."""
        return {a.api_key: a for a in self.accounts}

    def updated(self, changes: dict[str, Any]) -> SimulatorConfig:
        """A copy with ``changes`` applied (unknown keys raise ``KeyError``; used by ``POST /_sim/config``)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise KeyError(f"unknown config keys: {sorted(unknown)}")
        values = dict(changes)
        if "scenario_mix" in values:
            values["scenario_mix"] = _check_mix(values["scenario_mix"])
        if values.get("disposition_mix") is not None:
            values["disposition_mix"] = check_disposition_mix(values["disposition_mix"])
        if "insight_delivery" in values and values["insight_delivery"] not in INSIGHT_DELIVERIES:
            raise ValueError(f"insight_delivery must be one of {sorted(INSIGHT_DELIVERIES)}")
        for name in ("number_scenarios", "caller_scenarios"):
            if name in values:
                values[name] = {k: Scenario(v).value for k, v in values[name].items()}
        if "accounts" in values:
            values["accounts"] = tuple(
                a if isinstance(a, AccountConfig) else AccountConfig(**_tuple_fields(a))
                for a in values["accounts"]
            )
        for name in ("retry_delays_s", "conversation_secs"):
            if name in values:
                values[name] = tuple(float(v) for v in values[name])
        return replace(self, **values)

    def public_dict(self) -> dict[str, Any]:
        """JSON-friendly view (API keys masked to the last 4 characters)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "accounts":
                value = [
                    {**{k: getattr(a, k) for k in a.__dataclass_fields__}, "api_key": "…" + a.api_key[-4:]}
                    for a in value
                ]
            out[f.name] = value
        return out


def _tuple_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}


def _check_mix(mix: dict[str, float]) -> dict[str, float]:
    checked = {Scenario(k).value: float(v) for k, v in mix.items()}
    if any(v < 0 for v in checked.values()) or sum(checked.values()) <= 0:
        raise ValueError("scenario_mix weights must be >= 0 and not all zero")
    return checked


def parse_mix(text: str) -> dict[str, float]:
    """Parse ``human=0.6,voicemail=0.2,busy=0.2`` (the CLI's ``--scenario-mix``)."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, _, weight = part.partition("=")
        mix[name.strip()] = float(weight)
    return _check_mix(mix)


def check_disposition_mix(mix: dict[str, float]) -> dict[str, float]:
    """Validate a disposition mix (names from ``playout.DISPOSITIONS``, weights ≥ 0, not all 0)."""
    from local.simulator.playout import DISPOSITIONS

    unknown = set(mix) - set(DISPOSITIONS)
    if unknown:
        raise ValueError(f"unknown dispositions: {sorted(unknown)}")
    checked = {k: float(v) for k, v in mix.items()}
    if any(v < 0 for v in checked.values()) or sum(checked.values()) <= 0:
        raise ValueError("disposition_mix weights must be >= 0 and not all zero")
    return checked
