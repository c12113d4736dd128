"""Event ids carry their time (a UUIDv7 after ``evt_``), so an event's key, its tenant's day and a
shard, comes from the id alone; a previous release's uuid4 id is told apart by its version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from dialer import keys
from dialer.domain.event_webhooks import event_created_at, new_event_id


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 6, 23, 59, 59, 999999, tzinfo=UTC),  # the last microsecond of a day
        datetime(2026, 12, 7, 0, 0, 0, tzinfo=UTC),
        datetime(2027, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    ],
)
def test_an_id_gives_back_its_created_at_and_so_its_day(at: datetime) -> None:
    event_id, created_at = new_event_id(at)
    # the millisecond, never rounded up into the next one (or the next day)
    assert created_at == at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}000Z"
    assert event_created_at(event_id) == created_at
    key = keys.webhook_event_key("t1", created_at, event_id)
    assert key["pk"].startswith(f"T#t1#WHEVT#{at.date().isoformat()}#")
    assert key["sk"] == f"{created_at}#{event_id}"


def test_an_id_is_a_uuid7_of_the_same_shape_as_before_and_sorts_by_time() -> None:
    earlier, _ = new_event_id(datetime(2026, 12, 6, 12, 0, 0, 1000, tzinfo=UTC))
    later, _ = new_event_id(datetime(2026, 12, 6, 12, 0, 0, 2000, tzinfo=UTC))
    for event_id in (earlier, later):
        assert event_id.startswith("evt_")
        assert len(event_id) == 36
        parsed = uuid.UUID(event_id[4:])
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert earlier < later
    # 74 random bits: ids of the same millisecond differ
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert len({new_event_id(at)[0] for _ in range(200)}) == 200


def test_the_shards_of_a_day_are_all_used() -> None:
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    shards = {keys.webhook_event_key("t1", *reversed(new_event_id(at)))["pk"] for _ in range(200)}
    assert len(shards) == keys.WEBHOOK_EVENT_SHARDS


UUID4 = uuid.UUID("9f1c2b3a-4d5e-4f60-8a7b-1c2d3e4f5a6b")  # a previous release's kind of id


@pytest.mark.parametrize(
    "event_id",
    # Fixed uuid4 ids, not fresh ones: pytest-xdist's workers must collect the same test ids.
    ["evt_" + UUID4.hex, "evt_x", "", "evt_" + "0" * 32, "EVT_" + UUID4.hex],
)
def test_any_other_id_carries_no_time(event_id: str) -> None:
    # a previous release's uuid4 id (version 4) is read at its old key, never a derived one
    assert event_created_at(event_id) is None
