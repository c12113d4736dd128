"""The REST surface of the simulator: routes under ``/v2`` with Telnyx's shapes and errors.

Error shapes follow WIRE §2: ``{"errors":[…]}`` for Call Control, TeXML and numbers;
FastAPI ``{"detail":[…]}`` for 422s on ``/ai/*``. For 404s on ``/ai/*`` the live shape is
UNVERIFIED (WIRE §11); we answer ``{"errors":[{"code":"10005",…}]}``, which a client must handle
anyway.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from local.simulator.config import Scenario
from local.simulator.state import Account, CallRecord
from local.simulator.wire import (
    detail,
    error,
    errors,
    is_base64,
    is_e164,
    iso_now,
    new_numeric_id,
    new_uuid,
    page_meta,
)

if TYPE_CHECKING:
    from local.simulator.server import Simulator

AMD_MODES = {"premium", "detect", "detect_beep", "detect_words", "greeting_end", "disabled"}
ASSISTANT_DEFAULTS: dict[str, Any] = {
    "model": "moonshotai/Kimi-K2.6",
    "description": "",
    "greeting": "",
    "tools": [],
    "enabled_features": ["telephony"],
    "dynamic_variables": {},
    "dynamic_variables_webhook_timeout_ms": 1500,
    "voice_settings": {"voice": "Telnyx.NaturalHD.astra", "voice_speed": 1.0},
    "transcription": {"model": "deepgram/flux", "language": "en"},
    "privacy_settings": {"data_retention": True},
    "tags": [],
}


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    account: Account | None = None

    def q(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """What a route returns; ``body`` is JSON-serialised unless it is bytes."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class BadBody(Exception):
    """The body is not a JSON object (or form) the route can read."""


def parse_query(raw: str) -> dict[str, list[str]]:
    """Query string → dict of lists (blank values kept)."""
    return parse_qs(raw, keep_blank_values=True)


class Api:
    """Route table and handlers. ``sim`` gives access to config, accounts and the playout."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        route = self._route
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Request], Response], bool]] = []
        route("GET", r"/v2/public_key", self.public_key)
        route("POST", r"/v2/ai/assistants", self.create_assistant)
        route("GET", r"/v2/ai/assistants", self.list_assistants)
        route("POST", r"/v2/ai/assistants/(?P<aid>[^/]+)/clone", self.clone_assistant)
        route("GET", r"/v2/ai/assistants/(?P<aid>[^/]+)/versions", self.list_versions)
        route(
            "POST", r"/v2/ai/assistants/(?P<aid>[^/]+)/versions/(?P<vid>[^/]+)/promote", self.promote_version
        )
        route("GET", r"/v2/ai/assistants/(?P<aid>[^/]+)/versions/(?P<vid>[^/]+)", self.get_version)
        route("POST", r"/v2/ai/assistants/(?P<aid>[^/]+)/versions/(?P<vid>[^/]+)", self.update_version)
        route("DELETE", r"/v2/ai/assistants/(?P<aid>[^/]+)/versions/(?P<vid>[^/]+)", self.delete_version)
        route("POST", r"/v2/ai/assistants/(?P<aid>[^/]+)/scheduled_events", self.create_scheduled_event)
        route("GET", r"/v2/ai/assistants/(?P<aid>[^/]+)/scheduled_events", self.list_scheduled_events)
        route(
            "GET",
            r"/v2/ai/assistants/(?P<aid>[^/]+)/scheduled_events/(?P<eid>[^/]+)",
            self.get_scheduled_event,
        )
        route(
            "DELETE",
            r"/v2/ai/assistants/(?P<aid>[^/]+)/scheduled_events/(?P<eid>[^/]+)",
            self.delete_scheduled_event,
        )
        route("GET", r"/v2/ai/assistants/(?P<aid>[^/]+)", self.get_assistant)
        route("POST", r"/v2/ai/assistants/(?P<aid>[^/]+)", self.update_assistant)
        route("DELETE", r"/v2/ai/assistants/(?P<aid>[^/]+)", self.delete_assistant)
        route("POST", r"/v2/calls", self.dial, commits=True)
        route("GET", r"/v2/calls/(?P<ccid>[^/]+)", self.get_call)
        route("POST", r"/v2/calls/(?P<ccid>[^/]+)/actions/(?P<action>[a-z_]+)", self.call_action)
        route("POST", r"/v2/texml/ai_calls/(?P<conn>[^/]+)", self.texml_ai_call, commits=True)
        route("POST", r"/v2/ai/conversations/insights", self.create_insight)
        route("GET", r"/v2/ai/conversations/insights", self.list_insights)
        route("GET", r"/v2/ai/conversations/insights/(?P<iid>[^/]+)", self.get_insight)
        route("POST", r"/v2/ai/conversations/insight-groups", self.create_group)
        route("GET", r"/v2/ai/conversations/insight-groups", self.list_groups)
        route("GET", r"/v2/ai/conversations/insight-groups/(?P<gid>[^/]+)", self.get_group)
        route(
            "POST",
            r"/v2/ai/conversations/insight-groups/(?P<gid>[^/]+)/insights/(?P<iid>[^/]+)/assign",
            self.assign_insight,
        )
        route("GET", r"/v2/ai/conversations", self.list_conversations)
        route("GET", r"/v2/ai/conversations/(?P<cid>[^/]+)", self.get_conversation)
        route("GET", r"/v2/ai/conversations/(?P<cid>[^/]+)/messages", self.conversation_messages)
        route(
            "GET", r"/v2/ai/conversations/(?P<cid>[^/]+)/conversations-insights", self.conversation_insights
        )
        route("GET", r"/v2/phone_numbers", self.list_numbers)
        route("GET", r"/v2/phone_numbers/(?P<nid>[^/]+)", self.get_number)
        route("PATCH", r"/v2/phone_numbers/(?P<nid>[^/]+)", self.update_number)
        route("GET", r"/v2/enterprises/(?P<eid>[^/]+)/reputation/numbers", self.list_reputation_numbers)
        route(
            "GET",
            r"/v2/enterprises/(?P<eid>[^/]+)/reputation/numbers/(?P<number>[^/]+)",
            self.get_reputation_number,
        )

    def _route(
        self, method: str, pattern: str, fn: Callable[[Request], Response], *, commits: bool = False
    ) -> None:
        self.routes.append((method, re.compile(pattern + r"/?$"), fn, commits))

    def match(
        self, method: str, path: str
    ) -> tuple[Callable[[Request], Response], dict[str, str], bool] | None:
        """The handler for ``method path`` (None → 404, or 405 if the path exists)."""
        for m, pattern, fn, commits in self.routes:
            found = pattern.match(path)
            if found and m == method:
                return fn, found.groupdict(), commits
        return None

    def path_exists(self, path: str) -> bool:
        """True if some method serves ``path`` (to answer 405 rather than 404)."""
        return any(p.match(path) for _, p, _, _ in self.routes)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _json(req: Request) -> dict[str, Any]:
        import json

        if not req.body.strip():
            return {}
        try:
            doc = json.loads(req.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadBody("body is not valid JSON") from exc
        if not isinstance(doc, dict):
            raise BadBody("body must be a JSON object")
        return doc

    @staticmethod
    def _ai_422(items: list[dict[str, Any]]) -> Response:
        return Response(422, {"detail": items})

    @staticmethod
    def _not_found(what: str) -> Response:
        return Response(404, errors(error("10005", "Resource not found", f"{what} not found")))

    @staticmethod
    def _page(
        req: Request, items: list[Any], default_size: int = 20, max_size: int = 250
    ) -> tuple[list[Any], dict]:
        try:
            number = max(1, int(req.q("page[number]", "1") or 1))
            size = min(max_size, max(1, int(req.q("page[size]", str(default_size)) or default_size)))
        except ValueError:
            number, size = 1, default_size
        start = (number - 1) * size
        return items[start : start + size], page_meta(len(items), number, size)

    def _account(self, req: Request) -> Account:
        assert req.account is not None  # the server authenticates before routing
        return req.account

    # ------------------------------------------------------------------ misc
    def _dial_refusal(self) -> Response | None:
        """The configured refusal of every dial (``dial_refusal_status``), as Telnyx words it."""
        status = self.sim.config.dial_refusal_status
        if status is None:
            return None
        titles = {401: ("10009", "Authentication failed"), 402: ("10010", "Insufficient balance")}
        code, title = titles.get(status, ("10010", "Authorization failed"))
        return Response(status, errors(error(code, title, f"The dial was refused (simulated {status}).")))

    def public_key(self, req: Request) -> Response:
        """``GET /v2/public_key``: the account's webhook signing key (``data.public``)."""
        return Response(200, {"data": {"public": self._account(req).public_key_b64}})

    # ------------------------------------------------------------------ assistants
    def _validate_assistant(self, body: dict[str, Any], *, create: bool) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        if create:
            for name in ("name", "instructions"):
                if name not in body:
                    problems.append(detail(["body", name], "Field required", "missing"))
        for name in (
            "name",
            "instructions",
            "greeting",
            "model",
            "description",
            "dynamic_variables_webhook_url",
        ):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                problems.append(detail(["body", name], "Input should be a valid string", "string_type"))
        timeout = body.get("dynamic_variables_webhook_timeout_ms")
        if timeout is not None and (not isinstance(timeout, int) or not 1 <= timeout <= 10000):
            problems.append(
                detail(
                    ["body", "dynamic_variables_webhook_timeout_ms"],
                    "Input should be less than or equal to 10000",
                    "less_than_equal",
                )
            )
        for i, feature in enumerate(body.get("enabled_features") or []):
            if feature not in ("telephony", "messaging"):
                problems.append(
                    detail(
                        ["body", "enabled_features", i], "Input should be 'telephony' or 'messaging'", "enum"
                    )
                )
        if "dynamic_variables" in body and not isinstance(body["dynamic_variables"], dict | None):
            problems.append(
                detail(["body", "dynamic_variables"], "Input should be a valid dictionary", "dict_type")
            )
        telephony = body.get("telephony_settings")
        if isinstance(telephony, dict):
            limit = telephony.get("time_limit_secs")
            if limit is not None and (not isinstance(limit, int) or not 30 <= limit <= 14400):
                problems.append(
                    detail(
                        ["body", "telephony_settings", "time_limit_secs"],
                        "Input should be between 30 and 14400",
                        "less_than_equal",
                    )
                )
        if (
            "version_name" in body
            and isinstance(body["version_name"], str)
            and len(body["version_name"]) > 50
        ):
            problems.append(
                detail(
                    ["body", "version_name"], "String should have at most 50 characters", "string_too_long"
                )
            )
        return problems

    def _new_texml_app(self, account: Account) -> str:
        app_id = new_numeric_id(account.rng)
        account.texml_apps.add(app_id)
        return app_id

    def _build_assistant(
        self, account: Account, body: dict[str, Any], assistant_id: str | None = None
    ) -> dict:
        now = iso_now()
        fields = {k: v for k, v in body.items() if k not in ("promote_to_main", "tool_ids")}
        assistant = {**ASSISTANT_DEFAULTS, **fields}
        assistant["id"] = assistant_id or f"assistant-{new_uuid(account.rng)}"
        assistant["created_at"] = now
        telephony = dict(assistant.get("telephony_settings") or {})
        telephony.setdefault("default_texml_app_id", self._new_texml_app(account))
        telephony.setdefault("time_limit_secs", 1800)
        telephony.setdefault("user_idle_reply_secs", 10)
        assistant["telephony_settings"] = telephony
        if body.get("tool_ids"):
            # Shared tools are merged into `tools` with shared:true in responses (WIRE §12.1).
            shared = [{"type": "webhook", "id": tid, "shared": True} for tid in body["tool_ids"]]
            assistant["tools"] = [*assistant.get("tools", []), *shared]
        assistant["version_id"] = new_uuid(account.rng)
        assistant["version_name"] = body.get("version_name") or "New assistant"
        assistant["version_created_at"] = now
        return assistant

    def create_assistant(self, req: Request) -> Response:
        """``POST /v2/ai/assistants``."""
        account = self._account(req)
        body = self._json(req)
        problems = self._validate_assistant(body, create=True)
        if problems:
            return self._ai_422(problems)
        with account.lock:
            assistant = self._build_assistant(account, body)
            account.assistants[assistant["id"]] = assistant
            account.versions[assistant["id"]] = {assistant["version_id"]: dict(assistant)}
        return Response(200, assistant)

    def list_assistants(self, req: Request) -> Response:
        """``GET /v2/ai/assistants`` → ``{"data": [...]}`` (no meta)."""
        account = self._account(req)
        with account.lock:
            return Response(200, {"data": list(account.assistants.values())})

    def get_assistant(self, req: Request) -> Response:
        """``GET /v2/ai/assistants/{id}``."""
        account = self._account(req)
        with account.lock:
            assistant = account.assistants.get(req.params["aid"])
        return Response(200, assistant) if assistant else self._not_found("Assistant")

    def update_assistant(self, req: Request) -> Response:
        """``POST /v2/ai/assistants/{id}``: a new version; promoted to main unless ``promote_to_main=false``."""
        account = self._account(req)
        body = self._json(req)
        problems = self._validate_assistant(body, create=False)
        if problems:
            return self._ai_422(problems)
        with account.lock:
            current = account.assistants.get(req.params["aid"])
            if current is None:
                return self._not_found("Assistant")
            updated = {
                **current,
                **{k: v for k, v in body.items() if k not in ("promote_to_main", "tool_ids")},
            }
            telephony = {
                **(current.get("telephony_settings") or {}),
                **(body.get("telephony_settings") or {}),
            }
            telephony["default_texml_app_id"] = current["telephony_settings"]["default_texml_app_id"]
            updated["telephony_settings"] = telephony
            updated["version_id"] = new_uuid(account.rng)
            updated["version_name"] = body.get("version_name") or current.get("version_name")
            updated["version_created_at"] = iso_now()
            account.versions[current["id"]][updated["version_id"]] = dict(updated)
            if body.get("promote_to_main", True):
                account.assistants[current["id"]] = updated
        return Response(200, updated)

    def delete_assistant(self, req: Request) -> Response:
        """``DELETE /v2/ai/assistants/{id}``."""
        account = self._account(req)
        with account.lock:
            if account.assistants.pop(req.params["aid"], None) is None:
                return self._not_found("Assistant")
            account.versions.pop(req.params["aid"], None)
        return Response(200, {"id": req.params["aid"], "object": "assistant", "deleted": True})

    def clone_assistant(self, req: Request) -> Response:
        """``POST /v2/ai/assistants/{id}/clone`` (telephony and messaging settings are not copied)."""
        account = self._account(req)
        with account.lock:
            source = account.assistants.get(req.params["aid"])
            if source is None:
                return self._not_found("Assistant")
            body = {
                k: v
                for k, v in source.items()
                if k
                not in (
                    "id",
                    "created_at",
                    "telephony_settings",
                    "messaging_settings",
                    "version_id",
                    "version_name",
                    "version_created_at",
                )
            }
            clone = self._build_assistant(account, body)
            account.assistants[clone["id"]] = clone
            account.versions[clone["id"]] = {clone["version_id"]: dict(clone)}
        return Response(200, clone)

    def list_versions(self, req: Request) -> Response:
        """``GET /v2/ai/assistants/{id}/versions`` (newest first)."""
        account = self._account(req)
        with account.lock:
            versions = account.versions.get(req.params["aid"])
            if versions is None:
                return self._not_found("Assistant")
            return Response(200, {"data": list(reversed(list(versions.values())))})

    def get_version(self, req: Request) -> Response:
        """``GET /v2/ai/assistants/{id}/versions/{version_id}``."""
        account = self._account(req)
        with account.lock:
            version = account.versions.get(req.params["aid"], {}).get(req.params["vid"])
        return Response(200, version) if version else self._not_found("Assistant version")

    def update_version(self, req: Request) -> Response:
        """``POST /v2/ai/assistants/{id}/versions/{version_id}``: edit that version in place."""
        account = self._account(req)
        body = self._json(req)
        problems = self._validate_assistant(body, create=False)
        if problems:
            return self._ai_422(problems)
        with account.lock:
            versions = account.versions.get(req.params["aid"], {})
            version = versions.get(req.params["vid"])
            if version is None:
                return self._not_found("Assistant version")
            version.update(
                {
                    k: v
                    for k, v in body.items()
                    if k not in ("promote_to_main", "tool_ids", "telephony_settings")
                }
            )
            main = account.assistants.get(req.params["aid"])
            if main is not None and main["version_id"] == version["version_id"]:
                account.assistants[req.params["aid"]] = dict(version)
            return Response(200, dict(version))

    def delete_version(self, req: Request) -> Response:
        """``DELETE …/versions/{version_id}`` → 204; the main version cannot be deleted (422)."""
        account = self._account(req)
        with account.lock:
            versions = account.versions.get(req.params["aid"], {})
            if req.params["vid"] not in versions:
                return self._not_found("Assistant version")
            main = account.assistants.get(req.params["aid"])
            if main is not None and main["version_id"] == req.params["vid"]:
                return self._ai_422(
                    [detail(["path", "version_id"], "Cannot delete the main version", "value_error")]
                )
            del versions[req.params["vid"]]
        return Response(204)

    def promote_version(self, req: Request) -> Response:
        """``POST …/versions/{version_id}/promote``: that version becomes main."""
        account = self._account(req)
        with account.lock:
            version = account.versions.get(req.params["aid"], {}).get(req.params["vid"])
            if version is None:
                return self._not_found("Assistant version")
            account.assistants[req.params["aid"]] = dict(version)
            return Response(200, dict(version))

    # ------------------------------------------------------------------ scheduled events
    def create_scheduled_event(self, req: Request) -> Response:
        """``POST …/scheduled_events`` → 201; the call is placed at ``scheduled_at_fixed_datetime``."""
        account = self._account(req)
        body = self._json(req)
        problems: list[dict[str, Any]] = []
        for name in (
            "telnyx_conversation_channel",
            "telnyx_end_user_target",
            "telnyx_agent_target",
            "scheduled_at_fixed_datetime",
        ):
            if name not in body:
                problems.append(detail(["body", name], "Field required", "missing"))
        channel = body.get("telnyx_conversation_channel")
        if channel is not None and channel not in ("phone_call", "sms_chat"):
            problems.append(
                detail(
                    ["body", "telnyx_conversation_channel"],
                    "Input should be 'phone_call' or 'sms_chat'",
                    "enum",
                )
            )
        if channel == "sms_chat" and not body.get("text"):
            problems.append(detail(["body", "text"], "Field required for sms_chat", "missing"))
        when = _parse_dt(body.get("scheduled_at_fixed_datetime"))
        if "scheduled_at_fixed_datetime" in body and when is None:
            problems.append(
                detail(
                    ["body", "scheduled_at_fixed_datetime"],
                    "Input should be a valid datetime",
                    "datetime_parsing",
                )
            )
        for name, low, high in (("retry_interval_secs", 60, 86400), ("max_retries_client_errors", 0, 10)):
            value = body.get(name)
            if value is not None and (not isinstance(value, int) or not low <= value <= high):
                problems.append(
                    detail(
                        ["body", name],
                        f"Input should be between {low} and {high}",
                        "greater_than_equal" if isinstance(value, int) and value < low else "less_than_equal",
                    )
                )
        for key, value in (body.get("dynamic_variables") or {}).items():
            if not isinstance(value, str):
                problems.append(
                    detail(
                        ["body", "dynamic_variables", key], "Input should be a valid string", "string_type"
                    )
                )
        if problems:
            return self._ai_422(problems)
        with account.lock:
            if req.params["aid"] not in account.assistants:
                return self._not_found("Assistant")
            event: dict[str, Any] = {
                "assistant_id": req.params["aid"],
                "scheduled_event_id": new_uuid(account.rng),
                "telnyx_conversation_channel": channel,
                "telnyx_end_user_target": body["telnyx_end_user_target"],
                "telnyx_agent_target": body["telnyx_agent_target"],
                "scheduled_at_fixed_datetime": body["scheduled_at_fixed_datetime"],
                "status": "pending",
                "created_at": iso_now(),
                "dynamic_variables": body.get("dynamic_variables") or {},
                "conversation_metadata": body.get("conversation_metadata") or {},
                "errors": [],
                "retry_count": 0,
            }
            if channel == "sms_chat":
                event["text"] = body["text"]
            else:
                event.update(
                    {
                        "max_retries_client_errors": body.get("max_retries_client_errors", 0),
                        "retry_interval_secs": body.get("retry_interval_secs", 3600),
                        "retry_attempts": 0,
                        "call_settings": body.get("call_settings") or {},
                        "call_attempts": [],
                    }
                )
            account.scheduled_events.setdefault(req.params["aid"], {})[event["scheduled_event_id"]] = event
        assert when is not None
        self.sim.schedule_event_dispatch(account, event, when)
        return Response(201, event)

    def list_scheduled_events(self, req: Request) -> Response:
        """``GET …/scheduled_events`` with ``from_date``/``to_date``/``conversation_channel`` and paging."""
        account = self._account(req)
        with account.lock:
            items = list(account.scheduled_events.get(req.params["aid"], {}).values())
        channel = req.q("conversation_channel")
        start, end = _parse_dt(req.q("from_date")), _parse_dt(req.q("to_date"))
        if channel:
            items = [e for e in items if e["telnyx_conversation_channel"] == channel]
        if start:
            items = [e for e in items if (_parse_dt(e["scheduled_at_fixed_datetime"]) or start) >= start]
        if end:
            items = [e for e in items if (_parse_dt(e["scheduled_at_fixed_datetime"]) or end) <= end]
        page, meta = self._page(req, items, max_size=100)
        return Response(200, {"data": page, "meta": meta})

    def get_scheduled_event(self, req: Request) -> Response:
        """``GET …/scheduled_events/{event_id}`` (not wrapped in ``data``)."""
        account = self._account(req)
        with account.lock:
            event = account.scheduled_events.get(req.params["aid"], {}).get(req.params["eid"])
            return Response(200, dict(event)) if event else self._not_found("Scheduled event")

    def delete_scheduled_event(self, req: Request) -> Response:
        """``DELETE …/scheduled_events/{event_id}`` → 200, empty body (the spec documents none)."""
        account = self._account(req)
        with account.lock:
            event = account.scheduled_events.get(req.params["aid"], {}).pop(req.params["eid"], None)
            if event is None:
                return self._not_found("Scheduled event")
            event["status"] = "deleted"  # a pending dispatch sees this and does nothing
        return Response(200, b"")

    # ------------------------------------------------------------------ Call Control
    def dps_check(self, account: Account, *, count: bool = True) -> Response | None:
        """Telnyx's dial limits: 30/s and 150 per rolling 5 s per account (WIRE §12.5).

        ``count=False`` for the simulator's own dials (scheduled events): they wait, nobody sees a 429.
        """
        now = time.monotonic()
        times = account.dial_times
        while times and now - times[0] > 5.0:
            times.popleft()
        last_second = sum(1 for t in times if now - t <= 1.0)
        if last_second >= account.config.dials_per_second or len(times) >= account.config.dials_per_5s:
            if count:
                account.stats.rate_limited_429 += 1
            return Response(
                429,
                errors(
                    error(
                        "90103",
                        "Dials per second limit reached",
                        f"You have exceeded the dials per second limit of {account.config.dials_per_second} "
                        f"({account.config.dials_per_5s} per rolling 5 seconds) for your account.",
                    )
                ),
            )
        times.append(now)
        return None

    def _replay(self, account: Account, command_id: str | None) -> Response | None:
        if not command_id:
            return None
        window = self.sim.config.command_id_window_s
        hit = account.dial_replays.get(command_id)
        if hit and time.monotonic() - hit[0] <= window:
            account.stats.command_id_replays += 1
            return Response(hit[1], hit[2])
        return None

    def _remember(self, account: Account, command_id: str | None, response: Response) -> None:
        if command_id:
            now = time.monotonic()
            window = self.sim.config.command_id_window_s
            stale = [k for k, (t, _, _) in account.dial_replays.items() if now - t > window]
            for key in stale:
                del account.dial_replays[key]
            account.dial_replays[command_id] = (now, response.status, response.body)

    def dial(self, req: Request) -> Response:
        """``POST /v2/calls``: validate, de-duplicate on ``command_id``, rate-limit, place and play out."""
        account = self._account(req)
        refused = self._dial_refusal()
        if refused is not None:
            return refused
        body = self._json(req)
        problems = []
        for name in ("connection_id", "to", "from"):
            if body.get(name) in (None, "", []):
                problems.append(
                    error(
                        "10004",
                        "Missing required parameter",
                        f"The '{name}' parameter is required.",
                        f"/{name}",
                    )
                )
        to_value = body.get("to")
        targets = to_value if isinstance(to_value, list) else [to_value] if to_value else []
        for target in targets:
            number = target.split(",", 1)[0] if isinstance(target, str) else target
            if not (is_e164(number) or (isinstance(number, str) and number.startswith("sip:"))):
                problems.append(
                    error(
                        "10016",
                        "Phone number must be in +E164 format",
                        "The 'to' parameter must be a phone number in +E164 format or a SIP URI.",
                        "/to",
                    )
                )
                break
        if body.get("from") and not is_e164(body.get("from")):
            problems.append(
                error(
                    "10016",
                    "Phone number must be in +E164 format",
                    "The 'from' parameter must be a phone number in +E164 format.",
                    "/from",
                )
            )
        if body.get("client_state") is not None and not is_base64(body.get("client_state")):
            problems.append(
                error(
                    "10015",
                    "Invalid client_state",
                    "client_state must be a valid Base64 string.",
                    "/client_state",
                )
            )
        amd = body.get("answering_machine_detection", "disabled")
        if amd not in AMD_MODES:
            problems.append(
                error(
                    "10032",
                    "Invalid enumerated value",
                    f"answering_machine_detection must be one of {sorted(AMD_MODES)}.",
                    "/answering_machine_detection",
                )
            )
        limit = body.get("time_limit_secs")
        if limit is not None and (not isinstance(limit, int) or not 30 <= limit <= 14400):
            problems.append(
                error(
                    "10033",
                    "Value out of range",
                    "time_limit_secs must be between 30 and 14400.",
                    "/time_limit_secs",
                )
            )
        timeout = body.get("timeout_secs", 30)
        if not isinstance(timeout, int) or not 5 <= timeout <= 600:
            problems.append(
                error(
                    "10033", "Value out of range", "timeout_secs must be between 5 and 600.", "/timeout_secs"
                )
            )
        assistant = body.get("assistant")
        if assistant is not None and (not isinstance(assistant, dict) or not assistant.get("id")):
            problems.append(
                error("10004", "Missing required parameter", "assistant.id is required.", "/assistant/id")
            )
        for name in ("webhook_url", "webhook_failover_url"):
            url = body.get(name)
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                problems.append(error("10015", "Bad Request", f"{name} must be an http(s) URL.", f"/{name}"))
        if problems:
            return Response(422, errors(*problems))
        with account.lock:
            if not account.known_connection(str(body["connection_id"])):
                return Response(
                    422,
                    errors(
                        error(
                            "10015",
                            "Invalid connection_id",
                            "The connection_id is not a Call Control App of this account.",
                            "/connection_id",
                        )
                    ),
                )
            replay = self._replay(account, body.get("command_id"))
            if replay is not None:
                return replay
            limited = self.dps_check(account)
            if limited is not None:
                return limited
            call = self.sim.place_call(
                account,
                kind="call_control",
                connection_id=str(body["connection_id"]),
                from_=body["from"],
                to=targets[0].split(",", 1)[0],
                client_state=body.get("client_state"),
                webhook_url=body.get("webhook_url"),
                webhook_urls=body.get("webhook_urls") or {},
                amd=amd,
                assistant=assistant,
                timeout_secs=timeout,
                time_limit=limit,
                texml={},
                command_id=body.get("command_id"),
            )
            account.stats.dials_accepted += 1
            response = Response(
                200,
                {
                    "data": {
                        "call_control_id": call.call_control_id,
                        "call_leg_id": call.call_leg_id,
                        "call_session_id": call.call_session_id,
                        "is_alive": False,
                        "record_type": "call",
                        "client_state": call.client_state,
                        "start_time": call.start_time,
                    }
                },
            )
            self._remember(account, body.get("command_id"), response)
        return response

    def get_call(self, req: Request) -> Response:
        """``GET /v2/calls/{call_control_id}``: live status."""
        account = self._account(req)
        with account.lock:
            call = account.calls.get(req.params["ccid"])
            if call is None:
                return Response(
                    404,
                    errors(
                        error(
                            "90015",
                            "Invalid Call Control ID",
                            "The call_control_id is not valid.",
                            "/call_control_id",
                        )
                    ),
                )
            data: dict[str, Any] = {
                "call_control_id": call.call_control_id,
                "call_leg_id": call.call_leg_id,
                "call_session_id": call.call_session_id,
                "client_state": call.client_state,
                "is_alive": call.is_alive,
                "record_type": "call",
                "start_time": call.start_time,
            }
            if call.sim_answered_at is not None:
                data["call_duration"] = max(0, round(call.sim_now - call.sim_answered_at))
            if call.end_time:
                data["end_time"] = call.end_time
        return Response(200, {"data": data})

    def call_action(self, req: Request) -> Response:
        """``POST /v2/calls/{id}/actions/{hangup|ai_assistant_start|ai_assistant_stop|transfer|speak}``."""
        account = self._account(req)
        body = self._json(req)
        action = req.params["action"]
        if action not in ("hangup", "ai_assistant_start", "ai_assistant_stop", "transfer", "speak"):
            return Response(
                404, errors(error("10005", "Resource not found", f"Action {action} is not simulated"))
            )
        if body.get("client_state") is not None and not is_base64(body["client_state"]):
            return Response(
                422,
                errors(
                    error(
                        "10015",
                        "Invalid client_state",
                        "client_state must be a valid Base64 string.",
                        "/client_state",
                    )
                ),
            )
        with account.lock:
            call = account.calls.get(req.params["ccid"])
            if call is None:
                return Response(
                    422,
                    errors(
                        error(
                            "90015",
                            "Invalid Call Control ID",
                            "The call_control_id is not valid.",
                            "/call_control_id",
                        )
                    ),
                )
            command_id = body.get("command_id")
            if command_id:
                hit = call.command_ids.get(f"{action}:{command_id}")
                if hit and time.monotonic() - hit[0] <= self.sim.config.command_id_window_s:
                    return Response(hit[1], hit[2])
            response = self._run_action(call, action, body)
            if response.status == 200:
                if body.get("client_state") is not None:
                    call.client_state = body["client_state"]
                if command_id:
                    call.command_ids[f"{action}:{command_id}"] = (
                        time.monotonic(),
                        response.status,
                        response.body,
                    )
        return response

    def _run_action(self, call: CallRecord, action: str, body: dict[str, Any]) -> Response:
        playout = self.sim.playout
        if not call.is_alive:
            return Response(
                422,
                errors(
                    error(
                        "90018",
                        "Call has already ended",
                        "This call is no longer active and can't receive commands.",
                    )
                ),
            )
        ok = Response(200, {"data": {"result": "ok"}})
        if action == "hangup":
            playout.hangup_action(call)
            return ok
        if call.state != "answered":
            return Response(
                422,
                errors(
                    error(
                        "90034",
                        "Call not answered yet",
                        "This call must be answered before it can receive this command.",
                    )
                ),
            )
        if action == "ai_assistant_start":
            if call.conversation_running:
                return Response(
                    422,
                    errors(
                        error(
                            "90061",
                            "AI Assistant is already in progress",
                            "The AI assistant cannot be started more than once.",
                        )
                    ),
                )
            assistant = body.get("assistant")
            if not isinstance(assistant, dict) or not assistant.get("id"):
                return Response(
                    422,
                    errors(
                        error(
                            "10004",
                            "Missing required parameter",
                            "assistant.id is required.",
                            "/assistant/id",
                        )
                    ),
                )
            conversation_id = new_uuid(call.rng)
            playout.start_conversation_action(call, assistant, conversation_id)
            return Response(200, {"data": {"result": "ok", "conversation_id": conversation_id}})
        if action == "speak":
            for name in ("payload", "voice"):  # SpeakRequest's required fields
                if not isinstance(body.get(name), str) or not body[name].strip():
                    return Response(
                        422,
                        errors(
                            error("10004", "Missing required parameter", f"{name} is required.", f"/{name}")
                        ),
                    )
            if len(body["payload"]) > 3000:
                return Response(
                    422,
                    errors(
                        error(
                            "10015",
                            "Invalid parameter",
                            "payload is limited to 3,000 characters.",
                            "/payload",
                        )
                    ),
                )
            playout.speak_action(call, body["payload"])
            return ok
        if action == "ai_assistant_stop":
            playout.stop_conversation_action(call)
            return ok
        target = body.get("to")
        if not target:
            return Response(
                422,
                errors(
                    error("10004", "Missing required parameter", "The 'to' parameter is required.", "/to")
                ),
            )
        if not (is_e164(target) or str(target).startswith("sip:")):
            return Response(
                422,
                errors(
                    error(
                        "10016",
                        "Phone number must be in +E164 format",
                        "The 'to' parameter must be +E164 or a SIP URI.",
                        "/to",
                    )
                ),
            )
        playout.transfer_action(call)
        return ok

    # ------------------------------------------------------------------ TeXML AI calls
    def texml_ai_call(self, req: Request) -> Response:
        """``POST /v2/texml/ai_calls/{connection_id}`` (PascalCase; response not wrapped)."""
        account = self._account(req)
        refused = self._dial_refusal()
        if refused is not None:
            return refused
        body = self._texml_body(req)
        problems = []
        for name in ("From", "To", "AIAssistantId"):
            if not body.get(name):
                problems.append(
                    error(
                        "10004",
                        "Missing required parameter",
                        f"The '{name}' parameter is required.",
                        f"/{name}",
                    )
                )
        for name in ("To", "From"):
            if body.get(name) and not is_e164(body[name]):
                problems.append(
                    error(
                        "10016",
                        "Phone number must be in +E164 format",
                        f"'{name}' must be a phone number in +E164 format.",
                        f"/{name}",
                    )
                )
        for name in ("Twiml", "Texml", "Url"):
            if name in body:
                problems.append(
                    error("10015", "Bad Request", f"'{name}' is not allowed for AI calls.", f"/{name}")
                )
        variables = body.get("AIAssistantDynamicVariables") or {}
        if not isinstance(variables, dict) or any(not isinstance(v, str) for v in variables.values()):
            problems.append(
                error(
                    "10015",
                    "Bad Request",
                    "AIAssistantDynamicVariables values must be strings.",
                    "/AIAssistantDynamicVariables",
                )
            )
        detection = body.get("MachineDetection", "Disable")
        if detection not in ("Enable", "Disable", "DetectMessageEnd"):
            problems.append(
                error(
                    "10032",
                    "Invalid enumerated value",
                    "MachineDetection must be one of Enable, Disable, DetectMessageEnd.",
                    "/MachineDetection",
                )
            )
        mode = body.get("DetectionMode", "Regular")
        if mode not in ("Premium", "Regular", "PremiumCallScreening"):
            problems.append(
                error(
                    "10032",
                    "Invalid enumerated value",
                    "DetectionMode must be one of Premium, Regular, PremiumCallScreening.",
                    "/DetectionMode",
                )
            )
        timeout = _int_or(body.get("Timeout"), 30)
        limit = _int_or(body.get("TimeLimit"), 14400)
        if timeout is None or not 5 <= timeout <= 120:
            problems.append(
                error("10033", "Value out of range", "Timeout must be between 5 and 120.", "/Timeout")
            )
        if limit is None or not 30 <= limit <= 14400:
            problems.append(
                error("10033", "Value out of range", "TimeLimit must be between 30 and 14400.", "/TimeLimit")
            )
        if problems:
            return Response(422, errors(*problems))
        assert timeout is not None
        assert limit is not None
        connection_id = req.params["conn"]
        with account.lock:
            if not account.known_connection(connection_id):
                return Response(
                    422,
                    errors(
                        error(
                            "10015",
                            "Invalid connection_id",
                            "The connection_id is not a TeXML application of this account.",
                            "/connection_id",
                        )
                    ),
                )
            limited = self.dps_check(account)
            if limited is not None:
                return limited
            events = set(str(body.get("StatusCallbackEvent") or "completed").split())
            status_urls = [u for u in [body.get("StatusCallback"), *(body.get("StatusCallbacks") or [])] if u]
            conv_urls = [
                u for u in [body.get("ConversationCallback"), *(body.get("ConversationCallbacks") or [])] if u
            ]
            async_amd = str(body.get("AsyncAmd", "false")).lower() == "true"
            amd = (
                "disabled"
                if detection == "Disable"
                else ("premium" if mode.startswith("Premium") else "detect")
            )
            texml = {
                "events": events,
                "status_callbacks": status_urls,
                "conversation_callbacks": conv_urls,
                "amd_callback": body.get("AsyncAmdStatusCallback"),
                "async_amd": async_amd,
                "machine_detection": detection,
                "time_limit": limit,
                "assistant_version": body.get("AIAssistantVersion"),
            }
            call = self.sim.place_call(
                account,
                kind="texml",
                connection_id=connection_id,
                from_=body["From"],
                to=body["To"],
                client_state=None,
                webhook_url=None,
                webhook_urls={},
                amd=amd,
                assistant={"id": body["AIAssistantId"], "dynamic_variables": variables},
                timeout_secs=timeout,
                time_limit=limit,
                texml=texml,
            )
            if amd != "disabled" and not async_amd:
                machine = "machine_end_beep" if detection == "DetectMessageEnd" else "machine_start"
                texml["sync_answered_by"] = machine if call.scenario == Scenario.VOICEMAIL else "human"
            account.stats.texml_calls_accepted += 1
        return Response(
            200, {"call_sid": call.call_control_id, "from": call.from_, "status": "queued", "to": call.to}
        )

    def _texml_body(self, req: Request) -> dict[str, Any]:
        content_type = req.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
            body: dict[str, Any] = {}
            variables: dict[str, str] = {}
            for key, values in form.items():
                if key.startswith("AIAssistantDynamicVariables[") and key.endswith("]"):
                    variables[key[len("AIAssistantDynamicVariables[") : -1]] = values[0]
                elif key in ("StatusCallbacks", "ConversationCallbacks"):
                    body[key] = values
                else:
                    body[key] = values[0]
            if variables:
                body["AIAssistantDynamicVariables"] = variables
            return body
        return self._json(req)

    # ------------------------------------------------------------------ conversations and insights
    def list_conversations(self, req: Request) -> Response:
        """``GET /v2/ai/conversations`` with PostgREST filters (``metadata->call_control_id=eq.X``)."""
        account = self._account(req)
        with account.lock:
            items = [dict(c) for c in account.conversations.values()]
        for key, values in req.query.items():
            if key in ("limit", "order", "or") or key.startswith("page["):
                continue
            items = [c for c in items if _postgrest_match(_field(c, key), values[0])]
        if req.q("or"):
            clauses = _split_or(req.q("or") or "")
            items = [c for c in items if any(_postgrest_match(_field(c, f), cond) for f, cond in clauses)]
        order = (req.q("order") or "created_at.desc").split(".")
        items.sort(key=lambda c: str(c.get(order[0]) or ""), reverse=len(order) > 1 and order[1] == "desc")
        limit = _int_or(req.q("limit"), None)
        if limit:
            items = items[:limit]
        return Response(200, {"data": items})

    def get_conversation(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/{id}`` → ``{"data": Conversation}``."""
        account = self._account(req)
        with account.lock:
            conversation = account.conversations.get(req.params["cid"])
        return Response(200, {"data": conversation}) if conversation else self._not_found("Conversation")

    def conversation_messages(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/{id}/messages`` (paged, newest first)."""
        account = self._account(req)
        with account.lock:
            if req.params["cid"] not in account.conversations:
                return self._not_found("Conversation")
            items = list(account.messages.get(req.params["cid"], []))
        page, meta = self._page(req, items)
        return Response(200, {"data": page, "meta": meta})

    def conversation_insights(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/{id}/conversations-insights``."""
        account = self._account(req)
        with account.lock:
            if req.params["cid"] not in account.conversations:
                return self._not_found("Conversation")
            items = list(account.conversation_insights.get(req.params["cid"], []))
        page, meta = self._page(req, items)
        return Response(200, {"data": page, "meta": meta})

    def create_insight(self, req: Request) -> Response:
        """``POST /v2/ai/conversations/insights``."""
        account = self._account(req)
        body = self._json(req)
        problems = [
            detail(["body", n], "Field required", "missing")
            for n in ("name", "instructions")
            if not isinstance(body.get(n), str)
        ]
        if problems:
            return self._ai_422(problems)
        insight = {
            "id": new_uuid(account.rng),
            "name": body["name"],
            "instructions": body["instructions"],
            "json_schema": body.get("json_schema", ""),
            "webhook": body.get("webhook", ""),
            "insight_type": "custom",
            "created_at": iso_now(),
        }
        with account.lock:
            account.insights[insight["id"]] = insight
        return Response(200, {"data": insight})

    def list_insights(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/insights`` (paged)."""
        account = self._account(req)
        with account.lock:
            items = list(account.insights.values())
        page, meta = self._page(req, items)
        return Response(200, {"data": page, "meta": meta})

    def get_insight(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/insights/{id}``."""
        account = self._account(req)
        with account.lock:
            insight = account.insights.get(req.params["iid"])
        return Response(200, {"data": insight}) if insight else self._not_found("Insight")

    def create_group(self, req: Request) -> Response:
        """``POST /v2/ai/conversations/insight-groups``."""
        account = self._account(req)
        body = self._json(req)
        if not isinstance(body.get("name"), str):
            return self._ai_422([detail(["body", "name"], "Field required", "missing")])
        group = {
            "id": new_uuid(account.rng),
            "name": body["name"],
            "description": body.get("description", ""),
            "webhook": body.get("webhook", ""),
            "created_at": iso_now(),
            "insights": [],
        }
        with account.lock:
            account.insight_groups[group["id"]] = group
        return Response(200, {"data": group})

    def list_groups(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/insight-groups`` (paged)."""
        account = self._account(req)
        with account.lock:
            items = list(account.insight_groups.values())
        page, meta = self._page(req, items)
        return Response(200, {"data": page, "meta": meta})

    def get_group(self, req: Request) -> Response:
        """``GET /v2/ai/conversations/insight-groups/{id}``."""
        account = self._account(req)
        with account.lock:
            group = account.insight_groups.get(req.params["gid"])
        return Response(200, {"data": group}) if group else self._not_found("Insight group")

    def assign_insight(self, req: Request) -> Response:
        """``POST …/insight-groups/{group_id}/insights/{insight_id}/assign`` (200, no documented body)."""
        account = self._account(req)
        with account.lock:
            group = account.insight_groups.get(req.params["gid"])
            insight = account.insights.get(req.params["iid"])
            if group is None or insight is None:
                return self._not_found("Insight group or insight")
            if all(i["id"] != insight["id"] for i in group["insights"]):
                group["insights"].append(insight)
        return Response(200, {})

    # ------------------------------------------------------------------ phone numbers
    def list_numbers(self, req: Request) -> Response:
        """``GET /v2/phone_numbers`` with ``filter[phone_number]``, ``filter[connection_id]``, ``filter[status]``."""
        account = self._account(req)
        with account.lock:
            items = [dict(n) for n in account.phone_numbers.values()]
        digits = re.sub(r"\D", "", req.q("filter[phone_number]") or "")
        if digits:
            items = [n for n in items if digits in n["phone_number"]]
        for name in ("connection_id", "status"):
            wanted = req.q(f"filter[{name}]")
            if wanted:
                items = [n for n in items if str(n.get(name)) == wanted]
        page, meta = self._page(req, items)
        return Response(200, {"data": page, "meta": meta})

    def _find_number(self, account: Account, key: str) -> dict[str, Any] | None:
        if key in account.phone_numbers:
            return account.phone_numbers[key]
        return next((n for n in account.phone_numbers.values() if n["phone_number"] == key), None)

    def get_number(self, req: Request) -> Response:
        """``GET /v2/phone_numbers/{id}`` (id or +E164)."""
        account = self._account(req)
        with account.lock:
            number = self._find_number(account, req.params["nid"])
            return Response(200, {"data": dict(number)}) if number else self._not_found("Phone number")

    def update_number(self, req: Request) -> Response:
        """``PATCH /v2/phone_numbers/{id}``: ``connection_id``, ``tags``, ``customer_reference``, …"""
        account = self._account(req)
        body = self._json(req)
        with account.lock:
            number = self._find_number(account, req.params["nid"])
            if number is None:
                return self._not_found("Phone number")
            for key in (
                "connection_id",
                "tags",
                "customer_reference",
                "billing_group_id",
                "external_pin",
                "hd_voice_enabled",
            ):
                if key in body:
                    number[key] = body[key]
            number["updated_at"] = iso_now()
            return Response(200, {"data": dict(number)})

    # ------------------------------------------------------------------ Number Reputation
    def _reputation(self, req: Request) -> tuple[str, list[dict[str, Any]]] | Response:
        """The enterprise's monitored numbers in the spec's ``ReputationPhoneNumber`` shape (the
        account's ``spam_risk`` knob), or a 404 for an enterprise without reputation."""
        account = self._account(req)
        enterprise_id = req.params["eid"]
        wanted = account.config.reputation_enterprise_id
        if wanted is not None and enterprise_id != wanted:
            return self._not_found("Enterprise reputation")
        now = iso_now()
        numbers = []
        for number, risk in sorted(account.config.spam_risk.items()):
            item: dict[str, Any] = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"reputation:{enterprise_id}:{number}")),
                "enterprise_id": enterprise_id,
                "phone_number": number,
                "created_at": now,
                "updated_at": now,
            }
            # A number without data yet has no ``reputation_data`` (Telnyx: null). The spec marks
            # it ``nullable`` (OpenAPI 3.0 wording in a 3.1 document), which a JSON Schema
            # validator does not honour, so nulls are left out: read by key, they mean the same.
            if risk is not None:
                item["reputation_data"] = {
                    "spam_risk": risk,
                    **({"spam_category": "robocall"} if risk == "high" else {}),
                    "connection_score": {"low": 85, "medium": 55, "high": 20}[risk],
                    "engagement_score": {"low": 70, "medium": 45, "high": 15}[risk],
                    "maturity_score": 72,
                    "sentiment_score": {"low": 75, "medium": 50, "high": 10}[risk],
                    "last_refreshed_at": now,
                }
            numbers.append(item)
        return enterprise_id, numbers

    def list_reputation_numbers(self, req: Request) -> Response:
        """``GET /v2/enterprises/{id}/reputation/numbers``: paged (default 10, at most 250), with
        ``filter[phone_number][eq]`` and ``filter[phone_number][contains]``."""
        found = self._reputation(req)
        if isinstance(found, Response):
            return found
        _, numbers = found
        exact = req.q("filter[phone_number][eq]")
        if exact:
            numbers = [n for n in numbers if n["phone_number"] == exact]
        digits = re.sub(r"\D", "", req.q("filter[phone_number][contains]") or "")
        if digits:
            numbers = [n for n in numbers if digits in n["phone_number"]]
        page, meta = self._page(req, numbers, default_size=10)
        return Response(200, {"data": page, "meta": {**meta, "page_size": len(page)}})

    def get_reputation_number(self, req: Request) -> Response:
        """``GET /v2/enterprises/{id}/reputation/numbers/{phone_number}`` (URL-encoded E.164)."""
        found = self._reputation(req)
        if isinstance(found, Response):
            return found
        wanted = unquote(req.params["number"])
        number = next((n for n in found[1] if n["phone_number"] == wanted), None)
        return Response(200, {"data": number}) if number else self._not_found("Reputation phone number")


# ---------------------------------------------------------------------- helpers
def _parse_dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int_or(value: Any, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _field(conversation: dict[str, Any], key: str) -> Any:
    if key.startswith("metadata->"):
        return (conversation.get("metadata") or {}).get(key[len("metadata->") :])
    return conversation.get(key)


def _postgrest_match(value: Any, condition: str) -> bool:
    """``eq.x``, ``neq.x``, ``like.a%``, ``ilike``, ``gt/gte/lt/lte``, ``in.(a,b)`` over strings."""
    op, _, operand = condition.partition(".")
    text = "" if value is None else str(value)
    if op == "eq":
        return text == operand
    if op == "neq":
        return text != operand
    if op in ("like", "ilike"):
        pattern = "^" + ".*".join(re.escape(p) for p in operand.split("%")) + "$"
        return re.match(pattern, text, re.IGNORECASE if op == "ilike" else 0) is not None
    if op == "in":
        return text in operand.strip("()").split(",")
    comparisons = {"gt": text > operand, "gte": text >= operand, "lt": text < operand, "lte": text <= operand}
    return value is not None and comparisons.get(op, False)


def _split_or(expression: str) -> list[tuple[str, str]]:
    """``(created_at.gte.2025-04-01,last_message_at.gte.2025-04-01)`` → [(field, "gte.value"), …]."""
    clauses = []
    for part in expression.strip("()").split(","):
        name, _, rest = part.partition(".")
        if rest:
            clauses.append((name, rest))
    return clauses
