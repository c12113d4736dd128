"""Inbound calls hold a channel slot while they last, so the tenant's slot counter is the one
truth about channels in use and the dialer's grant (``TenantLimits.outbound_limit``: channels
less ``inbound_reserve``) sees them.

Called from event processing's reaction hook for the call's lifecycle events. A slot is taken
(uncapped: the call is already there) while the inbound call has not ended, and given back on its
hangup; both are idempotent (one lease per call, ``SLOT#inbound:{call_control_id}``). A hangup
applied before a reordered ``call.initiated`` leaves the call ended, so no slot is taken after it;
a lease left behind by a crash or a race expires and the reaper gives it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from dialer.domain.calls import facts_of_item, summarize
from dialer.domain.outcomes import CallState

#: Longest an inbound call's slot is held without a hangup seen (Telnyx's own call time limit
#: default is 4 h; the assistant's time limit is shorter): then the reaper reclaims it.
INBOUND_LEASE = timedelta(hours=4)
INBOUND_PREFIX = "inbound:"


class Slots(Protocol):
    """The tenant's slot counter (``DialingTable``)."""

    def acquire_slot(self, tenant_id: str, attempt: str, limit: int | None, until: float) -> bool:
        """Hold a slot (``limit`` None: uncapped)."""
        ...

    def release_slot(self, tenant_id: str, attempt: str) -> bool:
        """Give it back (idempotent)."""
        ...


class InboundSlots:
    """Takes and gives back inbound calls' slots."""

    events = frozenset({"call.initiated", "call.answered", "call.hangup"})

    def __init__(self, slots: Slots, clock: Callable[[], datetime]) -> None:
        self.slots = slots
        self.clock = clock

    def after_event(self, tenant_id: str, event_type: str, call: Mapping[str, Any]) -> str | None:
        """Hold or release the inbound call's slot; None for outbound calls."""
        if event_type not in self.events or call.get("direction") != "incoming":
            return None
        lease = INBOUND_PREFIX + str(call["call_control_id"])
        if summarize(facts_of_item(call)).state == CallState.ENDED:
            return "inbound_slot_released" if self.slots.release_slot(tenant_id, lease) else None
        until = (self.clock() + INBOUND_LEASE).timestamp()
        self.slots.acquire_slot(tenant_id, lease, None, until)
        return "inbound_slot_held"


class Reactions:
    """Several reaction services behind event processing's one hook."""

    def __init__(self, *services: Any) -> None:
        self.services = services
        self.events = frozenset().union(*(s.events for s in services))

    def after_event(self, tenant_id: str, event_type: str, call: Mapping[str, Any]) -> str | None:
        """Each service that names the event, in order; what they did, joined."""
        done = [
            r
            for s in self.services
            if event_type in s.events and (r := s.after_event(tenant_id, event_type, call)) is not None
        ]
        return ",".join(done) or None
