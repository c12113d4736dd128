"""The dial-rate schedule shared by every dialer of a tenant: tokens never closer than the
interval, a full schedule refuses, a 429's hold pushes it forward, and a token costs one
conditional update when the dialer's guess of the schedule's state is right (no read)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from tests.integration.dialing.conftest import Harness


def _requests(table: Any) -> list[str]:
    seen: list[str] = []
    table.client.meta.events.register(
        "provide-client-params.dynamodb.*", lambda model, **_: seen.append(model.name)
    )
    return seen


def _one_claimed_lead(make_harness: Any, **options: Any) -> Harness:
    """A harness whose campaign has one lead, claimed by a dispatcher tick (its dial job queued)."""
    h: Harness = make_harness(**options)
    h.campaign(1)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    return h


def _recorded_waits(dialer: Any) -> list[float]:
    """The dialer's waits, recorded and not made."""
    waits: list[float] = []
    dialer.sleep = waits.append
    return waits


def test_dialers_sharing_a_schedule_never_get_tokens_closer_than_the_interval(make_harness: Any) -> None:
    from dialer.adapters.dialing_table import DialingTable

    # GIVEN two dialers (their own tables' state) on one tenant's schedule, 0.5 s apart, 2 s ahead
    h: Harness = make_harness()
    a, b = DialingTable(h.table_name), DialingTable(h.table_name)
    now, interval, ahead = 1_000_000.0, 0.5, 2.0

    # WHEN they take turns asking at the same instant until the schedule is full
    got: list[float] = []
    for i in range(12):
        token = (a if i % 2 else b).reserve_dial(h.tenant, now, interval, ahead)
        if token is None:
            break
        got.append(token)

    # THEN each instant is one interval after the last, from now, and only max_ahead's worth
    assert got == [now + k * interval for k in range(5)]
    assert a.reserve_dial(h.tenant, now, interval, ahead) is None
    # AND once the schedule has passed, the next token is "now" again (idle restart)
    assert b.reserve_dial(h.tenant, now + 10, interval, ahead) == now + 10


def test_a_hold_after_a_429_pushes_the_schedule_forward_never_back(make_harness: Any) -> None:
    from dialer.adapters.dialing_table import DialingTable

    h: Harness = make_harness()
    table = DialingTable(h.table_name)
    now = 2_000_000.0
    assert table.reserve_dial(h.tenant, now, 0.5, 2.0) == now
    table.hold_dials_until(h.tenant, now + 3.0)
    table.hold_dials_until(h.tenant, now + 1.0)  # an older hold does not pull it back
    # The schedule is 3 s ahead: more than max_ahead (2 s) away, so no token now
    assert table.reserve_dial(h.tenant, now, 0.5, 2.0) is None
    assert table.reserve_dial(h.tenant, now + 1.5, 0.5, 2.0) == now + 3.0


def test_a_lone_dialer_pays_one_request_per_token_and_a_full_schedule_one_refusal(make_harness: Any) -> None:
    from dialer.adapters.dialing_table import DialingTable

    h: Harness = make_harness()
    table = DialingTable(h.table_name)
    seen = _requests(table)
    now = 3_000_000.0

    # WHEN a dialer starts the schedule, keeps it running, is refused when it is full, and later
    # restarts it after it lapsed
    tokens = [table.reserve_dial(h.tenant, now, 0.5, 1.0) for _ in range(3)]
    refused = table.reserve_dial(h.tenant, now, 0.5, 1.0)
    later = table.reserve_dial(h.tenant, now + 60, 0.5, 1.0)

    # THEN five answers took five conditional updates, and nothing was read
    assert tokens == [now, now + 0.5, now + 1.0]
    assert refused is None
    assert later == now + 60
    assert seen == ["UpdateItem"] * 5


def test_a_dial_on_an_idle_schedule_takes_its_token_ahead_and_waits_for_it(make_harness: Any) -> None:
    """The token is taken a lead ahead of now, so the start transaction runs inside the lead and
    the POST goes at its instant: a schedule restarting from idle does not send its first dials
    late and bunched into Telnyx's rolling second."""
    from collections import Counter

    from dialer.services.dialer import _TOKEN_LEAD

    # GIVEN one claimed lead and a dialer whose waits are recorded
    h = _one_claimed_lead(make_harness)
    dialer = h.dialer()
    waits = _recorded_waits(dialer)

    # WHEN it dials on the tenant's idle schedule
    assert h.pump_dials([dialer], max_idle_rounds=1, webhooks=False) == Counter({"dialed": 1})

    # THEN it waited before the POST: what was left of the lead after its own work
    [waited] = waits
    assert 0 < waited <= _TOKEN_LEAD


def test_a_dial_whose_start_overran_its_token_takes_a_fresh_one(make_harness: Any) -> None:
    """A start transaction slower than the lead leaves the token in the past: the POST does not
    go late (it would crowd the next dials' rolling second), it takes a fresh token and waits."""
    import time
    from collections import Counter

    from dialer.services.dialer import _TOKEN_LEAD

    # GIVEN one claimed lead and a dialer whose start transaction takes 0.2 s (a slow DynamoDB)
    h = _one_claimed_lead(make_harness)
    dialer = h.dialer()
    waits = _recorded_waits(dialer)
    start = dialer.dialing.start_posting

    def slow_start(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.2)
        return start(*args, **kwargs)

    dialer.dialing.start_posting = slow_start  # type: ignore[method-assign]

    # WHEN it dials
    assert h.pump_dials([dialer], max_idle_rounds=1, webhooks=False) == Counter({"dialed": 1})

    # THEN it waited for a fresh token (the first was 0.2 s gone), and dialled once
    [waited] = waits
    assert 0 < waited <= _TOKEN_LEAD
    assert h.sim.dials()["count"] == 1


def test_a_dial_that_wakes_late_from_its_wait_takes_a_fresh_token(make_harness: Any) -> None:
    """A process that woke from its wait past the slack (paused, starved of CPU) waits again."""
    import time
    from collections import Counter

    from dialer.services.dialer import _TOKEN_LEAD

    # GIVEN one claimed lead and a dialer whose first wait oversleeps by 0.2 s
    h = _one_claimed_lead(make_harness)
    dialer = h.dialer()
    waits: list[float] = []

    def oversleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            time.sleep(seconds + 0.2)

    dialer.sleep = oversleep

    # WHEN it dials
    assert h.pump_dials([dialer], max_idle_rounds=1, webhooks=False) == Counter({"dialed": 1})

    # THEN it took a second token and waited for it before the POST
    assert len(waits) == 2
    assert all(0 < w <= _TOKEN_LEAD for w in waits)
    assert h.sim.dials()["count"] == 1


class _FirstPostFails:
    """The harness's Telnyx account, except that the first dial request fails the way
    ``fail(client, body)`` says (``client``: the real one, should the failure reach Telnyx): the
    repeat then goes through to the simulator."""

    def __init__(self, clients: Any, fail: Any) -> None:
        self.clients, self.fail, self.failed = clients, fail, False

    def client_for(self, tenant_id: str) -> Any:
        client = self.clients.client_for(tenant_id)
        if self.failed:
            return client
        self.failed = True
        return SimpleNamespace(
            texml=client.texml, calls=SimpleNamespace(dial=lambda body, **_: self.fail(client, body))
        )


def _dies_at_its_post(dialer: Any, job: Any) -> None:
    """The dialer handles ``job`` and dies at its POST (the test's ``Crash``)."""
    from tests.integration.dialing.conftest import Crash

    try:
        dialer.handle(job)
    except Crash:
        return
    raise AssertionError("the first POST should have died")


def _one_job(h: Harness) -> Any:
    from dialer.services.dialer import DialJob

    [message] = h.sqs.receive_message(QueueUrl=h.dials_url, MaxNumberOfMessages=10)["Messages"]
    return DialJob.from_json(message["Body"])


def _schedule_taken_for(h: Harness, seconds: float) -> None:
    """Other dials hold the tenant's schedule for the next ``seconds``."""
    import time

    assert h.dialing.reserve_dial(h.tenant, time.time() + seconds, 0.01, 5.0) is not None


def test_a_redelivered_job_repeats_its_post_only_at_its_own_tokens_instant(make_harness: Any) -> None:
    """A job whose dialer died as its POST went out comes back and finds the attempt `posting`:
    it repeats the POST (same command_id) at a token of its own, not at once (the first POST may
    never have reached Telnyx, so the repeat counts against the rate)."""
    from tests.integration.dialing.conftest import Crash

    # GIVEN a claimed lead whose first dialer died at its POST (the attempt stays `posting`)
    h = _one_claimed_lead(make_harness, webhooks=False)
    job = _one_job(h)

    def die(*_: Any) -> None:
        raise Crash("died with the POST out")

    dialer = h.dialer(telnyx=_FirstPostFails(h.telnyx, die))
    waits = _recorded_waits(dialer)
    _dies_at_its_post(dialer, job)
    # AND other dials hold the schedule for the next second
    _schedule_taken_for(h, 1.0)
    waits.clear()

    # WHEN the job comes back
    assert dialer.handle(job).value == "dialed"

    # THEN its repeat waited for the schedule (about a second), and Telnyx placed one call
    assert waits
    assert max(waits) > 0.8
    assert h.sim.dials()["count"] == 1


def test_a_job_redelivered_after_the_command_id_window_is_never_posted_again(make_harness: Any) -> None:
    """A job whose dialer died right after its POST comes back only once Telnyx's de-duplication
    window is over: a repeat could place a second call, so the attempt is left unconfirmed (its
    webhooks or the reaper settle it), never dialled again."""
    from tests.integration.dialing.conftest import Crash

    # GIVEN a claimed lead whose dialer died right after its POST placed the call
    h = _one_claimed_lead(make_harness, webhooks=False)
    job = _one_job(h)

    def placed_then_died(client: Any, body: Any) -> None:
        client.calls.dial(body)
        raise Crash("died after the POST")

    dialer = h.dialer(telnyx=_FirstPostFails(h.telnyx, placed_then_died))
    _recorded_waits(dialer)
    _dies_at_its_post(dialer, job)
    assert h.sim.dials()["count"] == 1

    # WHEN the job comes back after the command_id window (the engine's clock)
    h.clock.offset += timedelta(seconds=dialer.config.command_id_window_seconds + 1)
    result = dialer.handle(job)

    # THEN nothing is posted again: the attempt is unconfirmed, Telnyx got one dial request
    assert result.value == "unconfirmed"
    attempt = h.dialing.get_attempt(h.tenant, job.lead_id, job.n)
    assert attempt is not None
    assert attempt.state.value == "unconfirmed"
    assert h.sim.stats()["requests"]["dial"] == 1
    assert h.sim.dials()["count"] == 1


def test_a_post_repeated_after_a_transport_error_waits_for_its_own_tokens_instant(make_harness: Any) -> None:
    """A POST that got no answer is repeated (same command_id) at a token of its own."""
    from telnyx_client.errors import TelnyxTransportError

    # GIVEN a claimed lead whose first POST gets no answer, while other dials take the schedule
    # for the next one and a half seconds
    h = _one_claimed_lead(make_harness, webhooks=False)

    def no_answer(*_: Any) -> None:
        _schedule_taken_for(h, 1.5)
        raise TelnyxTransportError("connection reset")

    dialer = h.dialer(telnyx=_FirstPostFails(h.telnyx, no_answer))
    waits = _recorded_waits(dialer)

    # WHEN it dials
    assert dialer.handle(_one_job(h)).value == "dialed"

    # THEN besides its back-off (0.5 s) it waited for the schedule (about 1.5 s) before the
    # repeat, and Telnyx placed one call
    assert max(waits) > 1.2
    assert h.sim.dials()["count"] == 1


def test_a_post_whose_call_a_webhook_linked_meanwhile_is_not_repeated(make_harness: Any) -> None:
    """The first POST placed the call but its answer was lost; before the repeat, the call's
    `call.initiated` webhook linked the call to the attempt. The repeat is skipped: no second
    dial request, however harmless Telnyx's de-duplication would make it."""
    import time

    from telnyx_client.errors import TelnyxTransportError

    # GIVEN a claimed lead whose first POST reaches Telnyx (the call is placed) but whose answer
    # is lost, and whose call.initiated webhook is processed before the dialer repeats
    h = _one_claimed_lead(make_harness)

    def placed_then_lost(client: Any, body: Any) -> None:
        client.calls.dial(body)
        deadline = time.monotonic() + 10
        while not any(b"call.initiated" in item.body for item in h.receiver.items()):
            assert time.monotonic() < deadline, "the simulator sent no call.initiated"
            time.sleep(0.01)
        h.deliver_webhooks()
        raise TelnyxTransportError("connection reset")

    dialer = h.dialer(telnyx=_FirstPostFails(h.telnyx, placed_then_lost))
    _recorded_waits(dialer)

    # WHEN it dials
    result = dialer.handle(_one_job(h))

    # THEN the repeat was skipped: Telnyx got one dial request, no replay of its command_id
    assert result.value == "skipped"
    stats = h.sim.stats()
    assert stats["requests"]["dial"] == 1
    assert stats["command_id_replays"] == 0
