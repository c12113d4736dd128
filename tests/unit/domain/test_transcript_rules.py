"""Transcripts without AWS or Telnyx: the job, the key, the document, and the fetch policy
(retry an empty conversation, then settle it; skip an assistant that keeps no data) over
in-memory fakes of the ports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from dialer.domain.transcripts import (
    MalformedJob,
    TranscriptJob,
    give_up_waiting,
    job_for,
    retry_delay_seconds,
    transcript_document,
    transcript_key,
)
from dialer.errors import NotFound
from dialer.services.transcripts import FetchResult, TranscriptFetcher, TranscriptNotReady, Transcripts
from telnyx_client.models.assistants import Assistant
from telnyx_client.models.conversations import ConversationMessage

NEWEST_FIRST = [
    {"role": "user", "text": "Bye", "created_at": "2026-11-30T10:00:03Z", "sent_at": "2026-11-30T10:00:03Z"},
    {"role": "assistant", "text": "How can I help?", "created_at": "2026-11-30T10:00:02Z"},
    {"role": "user", "text": "Hi", "created_at": "2026-11-30T10:00:01Z"},
]
JOB = TranscriptJob("acme", "v3:call-1", "conv-1", "assistant-1")


def test_job_round_trips_and_rejects_what_is_not_a_job() -> None:
    assert TranscriptJob.from_json(JOB.to_json()) == JOB
    assert TranscriptJob.from_json(TranscriptJob("a", "c", "v").to_json()).assistant_id is None
    assert TranscriptJob.from_json(JOB.next_attempt().to_json()).attempt == 2
    bad_attempt = json.dumps({"tenant_id": "a", "call_control_id": "c", "conversation_id": "v", "attempt": 0})
    for body in ("nope", "[]", json.dumps({"tenant_id": "a", "call_control_id": "c"}), bad_attempt):
        with pytest.raises(MalformedJob):
            TranscriptJob.from_json(body)


def test_only_an_ended_conversation_calls_for_a_job() -> None:
    payload = {"conversation_id": "conv-1", "assistant_id": "assistant-1"}
    assert job_for("call.conversation.ended", "acme", "v3:call-1", payload) == JOB
    assert job_for("call.conversation.created", "acme", "v3:call-1", payload) is None
    assert job_for("call.conversation.ended", "acme", None, payload) is None
    assert job_for("call.conversation.ended", "acme", "v3:call-1", {}) is None


def test_key_is_one_per_call_under_its_tenant() -> None:
    assert transcript_key("acme", "v3:call-1") == "tenants/acme/transcripts/v3:call-1.json"
    assert transcript_key("acme", "v3:call-1") == transcript_key("acme", "v3:call-1")
    assert transcript_key("other", "v3:call-1") != transcript_key("acme", "v3:call-1")


def test_document_is_oldest_first_and_the_same_for_the_same_messages() -> None:
    # GIVEN Telnyx's newest-first page, once as it comes and once shuffled
    doc = transcript_document(call_id="v3:call-1", conversation_id="conv-1", messages=NEWEST_FIRST)
    shuffled = transcript_document(
        call_id="v3:call-1",
        conversation_id="conv-1",
        messages=[NEWEST_FIRST[1], NEWEST_FIRST[0], NEWEST_FIRST[2]],
    )
    # THEN both are oldest first, and identical (a retry writes the same bytes)
    assert [m["text"] for m in doc["messages"]] == ["Hi", "How can I help?", "Bye"]
    assert doc == shuffled
    assert "sent_at" not in doc["messages"][0]  # absent fields are not invented


def test_webhook_style_content_is_kept_as_text() -> None:
    doc = transcript_document(call_id="c", conversation_id="v", messages=[{"role": "user", "content": "Hi"}])
    assert doc["messages"] == [{"role": "user", "text": "Hi"}]


def test_give_up_after_max_tries_asking_less_and_less_often() -> None:
    assert not give_up_waiting(1, 5)
    assert not give_up_waiting(4, 5)
    assert give_up_waiting(5, 5)
    assert [retry_delay_seconds(n) for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 480, 900]
    assert retry_delay_seconds(20) == 900  # SQS's longest delay


# --- the fetcher, over fakes of its ports -------------------------------------------------------
@dataclass
class FakeCalls:
    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def get_call_item(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        return self.items.get((tenant_id, call_control_id))

    def set_transcript(self, tenant_id: str, call_control_id: str, **fields: Any) -> bool:
        item = self.items.get((tenant_id, call_control_id))
        if item is None:
            return False
        item.update({f"transcript_{k}": v for k, v in fields.items()})
        return True


@dataclass
class FakeStore:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    puts: int = 0

    def put(self, key: str, document: dict[str, Any]) -> None:
        self.puts += 1
        self.objects[key] = document

    def get(self, key: str) -> dict[str, Any] | None:
        return self.objects.get(key)


@dataclass
class FakeTelnyx:
    """A tenant's Telnyx: its assistants and conversations (what the simulator holds, in memory)."""

    messages: list[dict[str, Any]]
    retention: bool | None = True
    asked: int = 0

    def client_for(self, tenant_id: str) -> FakeTelnyx:
        return self

    @property
    def conversations(self) -> FakeTelnyx:
        return self

    @property
    def assistants(self) -> FakeTelnyx:
        return self

    def iter_messages(self, conversation_id: str) -> list[ConversationMessage]:
        self.asked += 1
        return [ConversationMessage.model_validate(m) for m in self.messages]

    def retrieve(self, assistant_id: str) -> Assistant:
        privacy = None if self.retention is None else {"data_retention": self.retention}
        return Assistant.model_validate({"id": assistant_id, "privacy_settings": privacy})


@dataclass
class FakeQueue:
    """The transcripts queue: jobs and their delays."""

    sent: list[tuple[TranscriptJob, int]] = field(default_factory=list)

    def request(self, job: TranscriptJob, *, delay_seconds: int = 0) -> None:
        self.sent.append((job, delay_seconds))


def fetcher(
    telnyx: FakeTelnyx, calls: FakeCalls, store: FakeStore, retry: FakeQueue | None = None
) -> TranscriptFetcher:
    return TranscriptFetcher(
        calls=calls,
        store=store,
        telnyx=telnyx,
        retry=retry,
        max_tries=3,
        clock=lambda: datetime(2026, 11, 30, tzinfo=UTC),
    )


def a_call() -> FakeCalls:
    return FakeCalls({("acme", "v3:call-1"): {"call_control_id": "v3:call-1"}})


def test_empty_conversation_is_asked_again_later_then_settled_without_storing() -> None:
    # GIVEN a conversation Telnyx has no messages for
    calls, store, telnyx, queue = a_call(), FakeStore(), FakeTelnyx(messages=[]), FakeQueue()
    # WHEN the job runs, THEN a delayed copy of it asks again (no failure, nothing stored)
    job = JOB
    for _ in range(2):
        assert fetcher(telnyx, calls, store, queue).fetch(job).result == FetchResult.ASK_AGAIN
        job = queue.sent[-1][0]
    assert [(j.attempt, d) for j, d in queue.sent] == [(2, 30), (3, 60)]
    assert "transcript_status" not in calls.items[("acme", "v3:call-1")]
    # WHEN the last ask is empty too, THEN the call says so, nothing was stored, nothing is sent
    assert fetcher(telnyx, calls, store, queue).fetch(job).result == FetchResult.EMPTY
    assert calls.items[("acme", "v3:call-1")]["transcript_status"] == "empty"
    assert (store.objects, len(queue.sent)) == ({}, 2)


def test_without_a_queue_not_ready_fails_the_record() -> None:
    calls, store, telnyx = a_call(), FakeStore(), FakeTelnyx(messages=[])
    with pytest.raises(TranscriptNotReady):
        fetcher(telnyx, calls, store).fetch(JOB)


def test_messages_that_arrive_late_are_stored_on_the_next_ask() -> None:
    calls, store, telnyx, queue = a_call(), FakeStore(), FakeTelnyx(messages=[]), FakeQueue()
    assert fetcher(telnyx, calls, store, queue).fetch(JOB).result == FetchResult.ASK_AGAIN
    telnyx.messages = NEWEST_FIRST
    fetched = fetcher(telnyx, calls, store, queue).fetch(queue.sent[0][0])
    assert (fetched.result, fetched.messages) == (FetchResult.STORED, 3)
    assert list(store.objects) == ["tenants/acme/transcripts/v3:call-1.json"]


def test_an_assistant_without_retention_is_never_asked_for_messages() -> None:
    calls, store, telnyx = a_call(), FakeStore(), FakeTelnyx(messages=NEWEST_FIRST, retention=False)
    assert fetcher(telnyx, calls, store).fetch(JOB).result == FetchResult.NOT_KEPT
    assert (telnyx.asked, store.objects) == (0, {})
    # AND the reader says why there is none
    with pytest.raises(NotFound, match="does not retain conversation data"):
        Transcripts("acme", calls=calls, store=store).of_call("v3:call-1")


def test_a_settled_call_is_not_fetched_again_and_an_unknown_call_not_at_all() -> None:
    calls, store, telnyx = a_call(), FakeStore(), FakeTelnyx(messages=NEWEST_FIRST)
    assert fetcher(telnyx, calls, store).fetch(JOB).result == FetchResult.STORED
    assert fetcher(telnyx, calls, store).fetch(JOB).result == FetchResult.ALREADY
    assert (telnyx.asked, store.puts) == (1, 1)
    other = TranscriptJob("other", "v3:call-1", "conv-1")
    assert fetcher(telnyx, calls, store).fetch(other).result == FetchResult.UNKNOWN_CALL
    with pytest.raises(NotFound, match="call v3:call-1 not found"):
        Transcripts("other", calls=calls, store=store).of_call("v3:call-1")
