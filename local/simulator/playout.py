"""Plays each call out as Telnyx would: timed steps that change state and emit webhooks.

A call is a chain of steps on the scheduler. Each step runs at a simulated offset (seconds since
the dial, multiplied by ``time_scale`` for the real delay), mutates the call under the account
lock, emits events and schedules the next step. An action (hangup, ai_assistant_start, transfer)
bumps ``call.generation``, which turns the pending step of the old plan into a no-op.

Call Control calls emit JSON ``call.*`` envelopes to the call's webhook URL. TeXML AI calls map
the same steps onto form-encoded status callbacks (StatusCallback / AsyncAmdStatusCallback) and
send conversation events as JSON envelopes to ConversationCallback (that body format is
UNVERIFIED in WIRE §12.2, so the JSON envelope is our choice).

Timestamps (``occurred_at``, ``Timestamp``) are wall-clock times of emission, so they stay in
order and never lie in the future; durations (``duration_sec``, ``billed_duration_secs``,
``CallDuration``) are in simulated seconds, so a scaled-down run still reports realistic numbers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from local.simulator.config import Scenario
from local.simulator.engine import Deliverer, Delivery, Scheduler
from local.simulator.ground_truth import Mailbox
from local.simulator.wire import iso, iso_now, new_uuid, render_template
from local.simulator.wire import now as wall_now

if TYPE_CHECKING:
    from local.simulator.config import SimulatorConfig
    from local.simulator.state import CallRecord

DISPOSITIONS = (
    "interested",
    "not_interested",
    "callback_requested",
    "appointment_set",
    "dnc",
    "wrong_number",
)
_USER_LINES = {
    "interested": ["Sure, go ahead.", "Yes, I'm interested. What are the next steps?", "That sounds good."],
    "not_interested": ["Sorry, I'm not interested.", "No thanks."],
    "callback_requested": [
        "I'm busy right now, can you call me back next Tuesday afternoon?",
        "Tuesday works.",
    ],
    "appointment_set": ["Yes, let's book something.", "Thursday at 10 works for me."],
    "dnc": ["Please take me off your list and don't call again."],
    "wrong_number": ["I think you have the wrong number."],
}
_SUMMARIES = {
    "interested": "Lead is interested and asked about next steps.",
    "not_interested": "Lead declined; not interested.",
    "callback_requested": "Lead is interested; asked for a callback next Tuesday afternoon.",
    "appointment_set": "Appointment booked for Thursday at 10:00.",
    "dnc": "Lead asked not to be called again.",
    "wrong_number": "Wrong number; the person does not know the lead.",
}
TERMINAL_TEXML = {"completed", "no-answer", "busy", "canceled", "failed"}
# The simulator's dispositions in the product's canonical vocabulary (set_disposition's enum).
CANONICAL_DISPOSITIONS = {"dnc": "do_not_call", "voicemail": "voicemail_left"}


#: Mailbox greeting lengths (simulated seconds, ±20 %), and how many end in a beep.
GREETING_SECONDS = (4.0, 9.0, 16.0, 25.0)
BEEP_SHARE = 0.75
#: How fast a speak action reads its text.
WORDS_PER_SECOND = 2.5
#: Events whose payload carries no from/to (the spec's schemas have none).
_WITHOUT_NUMBERS = frozenset(
    {"call.cost", "call.conversation_insights.generated", "call.speak.started", "call.speak.ended"}
)


def said_disposition(call: CallRecord) -> str:
    """The disposition the call's insights conclude, in the product's canonical vocabulary."""
    said = "voicemail" if call.scenario == Scenario.VOICEMAIL else call.disposition
    return CANONICAL_DISPOSITIONS.get(said, said)


class Playout:
    """Turns calls into timed webhook sequences."""

    def __init__(
        self, scheduler: Scheduler, deliverer: Deliverer, config: Callable[[], SimulatorConfig]
    ) -> None:
        self._scheduler = scheduler
        self._deliverer = deliverer
        self._config = config

    # ------------------------------------------------------------------ scheduling helpers
    def _after(
        self, call: CallRecord, sim_delay: float, step: Callable[[], None], *, plan: bool = True
    ) -> None:
        """Run ``step`` ``sim_delay`` simulated seconds after the call's current offset.

        ``plan=True`` steps belong to the current plan and are dropped if an action re-plans the
        call; follow-ups after a hangup use ``plan=False`` (nothing can cancel them).
        """
        generation = call.generation
        target = call.sim_now + sim_delay

        def run() -> None:
            with call.account.lock:
                if plan and call.generation != generation:
                    return
                call.sim_now = max(call.sim_now, target)
                step()

        still_due = (lambda: call.generation == generation) if plan else None  # as run() decides
        self._scheduler.call_later(sim_delay * self._config().time_scale, run, still_due=still_due)

    # ------------------------------------------------------------------ start
    def start(self, call: CallRecord) -> None:
        """Schedule the whole playout of a freshly dialled call."""
        # Not cancellable: an early hangup still follows call.initiated, as on the real platform.
        generation = call.generation
        self._after(call, 0.1, lambda: self._initiated(call, generation), plan=False)

    def _initiated(self, call: CallRecord, generation: int) -> None:
        self._event(
            call,
            "call.initiated",
            {"direction": call.direction, "state": "parked" if call.direction == "incoming" else "bridging"},
        )
        if call.generation != generation or not call.is_alive:
            return  # an action re-planned the call before it was initiated
        rng = call.rng
        scenario = call.scenario
        if call.direction == "incoming":
            # The assistant picks up the person's call after a ring or two.
            self._after(call, rng.uniform(0.5, 2), lambda: self._answered(call))
            return
        if scenario == "channel_limit":
            self._after(call, 0.3, lambda: self._hangup(call, "call_rejected", "unknown", "403"))
        elif scenario in (Scenario.HUMAN, Scenario.START_FAILED):
            self._after(call, rng.uniform(4, 12), lambda: self._answered(call))
        elif scenario == Scenario.VOICEMAIL:
            self._after(call, rng.uniform(15, 25), lambda: self._answered(call))
        elif scenario == Scenario.NO_ANSWER:
            if rng.random() < 0.7:
                self._after(call, call.timeout_secs, lambda: self._hangup(call, "timeout", "caller", "487"))
            else:
                wait = rng.uniform(min(15, call.timeout_secs - 1), max(15, call.timeout_secs - 1))
                self._after(call, wait, lambda: self._hangup(call, "no_answer", "callee", "480"))
        elif scenario == Scenario.BUSY:
            self._after(call, rng.uniform(2, 5), lambda: self._hangup(call, "user_busy", "callee", "486"))
        elif scenario == Scenario.INVALID_NUMBER:
            self._after(call, rng.uniform(0.8, 2), lambda: self._hangup(call, "not_found", "callee", "404"))
        else:  # FAILED
            if rng.random() < 0.5:
                self._after(
                    call, rng.uniform(1, 3), lambda: self._hangup(call, "call_rejected", "callee", "603")
                )
            else:
                self._after(
                    call, rng.uniform(1, 3), lambda: self._hangup(call, "unspecified", "unknown", "503")
                )

    # ------------------------------------------------------------------ answered
    def _answered(self, call: CallRecord) -> None:
        call.state = "answered"
        call.answered_time = iso_now()
        call.sim_answered_at = call.sim_now
        self._event(call, "call.answered", {"state": "answered"})
        rng = call.rng
        machine = call.scenario == Scenario.VOICEMAIL
        if call.amd == "premium":
            result = (
                "machine" if machine else rng.choice(["human_residence", "human_residence", "human_business"])
            )
            self._after(call, rng.uniform(1.5, 4), lambda: self._amd_result(call, "premium", result))
        elif call.amd not in ("disabled", ""):
            result = "machine" if machine else "human"
            self._after(call, rng.uniform(2, 4), lambda: self._amd_result(call, "standard", result))
        else:
            self._after(call, 0.2, lambda: self._after_detection(call))

    def _amd_result(self, call: CallRecord, kind: str, result: str) -> None:
        event = (
            "call.machine.premium.detection.ended" if kind == "premium" else "call.machine.detection.ended"
        )
        self._event(call, event, {"result": result})
        if result != "machine":
            self._after(call, 0.2, lambda: self._after_detection(call))
            return
        wants_greeting = kind == "premium" or call.amd in ("detect_beep", "greeting_end")
        # Mailbox greetings come in several lengths, most ending in a beep (ground truth below).
        mailbox = Mailbox(
            call.call_control_id,
            call.to,
            call.from_,
            greeting_seconds=round(call.rng.choice(GREETING_SECONDS) * call.rng.uniform(0.8, 1.2), 1),
            beep=call.rng.random() < BEEP_SHARE,
        )
        call.account.mailboxes[call.call_control_id] = mailbox
        if wants_greeting:
            self._after(call, mailbox.greeting_seconds, lambda: self._greeting_ended(call, kind))
        else:
            self._after(
                call, call.rng.uniform(8, 15), lambda: self._hangup(call, "normal_clearing", "caller", "200")
            )

    def _greeting_ended(self, call: CallRecord, kind: str) -> None:
        mailbox = call.account.mailboxes[call.call_control_id]
        mailbox.greeting_ended = True
        if kind == "premium":
            result = "beep_detected" if mailbox.beep else "no_beep_detected"
            self._event(call, "call.machine.premium.greeting.ended", {"result": result})
        else:
            self._event(call, "call.machine.greeting.ended", {"result": "beep_detected"})
        # Nobody speaks (a speak action re-plans this): the mailbox records silence, then the
        # call ends from our side as a platform without a voicemail drop would end it.
        silence = call.rng.uniform(*self._config().mailbox_silence_secs)
        self._after(call, silence, lambda: self._hangup(call, "normal_clearing", "caller", "200"))

    def speak_action(self, call: CallRecord, text: str) -> None:
        """``actions/speak`` (caller holds the account lock): read ``text`` out, then wait.

        A mailbox records what is spoken after its greeting ended (speech over the greeting is
        lost, as on a real one); the mailbox hangs up if the caller stays silent after it.
        """
        call.generation += 1
        mailbox = call.account.mailboxes.get(call.call_control_id)
        if mailbox is not None and mailbox.greeting_ended:
            mailbox.heard.append(text)
            mailbox.complete = False
        call.speaking = True
        seconds = max(1.0, len(text.split()) / WORDS_PER_SECOND)
        self._after(call, 0.1, lambda: self._event(call, "call.speak.started", {}))
        self._after(call, 0.1 + seconds, lambda: self._speak_ended(call, mailbox))

    def _speak_ended(self, call: CallRecord, mailbox: Mailbox | None) -> None:
        call.speaking = False
        if mailbox is not None and mailbox.heard:
            mailbox.complete = True
        self._event(call, "call.speak.ended", {"status": "completed"})
        self._after(
            call, call.rng.uniform(8, 12), lambda: self._hangup(call, "normal_clearing", "callee", "200")
        )

    def _after_detection(self, call: CallRecord) -> None:
        """A person (or, without AMD, whatever answered) is on the line: start the assistant."""
        if call.assistant is not None:
            self._start_conversation(call)
        else:
            # No assistant on the dial: wait for ai_assistant_start; the callee gives up on silence.
            self._after(
                call, call.rng.uniform(15, 25), lambda: self._hangup(call, "normal_clearing", "callee", "200")
            )

    # ------------------------------------------------------------------ conversation
    def start_conversation_action(
        self, call: CallRecord, assistant: dict[str, Any], conversation_id: str
    ) -> None:
        """``ai_assistant_start`` on an answered call (caller holds the account lock)."""
        call.generation += 1
        call.assistant = assistant
        call.assistant_known = (
            not self._config().strict_assistant_ids or assistant.get("id") in call.account.assistants
        )
        call.conversation_id = conversation_id
        self._after(call, 0.2, lambda: self._start_conversation(call))

    def _start_conversation(self, call: CallRecord) -> None:
        account = call.account
        assistant = self._assistant_config(call)
        if call.scenario == Scenario.START_FAILED or not call.assistant_known:
            reason = "invalid_request" if not call.assistant_known else "service_error"
            self._event(
                call,
                "call.conversation.start_failed",
                {
                    "calling_party_type": "pstn",
                    "assistant_id": (call.assistant or {}).get("id"),
                    "reason": reason,
                },
                created_at=True,
            )
            call.conversation_id = None
            self._after(
                call, call.rng.uniform(3, 8), lambda: self._hangup(call, "normal_clearing", "callee", "200")
            )
            return
        url = assistant.get("dynamic_variables_webhook_url")
        if url:
            generation = call.generation
            timeout = float(assistant.get("dynamic_variables_webhook_timeout_ms") or 1500) / 1000
            body = self._init_body(call)
            account.stats.init_webhooks += 1

            def ask() -> None:
                started = time.perf_counter()
                response = self._deliverer.post_sync(account, url, body, timeout)
                elapsed_ms = (time.perf_counter() - started) * 1000
                answer = (
                    _json_object(response.content) if response is not None and response.is_success else {}
                )
                with account.lock:
                    if response is not None and response.is_success:
                        account.stats.init_answer_ms.append(round(elapsed_ms, 3))
                    else:
                        account.stats.init_failures += 1

                def resume() -> None:
                    with account.lock:
                        if call.generation == generation and call.is_alive:
                            self._apply_init_answer(call, answer)
                            self._conversation_created(call)

                self._scheduler.call_later(0, resume)

            self._scheduler.submit(ask)
            return
        self._conversation_created(call)

    def _init_body(self, call: CallRecord) -> bytes:
        doc = {
            "data": {
                "record_type": "event",
                "event_type": "assistant.initialization",
                "id": new_uuid(),
                "occurred_at": iso_now(),
                "payload": {
                    "telnyx_conversation_channel": "phone_call",
                    "telnyx_agent_target": call.agent,
                    "telnyx_end_user_target": call.end_user,
                    "telnyx_end_user_target_verified": False,
                    "call_control_id": call.call_control_id,
                    "assistant_id": (call.assistant or {}).get("id"),
                },
            }
        }
        call.events.append("assistant.initialization")
        call.account.stats.events_emitted["assistant.initialization"] += 1
        return json.dumps(doc, separators=(",", ":")).encode()

    def _apply_init_answer(self, call: CallRecord, answer: dict[str, Any]) -> None:
        # Precedence: API variables > webhook > assistant defaults (WIRE §7.3).
        from_hook = answer.get("dynamic_variables")
        if isinstance(from_hook, dict):
            api_vars = dict((call.assistant or {}).get("dynamic_variables") or {})
            call.dynamic_variables = {**call.dynamic_variables, **from_hook, **api_vars}
        conversation = answer.get("conversation")
        if isinstance(conversation, dict) and isinstance(conversation.get("metadata"), dict):
            call.conversation_metadata.update(conversation["metadata"])

    def _conversation_created(self, call: CallRecord) -> None:
        account = call.account
        if call.conversation_id is None:
            call.conversation_id = new_uuid(call.rng)
        call.conversation_running = True
        call.conversation_started_sim = call.sim_now
        now = iso_now()
        assistant_id = (call.assistant or {}).get("id")
        account.conversations[call.conversation_id] = {
            "id": call.conversation_id,
            "name": f"Call {call.from_} → {call.to}",
            "created_at": now,
            "last_message_at": now,
            "metadata": {
                "assistant_id": assistant_id,
                "call_control_id": call.call_control_id,
                "telnyx_agent_target": call.agent,
                "telnyx_end_user_target": call.end_user,
                "telnyx_conversation_channel": "phone_call",
                **{k: v for k, v in call.conversation_metadata.items() if not str(k).startswith("telnyx_")},
            },
        }
        account.messages[call.conversation_id] = []
        self._event(
            call,
            "call.conversation.created",
            {"calling_party_type": "pstn", "conversation_id": call.conversation_id},
            created_at=True,
        )
        low, high = self._config().conversation_secs
        duration = call.rng.uniform(low, high)
        limit = self._time_limit(call)
        elapsed = call.sim_now - (call.sim_answered_at or 0.0)
        if limit is not None and elapsed + duration >= limit:
            self._after(
                call, max(0.1, limit - elapsed), lambda: self._hangup(call, "time_limit", "caller", "200")
            )
            return
        source = "callee" if call.rng.random() < 0.6 else "caller"
        if self._config().tool_calls and call.scenario == Scenario.HUMAN:
            # The person says what they want well before the call ends, as on a real call.
            self._after(call, duration * 0.6, lambda: self._use_tools(call))
        self._after(call, duration, lambda: self._hangup(call, "normal_clearing", source, "200"))

    def _use_tools(self, call: CallRecord) -> None:
        """The assistant calls its webhook tools for what this callee said: ``opt_out`` for a
        do-not-call request, ``schedule_callback`` with a time for a callback request, and
        ``set_disposition`` always. Requests are built as Telnyx builds them (WIRE §12.1): the
        model's arguments plus rendered ``preset_body_fields``, rendered headers, signed."""
        if not call.is_alive:
            return
        account = call.account
        tools = {
            (t.get("webhook") or {}).get("name"): t
            for t in self._assistant_config(call).get("tools") or []
            if isinstance(t, dict) and t.get("type") == "webhook"
        }
        disposition = CANONICAL_DISPOSITIONS.get(call.disposition, call.disposition)
        calls: list[tuple[str, dict[str, Any]]] = []
        if call.disposition == "dnc" and "opt_out" in tools:
            account.stats.opt_outs_requested.append(call.end_user)
            calls.append(("opt_out", {}))
        if call.disposition == "callback_requested" and "schedule_callback" in tools:
            # People name whole minutes; rounded up so a short delay is never in the past.
            local = wall_now() + timedelta(seconds=self._config().callback_after_s + 59)
            when = local.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
            account.stats.callbacks_requested.setdefault(call.end_user, []).append(when + "Z")
            calls.append(
                ("schedule_callback", {"when": when, "time_zone": "UTC", "note": "asked on the call"})
            )
        if "set_disposition" in tools:
            calls.append(
                (
                    "set_disposition",
                    {"disposition": disposition, "note": _SUMMARIES.get(call.disposition, "")},
                )
            )
        variables = {
            **(self._assistant_config(call).get("dynamic_variables") or {}),
            **call.dynamic_variables,
            "call_control_id": call.call_control_id,
            "telnyx_end_user_target": call.end_user,
            "telnyx_agent_target": call.agent,
            "telnyx_conversation_channel": "phone_call",
        }
        requests = []
        for name, arguments in calls:
            webhook = tools[name]["webhook"]
            preset = {
                k: render_template(str(v), variables)
                for k, v in (webhook.get("preset_body_fields") or {}).items()
            }
            headers = {
                str(h.get("name")): render_template(str(h.get("value")), variables)
                for h in webhook.get("headers") or []
                if isinstance(h, dict) and h.get("name")
            }
            timeout = float(tools[name].get("timeout_ms") or webhook.get("timeout_ms") or 5000) / 1000
            body = json.dumps({**arguments, **preset}, separators=(",", ":")).encode()
            requests.append((name, str(webhook.get("url")), body, headers, timeout))

        def send() -> None:
            for name, url, body, headers, timeout in requests:
                response = self._deliverer.post_sync(account, url, body, timeout, headers=headers)
                with account.lock:
                    status = str(response.status_code) if response is not None else "error"
                    account.stats.tool_calls[f"{name}:{status}"] += 1

        self._scheduler.submit(send)

    def _time_limit(self, call: CallRecord) -> float | None:
        limits = [call.texml.get("time_limit")]
        settings = self._assistant_config(call).get("telephony_settings") or {}
        limits.append(settings.get("time_limit_secs"))
        values = [float(v) for v in limits if isinstance(v, int | float) and v > 0]
        return min(values) if values else None

    def _end_conversation(self, call: CallRecord, reason: str | None) -> None:
        account = call.account
        call.conversation_running = False
        assistant = self._assistant_config(call)
        duration = max(1, round(call.sim_now - (call.conversation_started_sim or call.sim_now)))
        messages = self._script(call, assistant, duration)
        conversation = account.conversations.get(call.conversation_id or "")
        if conversation is not None:
            conversation["last_message_at"] = (
                messages[-1]["timestamp"] if messages else conversation["created_at"]
            )
        account.messages[call.conversation_id or ""] = [
            {"role": m["role"], "text": m["content"], "created_at": m["timestamp"], "sent_at": m["timestamp"]}
            for m in reversed(messages)  # newest first, like the API
        ]
        provider, model_id, voice_id = _tts_parts((assistant.get("voice_settings") or {}).get("voice"))
        self._event(
            call,
            "call.conversation.ended",
            {
                "calling_party_type": "pstn",
                "assistant_id": (call.assistant or {}).get("id"),
                "conversation_id": call.conversation_id,
                "duration_sec": duration,
                "llm_model": assistant.get("model") or "moonshotai/Kimi-K2.6",
                "stt_model": (assistant.get("transcription") or {}).get("model") or "deepgram/flux",
                "tts_provider": provider,
                "tts_model_id": model_id,
                "tts_voice_id": voice_id,
                "reason": reason,
                "messages": messages,
            },
            created_at=True,
        )

    def _script(self, call: CallRecord, assistant: dict[str, Any], duration: int) -> list[dict[str, Any]]:
        """A plausible transcript: the rendered greeting, then turns that match a disposition."""
        disposition = call.disposition
        if call.scenario == Scenario.VOICEMAIL:
            disposition = "voicemail"
        variables = {**(assistant.get("dynamic_variables") or {}), **call.dynamic_variables}
        greeting = render_template(
            str(assistant.get("greeting") or "Hello, this is your assistant calling."), variables
        )
        start = wall_now() - timedelta(seconds=duration * self._config().time_scale)
        turns: list[tuple[str, str]] = [("assistant", greeting)]
        if disposition != "voicemail":
            for line in _USER_LINES.get(disposition, ["Okay."]):
                turns.append(("user", line))
                turns.append(("assistant", "Thanks, noted."))
        step = timedelta(seconds=duration * self._config().time_scale / max(1, len(turns)))
        return [
            {"role": role, "content": text, "timestamp": iso(start + step * i)}
            for i, (role, text) in enumerate(turns)
        ]

    # ------------------------------------------------------------------ hangup and after
    def hangup_action(self, call: CallRecord) -> None:
        """``actions/hangup`` from the API (caller holds the account lock)."""
        call.generation += 1
        if call.state == "answered":
            self._after(call, 0.1, lambda: self._hangup(call, "normal_clearing", "caller", "200"))
        else:
            self._after(call, 0.1, lambda: self._hangup(call, "originator_cancel", "caller", "487"))

    def stop_conversation_action(self, call: CallRecord) -> None:
        """``actions/ai_assistant_stop``: the conversation ends, the call stays up until the callee leaves."""
        call.generation += 1
        if call.conversation_running:
            self._after(call, 0.2, lambda: self._end_conversation(call, "stopped"))
        self._after(
            call, call.rng.uniform(5, 15), lambda: self._hangup(call, "normal_clearing", "callee", "200")
        )

    def transfer_action(self, call: CallRecord) -> None:
        """``actions/transfer``: the assistant hands over; the bridged talk ends later."""
        call.generation += 1
        if call.conversation_running:
            self._after(call, 0.3, lambda: self._end_conversation(call, "transferred"))
        talk = call.rng.uniform(20, 90)
        self._after(call, talk, lambda: self._hangup(call, "normal_clearing", "callee", "200"))

    def _hangup(self, call: CallRecord, cause: str, source: str, sip: str) -> None:
        if not call.is_alive:
            return
        call.generation += 1  # nothing of the old plan may run after a hangup
        if call.speaking:
            call.speaking = False  # cut off mid-message: the mailbox keeps it incomplete
            self._event(call, "call.speak.ended", {"status": "call_hangup"})
        call.state = "hangup"
        call.end_time = iso_now()
        call.ended_monotonic = time.monotonic()
        answered = call.sim_answered_at is not None
        had_conversation = call.conversation_id is not None and call.conversation_started_sim is not None
        ending_conversation = call.conversation_running
        follow_ups = ending_conversation or answered
        stats = _quality_stats(call) if answered else None
        self._event(
            call,
            "call.hangup",
            {
                "state": "hangup",
                "hangup_cause": cause,
                "hangup_source": source,
                "sip_hangup_cause": sip,
                "call_quality_stats": stats,
            },
            final=not follow_ups,
        )
        if call.kind == "texml" and "analyzed" in call.texml.get("events", ()):
            self._after(call, 2.0, lambda: self._texml_status(call, "analyzed"), plan=False)
        if ending_conversation:
            self._after(call, 0.1, lambda: self._end_conversation(call, None), plan=False)
        if answered:
            billed = max(0.0, call.sim_now - (call.sim_answered_at or call.sim_now))
            self._after(call, 5.0, lambda: self._cost(call, billed, final=not had_conversation), plan=False)
        if had_conversation:
            self._after(call, 15.0, lambda: self._insights(call), plan=False)
        if not follow_ups:
            self._deliverer.flush(call)
        hook = call.account.on_call_end.pop(call.call_control_id, None)
        if hook is not None:
            hook(call, cause)

    def _cost(self, call: CallRecord, talk_secs: float, *, final: bool) -> None:
        billed = max(60, math.ceil(talk_secs / 60) * 60)
        parts = [("call-control", "0.00200"), ("sip-trunking", "0.00500")]
        cost_parts = [
            {
                "billed_duration_secs": billed,
                "call_part": name,
                "cost": f"{float(rate) * billed / 60:.4f}",
                "currency": "USD",
                "rate": rate,
            }
            for name, rate in parts
        ]
        total = sum(float(p["cost"]) for p in cost_parts)
        self._event(
            call,
            "call.cost",
            {
                "billed_duration_secs": billed,
                "billing_group_id": None,
                "occurred_at": iso_now(),
                "status": "success",
                "total_cost": f"{total:.4f}",
                "cost_parts": cost_parts,
            },
            final=final,
        )
        if final:
            self._deliverer.flush(call)

    def _insights(self, call: CallRecord) -> None:
        account = call.account
        assistant = self._assistant_config(call)
        group_id = (assistant.get("insight_settings") or {}).get(
            "insight_group_id"
        ) or account.default_group_id
        group = account.insight_groups.get(group_id)
        templates = (group or {}).get("insights") or []
        disposition = call.disposition
        if call.scenario == Scenario.VOICEMAIL:
            disposition = "voicemail"
        results: list[dict[str, Any]] = []
        for template in templates or [{"id": account.default_insight_id, "json_schema": None}]:
            results.append(
                {"insight_id": template["id"], "result": _insight_result(template, disposition, call)}
            )
        delivery = self._config().insight_delivery
        if delivery in ("call_event", "both"):
            self._event(
                call,
                "call.conversation_insights.generated",
                {"calling_party_type": "pstn", "insight_group_id": group_id, "results": results},
                final=True,
            )
        if delivery in ("group_webhook", "both") and group and group.get("webhook") and call.conversation_id:
            names = {t["id"]: t.get("name") for t in templates}
            self._group_webhook(
                call,
                str(group["webhook"]),
                {
                    "event_type": "conversation.insights.completed",
                    "conversation_id": call.conversation_id,
                    "insight_group_id": group_id,
                    "insight_group_name": group.get("name"),
                    "insights": [
                        {
                            "insight_id": r["insight_id"],
                            "insight_name": names.get(r["insight_id"]),
                            "result": r["result"],
                        }
                        for r in results
                    ],
                },
            )
        if call.conversation_id:
            account.conversation_insights.setdefault(call.conversation_id, []).append(
                {
                    "id": new_uuid(call.rng),
                    "created_at": iso_now(),
                    "status": "completed",
                    "conversation_insights": [
                        {
                            "insight_id": r["insight_id"],
                            "result": r["result"]
                            if isinstance(r["result"], str)
                            else json.dumps(r["result"]),
                        }
                        for r in results
                    ],
                }
            )
        self._deliverer.flush(call)

    def _group_webhook(self, call: CallRecord, url: str, doc: dict[str, Any]) -> None:
        """The insight group's own webhook: top-level JSON (no ``data``/``meta``), signed like every
        other delivery; the same bytes on every attempt (there is no ``meta.attempt`` to change)."""
        account = call.account
        if not account.config.deliver_webhooks:
            account.stats.webhook_undeliverable += 1
            return
        body = json.dumps(doc, separators=(",", ":")).encode()
        delivery = Delivery(
            account,
            call.call_control_id,
            url,
            "conversation.insights.completed",
            f"insights:{call.conversation_id}:{doc['insight_group_id']}",
            "application/json",
            lambda attempt: body,
        )
        self._deliverer.emit(call, account, delivery, final=True)

    # ------------------------------------------------------------------ events
    def _assistant_config(self, call: CallRecord) -> dict[str, Any]:
        """The stored assistant (main or pinned version) with the dial's overrides applied."""
        request = call.assistant or {}
        account = call.account
        stored = account.assistants.get(str(request.get("id")), {})
        version = call.texml.get("assistant_version")
        if version:
            stored = account.versions.get(str(request.get("id")), {}).get(version, stored)
        merged = dict(stored)
        for key in ("instructions", "greeting", "model", "voice_settings", "transcription", "tools"):
            if request.get(key) is not None:
                merged[key] = request[key]
        return merged

    def _event(
        self,
        call: CallRecord,
        event_type: str,
        extra: dict[str, Any],
        *,
        final: bool = False,
        created_at: bool = False,
    ) -> None:
        """Record ``event_type`` and deliver it in the call's wire format."""
        account = call.account
        call.events.append(event_type)
        account.stats.events_emitted[event_type] += 1
        # Ground truth of what the call concluded and cost, as sent (tests compare the product's
        # call records, leads and totals with it).
        if event_type == "call.cost":
            call.truth["cost"] = str(extra.get("total_cost"))
        elif event_type == "call.conversation_insights.generated":
            call.truth["disposition"] = said_disposition(call)
        if call.kind == "texml":
            self._texml_event(call, event_type, extra, final=final)
            return
        url = call.webhook_urls.get(event_type) or call.webhook_url or account.config.webhook_url
        self._send_json(call, url, event_type, extra, final=final, created_at=created_at)

    def _send_json(
        self,
        call: CallRecord,
        url: str | None,
        event_type: str,
        extra: dict[str, Any],
        *,
        final: bool,
        created_at: bool,
    ) -> None:
        account = call.account
        payload: dict[str, Any] = {
            "call_control_id": call.call_control_id,
            "connection_id": call.connection_id,
            "call_leg_id": call.call_leg_id,
            "call_session_id": call.call_session_id,
            "client_state": call.client_state,
        }
        if event_type not in _WITHOUT_NUMBERS:
            payload["from"] = call.from_
            payload["to"] = call.to
        if event_type in ("call.initiated", "call.answered", "call.hangup"):
            payload["start_time"] = call.start_time
        payload.update(extra)
        if event_type == "call.initiated" and self._config().undocumented_fields:
            # Real captures carry these (WIRE §7.1); parsers must tolerate them.
            payload.update(
                {
                    "calling_party_type": "pstn",
                    "from_sip_uri": f"{call.from_[1:]}@192.0.2.10:5060",
                    "to_sip_uri": f"{call.to}@192.0.2.20:5060",
                }
            )
        if event_type == "call.answered" and self._config().undocumented_fields:
            payload.update({"codec": "PCMU", "sampling_rate": 8000})
        now = wall_now()
        data: dict[str, Any] = {
            "record_type": "event",
            "event_type": event_type,
            "id": new_uuid(),
            "occurred_at": iso(now),
        }
        if created_at:
            data["created_at"] = iso(now + timedelta(milliseconds=call.rng.randint(20, 90)))
        data["payload"] = payload
        if not url or not account.config.deliver_webhooks:
            account.stats.webhook_undeliverable += 1
            return

        def render(attempt: int) -> bytes:
            doc = {"data": data, "meta": {"attempt": attempt, "delivered_to": url}}
            return json.dumps(doc, separators=(",", ":")).encode()

        delivery = Delivery(
            account, call.call_control_id, url, event_type, data["id"], "application/json", render
        )
        self._deliverer.emit(call, account, delivery, final=final)

    # ------------------------------------------------------------------ TeXML mapping
    def _texml_event(self, call: CallRecord, event_type: str, extra: dict[str, Any], *, final: bool) -> None:
        texml = call.texml
        if event_type == "call.initiated":
            self._texml_status(call, "initiated")
            self._texml_status(call, "ringing")
        elif event_type == "call.answered":
            answered_by = texml.get("sync_answered_by")
            self._texml_status(call, "in-progress", {"AnsweredBy": answered_by} if answered_by else None)
        elif event_type in ("call.machine.premium.detection.ended", "call.machine.detection.ended"):
            result = extra["result"]
            if result != "machine":
                self._texml_amd(call, "human" if result.startswith("human") else "unknown")
            elif texml.get("machine_detection") == "Enable":
                self._texml_amd(call, "machine_start")
        elif event_type in ("call.machine.premium.greeting.ended", "call.machine.greeting.ended"):
            if texml.get("machine_detection") == "DetectMessageEnd":
                beep = extra["result"] == "beep_detected"
                self._texml_amd(call, "machine_end_beep" if beep else "machine_end_silence")
        elif event_type == "call.hangup":
            status = _texml_terminal(call, extra["hangup_cause"])
            self._texml_status(
                call,
                status,
                {
                    "HangupCause": extra["hangup_cause"],
                    "HangupSource": extra["hangup_source"],
                    "SipResponseCode": extra["sip_hangup_cause"],
                },
            )
        elif event_type.startswith("call.conversation"):
            for url in texml.get("conversation_callbacks", ()):
                self._send_json(
                    call,
                    url,
                    event_type,
                    extra,
                    final=final,
                    created_at=event_type != "call.conversation_insights.generated",
                )
        # call.cost has no documented TeXML channel: it is recorded, not sent.

    def _texml_status(self, call: CallRecord, status: str, extra: dict[str, str] | None = None) -> None:
        events = call.texml.get("events", {"completed"})
        wanted = {"in-progress": "answered"}.get(status, status)
        if wanted not in events and not (status in TERMINAL_TEXML and "completed" in events):
            return
        fields = self._texml_common(call)
        fields.update({"CallStatus": status, "CallbackSource": "call-progress-events"})
        if status == "in-progress":
            fields.update({"Codec": "PCMU", "SamplingRate": "8000"})
        if status in TERMINAL_TEXML or status == "analyzed":
            talk = 0 if call.sim_answered_at is None else max(0, round(call.sim_now - call.sim_answered_at))
            fields.update(
                {
                    "CallControlId": call.call_control_id,
                    "CallLegId": call.call_leg_id,
                    "CallSessionId": call.call_session_id,
                    "CallDuration": str(talk),
                    "EndTime": call.end_time or iso_now(),
                    "OccurredAt": iso_now(),
                }
            )
            if call.answered_time:
                fields["AnsweredTime"] = call.answered_time
        fields.update(extra or {})
        for url in call.texml.get("status_callbacks", ()):
            self._send_form(call, url, "texml.status." + status, fields, final=status == "analyzed")

    def _texml_amd(self, call: CallRecord, answered_by: str) -> None:
        url = call.texml.get("amd_callback")
        if not call.texml.get("async_amd") or not url:
            return
        fields = self._texml_common(call)
        fields.update(
            {"AnsweredBy": answered_by, "MachineDetectionDuration": str(call.rng.randint(1800, 4200))}
        )
        self._send_form(call, url, "texml.amd", fields, final=False)

    def _texml_common(self, call: CallRecord) -> dict[str, str]:
        call.sequence += 1
        return {
            "AccountSid": call.account.account_sid,
            "CallSid": call.call_control_id,
            "CallSidLegacy": call.call_leg_id,
            "ConnectionId": call.connection_id,
            "From": call.from_,
            "To": call.to,
            "SequenceNumber": str(call.sequence),
            "Timestamp": iso_now(),
            "CallInitiatedAt": call.start_time,
        }

    def _send_form(
        self, call: CallRecord, url: str, kind: str, fields: dict[str, str], *, final: bool
    ) -> None:
        body = urlencode(fields).encode()
        call.account.stats.events_emitted[kind] += 1
        delivery = Delivery(
            call.account,
            call.call_control_id,
            url,
            kind,
            f"{call.call_control_id}#{fields['SequenceNumber']}",
            "application/x-www-form-urlencoded",
            lambda _attempt: body,
        )
        self._deliverer.emit(call, call.account, delivery, final=final)


# ---------------------------------------------------------------------- helpers
def _texml_terminal(call: CallRecord, cause: str) -> str:
    if call.sim_answered_at is not None:
        return "completed"
    return {
        "timeout": "no-answer",
        "no_answer": "no-answer",
        "user_busy": "busy",
        "originator_cancel": "canceled",
    }.get(cause, "failed")


def _quality_stats(call: CallRecord) -> dict[str, Any]:
    rng = call.rng
    talk = max(1.0, call.sim_now - (call.sim_answered_at or call.sim_now))
    packets = int(talk * 50)
    return {
        "inbound": {
            "jitter_max_variance": f"{rng.uniform(0.5, 3):.2f}",
            "jitter_packet_count": "0",
            "mos": f"{rng.uniform(4.0, 4.5):.2f}",
            "packet_count": str(packets),
            "skip_packet_count": str(rng.randint(0, 5)),
        },
        "outbound": {"packet_count": str(packets - rng.randint(0, 10)), "skip_packet_count": "0"},
    }


def _tts_parts(voice: Any) -> tuple[str, str, str]:
    """``Telnyx.NaturalHD.astra`` → ("telnyx", "NaturalHD", "astra")."""
    if not isinstance(voice, str) or voice.count(".") < 2:
        return "telnyx", "Natural", "Marissa"
    provider, model, name = voice.split(".", 2)
    return provider.lower(), model, name


def _insight_result(template: dict[str, Any], disposition: str, call: CallRecord) -> Any:
    schema = template.get("json_schema")
    if isinstance(schema, str):
        schema = _json_object(schema.encode())
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return _SUMMARIES.get(disposition, "Reached voicemail; left a message.")
    canonical = CANONICAL_DISPOSITIONS.get(disposition, disposition)
    out: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        kind = prop.get("type") if isinstance(prop, dict) else None
        enum = prop.get("enum") if isinstance(prop, dict) else None
        if enum:
            out[name] = canonical if canonical in enum else call.rng.choice(enum)
        elif kind == "boolean":
            out[name] = disposition in ("interested", "appointment_set", "callback_requested")
        elif kind in ("integer", "number"):
            out[name] = call.rng.randint(1, 10)
        elif "callback" in name or "appointment" in name:
            # A lead-local wall time (no offset), as a person says it: "Tuesday at 3".
            wanted = "callback" if "callback" in name else "appointment"
            out[name] = _local_time(call) if wanted in disposition else None
        else:
            out[name] = (
                canonical if "disposition" in name or "outcome" in name else _SUMMARIES.get(disposition, "")
            )
    # Telnyx delivers structured results as objects or as stringified JSON (WIRE §6): both.
    return json.dumps(out) if call.rng.random() < 0.5 else out


def _local_time(call: CallRecord) -> str:
    """A wall time eight days ahead at 15:00 (lead-local, no offset): "next week, at 3"."""
    from datetime import datetime, timedelta

    base = datetime.fromisoformat(iso_now().replace("Z", "+00:00")) + timedelta(days=8)
    return base.replace(hour=15, minute=0, second=0, microsecond=0, tzinfo=None).isoformat()


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
