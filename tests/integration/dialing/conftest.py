"""The dialing engine in-process: the real dispatcher, dialer, event processor and reaper services
on moto (tables and queues from template.yaml), with the Telnyx simulator as Telnyx.

The simulator is the ground truth of what was dialled: every call it placed carries the
``client_state`` the dialer sent, which names the attempt. Webhooks are delivered by the simulator
(signed, retried, optionally duplicated and reordered) to a verifying receiver; the harness feeds
what arrived to the event processor, as the intake → SQS path would.

Time: the engine's clock is shifted to a Wednesday afternoon in the US (every US zone inside its
legal window), so the tests pass whatever the wall clock says; the dial-rate limiter and leases
use real seconds, as they do in production.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local.moto_dynamo import serialised_dynamodb
from local.simulator import AccountConfig, Simulator, SimulatorConfig, WebhookReceiver
from tests.support.aws import MotoStack, drain

TENANT = "dial-co"
ASSISTANT = "assistant-dial-0001"
CALLER_IDS = (("cid_ny", "+12125550100"), ("cid_fl", "+13055550100"), ("cid_ca", "+14155550100"))
AREA_CODES = ("212", "305", "415", "512", "312", "303", "602", "206", "404", "617")
FAST = 0.0005  # a two-minute conversation plays in 60 ms


def afternoon_offset(now: datetime | None = None) -> timedelta:
    """How far to shift the clock to reach the next Wednesday 15:00 in Chicago (legal everywhere
    in the contiguous US, Alaska and Hawaii)."""
    from zoneinfo import ZoneInfo

    current = (now or datetime.now(UTC)).astimezone(ZoneInfo("America/Chicago"))
    target = current.replace(hour=15, minute=0, second=0, microsecond=0)
    target += timedelta(days=(2 - target.weekday()) % 7 or 7)
    return target - current


class ShiftedClock:
    """Real time plus an offset (the offset can be moved, e.g. to jump past a retry delay)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def phone(i: int) -> str:
    """A valid, unique US number for lead ``i``, spread over area codes (and so zones)."""
    area = AREA_CODES[i % len(AREA_CODES)]
    return f"+1{area}{201 + i // 10000}{i % 10000:04d}"


class SimAccounts:
    """The tenant's Telnyx client, on the simulator (the engine's retries are its own: none here)."""

    def __init__(self, sim: Simulator, wrap: Callable[[Any], Any] | None = None) -> None:
        from telnyx_client.client import TelnyxClient

        self.client = TelnyxClient(sim.api_key, sim.base_url, timeout=2.0, max_retries=0)
        self.wrapped = wrap(self.client) if wrap else self.client

    def client_for(self, tenant_id: str) -> Any:
        return self.wrapped


@dataclass
class Harness:
    """The engine wired on moto and the simulator, plus pumps that play the AWS event sources."""

    stack: MotoStack
    sim: Simulator
    receiver: WebhookReceiver
    clock: ShiftedClock
    telnyx: SimAccounts
    tenant: str = TENANT
    table_name: str = ""
    processed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        from dialer.adapters.calls_table import CallsTable
        from dialer.adapters.campaigns_table import CampaignsTable
        from dialer.adapters.dialing_table import DialingTable, TenantLimits
        from dialer.adapters.management_table import ManagementTable
        from dialer.adapters.people_table import ContactHistory, DncTable
        from dialer.adapters.queue import JobsQueue
        from dialer.services.lead_effects import CallOutcomes
        from dialer.services.processing import EventProcessor

        table = self.table_name
        self.sqs = boto3.client("sqs")
        self.dials_url = self.stack.physical["DialsQueue"]
        drain(self.sqs, self.dials_url, max_messages=100_000)
        self.dialing = DialingTable(table)
        self.campaigns = CampaignsTable(table)
        self.management = ManagementTable(table)
        self.dnc = DncTable(table)
        self.history = ContactHistory(table)
        self.calls = CallsTable(table)
        self.jobs = JobsQueue(self.dials_url)
        self.defaults = TenantLimits(
            channel_limit=10, dials_per_second=30, dials_per_5s=150, connection_id="conn-1"
        )
        self.processor = EventProcessor(
            calls=self.calls,
            payloads=_NoPayloads(),
            settler=CallOutcomes(self.dialing, self.campaigns, self.history, self.clock),
            reader=self.calls,
        )

    # --- setup ------------------------------------------------------------------------------------
    def seed_tenant(
        self, *, channel_limit: int = 10, dials_per_second: int = 30, dials_per_5s: int = 150
    ) -> None:
        from dialer.adapters.management_table import AssistantMirror, CallerIdRecord
        from dialer.adapters.tenants_table import TenantRecord, TenantsTable
        from dialer.domain.tenants import TenantStatus

        now = self.clock().isoformat()
        TenantsTable(self.table_name).create_tenant(
            TenantRecord(self.tenant, "Dial Co", TenantStatus.ACTIVE, now)
        )
        self.dialing.set_tenant_limits(
            self.tenant,
            channel_limit=channel_limit,
            dials_per_second=dials_per_second,
            dials_per_5s=dials_per_5s,
            call_control_connection_id="conn-1",
        )
        self.management.put_mirror(
            AssistantMirror(self.tenant, ASSISTANT, "Ava", "v1", "main", "texml-1", now, now)
        )
        for caller_id, number in CALLER_IDS:
            self.management.put_caller_id(
                CallerIdRecord(self.tenant, caller_id, number, 100_000, True, now, now), new=True
            )

    def campaign(self, count: int, *, start: int = 0, status: str = "active", **config: Any) -> str:
        """A campaign with ``count`` consented, scrubbed leads (through the real lead service)."""
        from dialer.adapters.campaigns_table import CampaignRecord
        from dialer.domain.campaigns import CampaignConfig, CampaignStatus
        from dialer.services.campaign_models import LeadInput
        from dialer.services.campaigns import CampaignsService, new_id
        from dialer.services.leads import LeadsService

        now = self.clock()
        campaign_id = new_id("cmp")
        body = {"name": "Race", "assistant_id": ASSISTANT, "caller_ids": [c for c, _ in CALLER_IDS], **config}
        record = CampaignRecord(
            self.tenant,
            campaign_id,
            CampaignStatus.DRAFT,
            CampaignConfig.model_validate(body),
            now.isoformat(),
            now.isoformat(),
        )
        assert self.campaigns.put_campaign(record)
        service = CampaignsService(self.tenant, self.campaigns, self.management, clock=self.clock)
        leads = LeadsService(self.tenant, self.campaigns, service, clock=self.clock)
        for i in range(start, start + count, 1000):
            batch = [
                LeadInput.model_validate(
                    {
                        "phone": phone(j),
                        "first_name": f"Lead{j}",
                        "consent": {
                            "type": "express_written",
                            "source": "web",
                            "granted_at": (now - timedelta(days=3)).isoformat(),
                        },
                        "dnc_scrubbed_at": (now - timedelta(days=1)).isoformat(),
                    }
                )
                for j in range(i, min(start + count, i + 1000))
            ]
            result = leads.add_batch(campaign_id, batch)
            assert result.rejected == 0, result.errors[:3]
        if status != "draft":
            self.move(campaign_id, CampaignStatus(status))
        return campaign_id

    def move(self, campaign_id: str, status: Any) -> None:
        from dataclasses import replace

        record = self.campaigns.get_campaign(self.tenant, campaign_id)
        assert record is not None
        moved = replace(record, status=status, updated_at=self.clock().isoformat(timespec="milliseconds"))
        assert self.campaigns.put_campaign(moved, expect_updated_at=record.updated_at)

    # --- engine -----------------------------------------------------------------------------------
    def dispatcher(
        self,
        *,
        tick_seconds: float = 0.2,
        owner: str | None = None,
        due_staleness_seconds: float = 5.0,
        **config: Any,
    ) -> Any:
        from dialer.services.dispatcher import Dispatcher, DispatcherConfig

        return Dispatcher(
            dialing=self.dialing,
            campaigns=self.campaigns,
            dnc=self.dnc,
            history=self.history,
            jobs=self.jobs,
            config=DispatcherConfig(
                defaults=self.defaults,
                tick_seconds=tick_seconds,
                loop_seconds=1.0,
                completion_check_seconds=0.0,
                due_staleness_seconds=due_staleness_seconds,
                **config,
            ),
            clock=self.clock,
            owner=owner or "harness",  # successive instances of one test share the tenant's lease
        )

    def dialer(self, telnyx: Any = None) -> Any:
        from dialer.services.dialer import Dialer, DialerConfig

        return Dialer(
            dialing=self.dialing,
            campaigns=self.campaigns,
            management=self.management,
            dnc=self.dnc,
            history=self.history,
            telnyx=telnyx or self.telnyx,
            jobs=self.jobs,
            config=DialerConfig(
                api_url=self.receiver.url,
                defaults=self.defaults,
                time_limit_seconds=120,
                grace_seconds=30,
                command_id_window_seconds=60.0,
                post_timeout_seconds=2.0,
                max_wait_seconds=2.0,
            ),
            clock=self.clock,
        )

    def reaper(self) -> Any:
        from dialer.services.reaper import Reaper, ReaperConfig

        return Reaper(
            dialing=self.dialing,
            campaigns=self.campaigns,
            calls=self.calls,
            telnyx=self.telnyx,
            jobs=self.jobs,
            config=ReaperConfig(
                claim_timeout_seconds=0,
                command_id_window_seconds=60,
                time_limit_seconds=120,
                grace_seconds=30,
            ),
            clock=self.clock,
        )

    def pump_dials(
        self,
        dialers: list[Any],
        *,
        workers: int = 4,
        redeliver: Callable[[int], bool] = lambda i: False,
        max_idle_rounds: int = 3,
        should_stop: Callable[[], bool] = lambda: False,
        webhooks: bool = True,
    ) -> Counter[str]:
        """Play SQS → dialer: receive batches, run each record on a worker thread (dialers round
        robin), delete what succeeded. ``redeliver(i)`` makes the i-th handled message come back
        once more (an injected SQS redelivery). Stops after ``max_idle_rounds`` empty receives."""
        results: Counter[str] = Counter()
        handled = 0
        idle = 0
        from dialer.services.dialer import DialJob

        with ThreadPoolExecutor(max_workers=workers) as pool:
            while idle < max_idle_rounds and not should_stop():
                got = self.sqs.receive_message(
                    QueueUrl=self.dials_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0
                ).get("Messages", [])
                if not got:
                    idle += 1
                    if webhooks:
                        self.deliver_webhooks()
                    threading.Event().wait(0.3)
                    continue
                idle = 0
                futures = []
                for m in got:
                    dialer = dialers[handled % len(dialers)]
                    again = redeliver(handled)
                    handled += 1
                    futures.append((m, again, pool.submit(_handle, dialer, DialJob.from_json(m["Body"]))))
                done = []
                for m, again, future in futures:
                    result = future.result()
                    results[result] += 1
                    if result == "crashed" or again:
                        # Not acked: SQS hands it out again (visibility timeout cut to now).
                        self.sqs.change_message_visibility(
                            QueueUrl=self.dials_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                        )
                        continue
                    done.append({"Id": str(len(done)), "ReceiptHandle": m["ReceiptHandle"]})
                for i in range(0, len(done), 10):
                    self.sqs.delete_message_batch(QueueUrl=self.dials_url, Entries=done[i : i + 10])
        return results

    def deliver_webhooks(self) -> int:
        """Feed the webhooks that reached the receiver since the last call to the event processor."""
        with self.lock:
            items = self.receiver.items()[self.processed :]
            self.processed += len(items)
        for item in items:
            if item.verified and 200 <= item.status < 300:
                self.process(item)
        return len(items)

    def process(self, item: Any) -> None:
        """Apply one webhook the receiver took (for the tenant of its path) with the processor."""
        from dialer.domain.webhook_message import WebhookMessage

        message = WebhookMessage(
            tenant_id=item.path.rstrip("/").rsplit("/", 1)[-1],
            event_id="",
            event_type="",
            content_type=item.headers.get("content-type", "application/json"),
            received_at="",
            signed_at=0,
            body=item.body.decode(),
            body_bytes=len(item.body),
        )
        self.processor.process(message.to_json())

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until the simulator has played every call out, then apply every webhook."""
        self.sim.wait_idle(timeout)
        self.deliver_webhooks()

    # --- ground truth -----------------------------------------------------------------------------
    def sim_attempts(self) -> Counter[str]:
        """Calls the simulator placed, per attempt named in their client_state."""
        from telnyx_client.client_state import decode_client_state

        placed: Counter[str] = Counter()
        account = self.sim.account()
        with account.lock:
            states = [c.client_state for c in account.calls.values() if c.kind == "call_control"]
        for state in states:
            doc = decode_client_state(state)
            assert isinstance(doc, dict), state
            placed[f"{doc['l']}#attempt-{doc['n']}"] += 1
        return placed

    def leads(self, campaign_id: str) -> list[dict[str, Any]]:
        """Every lead item of a campaign (gsi2, by id)."""
        from dialer import keys

        out: list[dict[str, Any]] = []
        after = None
        index = keys.campaign_leads_index(self.tenant, campaign_id)
        while True:
            page, after = self.campaigns.ops.query(
                "gsi2pk", index["gsi2pk"], index="gsi2", sk_name="gsi2sk", after=after, limit=1000
            )
            out.extend(page)
            if after is None:
                return out


class _NoPayloads:
    def get(self, key: str) -> bytes:  # pragma: no cover - every body is inline here
        raise AssertionError("no claim-checked bodies in these tests")


def _handle(dialer: Any, job: Any) -> str:
    try:
        return str(dialer.handle(job).value)
    except Exception as exc:
        # By name: pytest may load this module twice (as conftest and by import).
        if type(exc).__name__ == "_Crash":
            return "crashed"
        raise


class _Crash(Exception):
    """A dialer that dies (after its POST, before its ack)."""


Crash = _Crash


@pytest.fixture(autouse=True)
def dynamodb_like_dynamodb() -> Iterator[None]:
    """moto, serialised per request and with DynamoDB's transaction semantics (threads below)."""
    with serialised_dynamodb():
        yield


@pytest.fixture(autouse=True)
def fresh_caller_id_pools() -> Iterator[None]:
    """A tenant's name can repeat across tests (its counter restarts with each test): a pool an
    earlier test cached (a process-wide cache) must not stand in for this test's counters."""
    from dialer.services.caller_id_health import forget_pools

    forget_pools()
    yield
    forget_pools()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rx = WebhookReceiver(public_keys=[]).start()
    yield rx
    rx.stop()


@pytest.fixture
def make_harness(
    aws: dict[str, Any], moto_stack: MotoStack, receiver: WebhookReceiver
) -> Iterator[Callable[..., Harness]]:
    """``make_harness(**simulator_config)``: a fresh simulator and an engine on a fresh tenant."""
    started: list[Simulator] = []
    counter = [0]

    def make(
        *,
        tenant: str | None = None,
        limits: dict[str, int] | None = None,
        webhooks: bool = True,
        **changes: Any,
    ) -> Harness:
        account = AccountConfig(
            api_key="KEY_DIAL",
            webhook_url=receiver.url + "/webhooks/telnyx/unused" if webhooks else None,
            channel_limit=changes.pop("channel_limit", 10),
            dials_per_second=changes.pop("dials_per_second", 30),
            dials_per_5s=changes.pop("dials_per_5s", 150),
        )
        config = SimulatorConfig(
            accounts=(account,),
            time_scale=changes.pop("time_scale", FAST),
            retry_delays_s=(1.0, 2.0),
            strict_assistant_ids=False,
            conversation_secs=(20.0, 60.0),
            **changes,
        )
        sim = Simulator(config).start()
        started.append(sim)
        receiver.public_keys.append(sim.public_key_for(account.api_key))
        counter[0] += 1
        clock = ShiftedClock(afternoon_offset())
        harness = Harness(
            moto_stack,
            sim,
            receiver,
            clock,
            SimAccounts(sim),
            tenant=tenant or f"{TENANT}-{counter[0]}-{id(sim) % 10000}",
            table_name=fresh_table(f"dialing-{counter[0]}-{id(sim) % 100000}"),
        )
        tables.append(harness.table_name)
        harness.seed_tenant(**(limits or {}))
        return harness

    tables: list[str] = []
    yield make
    for sim in started:
        sim.stop()
    for name in tables:
        boto3.client("dynamodb").delete_table(TableName=name)


def fresh_table(name: str) -> str:
    """A table of its own for one test, made from template.yaml's StateTable definition: moto
    answers index queries by scanning the whole table, so a small table keeps them fast."""
    from tests.support.aws import load_template

    props = load_template()["Resources"]["StateTable"]["Properties"]
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode=props["BillingMode"],
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
    )
    return name


def dump(value: Any) -> str:
    return json.dumps(value, default=str, indent=1)
