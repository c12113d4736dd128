"""The simulator process: HTTP server, accounts, call placement, faults and the control API.

In-process use (tests)::

    with Simulator(SimulatorConfig(time_scale=0.001)) as sim:
        httpx.post(f"{sim.base_url}/calls", headers={"Authorization": f"Bearer {sim.api_key}"}, json=...)
        sim.wait_idle()
        sim.stats()["scenarios"]

Control endpoints (no auth, local only): ``GET /_sim/state[?calls=1]``, ``GET|POST /_sim/config``,
``GET /_sim/public_keys``, ``GET /_sim/dials[?api_key=...]`` (ground truth of every placed call),
``GET /_sim/mailboxes[?api_key=...]`` (every machine answer: greeting, and what was spoken into it).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.simulator.api import Api, BadBody, Request, Response, parse_query
from local.simulator.config import Scenario, SimulatorConfig
from local.simulator.engine import Deliverer, Scheduler, stats_snapshot
from local.simulator.ground_truth import Dial, dials_view, occupancy
from local.simulator.playout import DISPOSITIONS, Playout
from local.simulator.state import Account, CallRecord
from local.simulator.wire import error, errors, iso_now, new_call_control_id, new_uuid, set_clock_offset
from local.simulator.wire import now as wall_now

log = logging.getLogger("local.simulator")

_TEXML_STATUS_BY_CAUSE = {
    "user_busy": "busy",
    "timeout": "no-answer",
    "no_answer": "no-answer",
    "originator_cancel": "canceled",
}


class Simulator:
    """A stand-in for ``https://api.telnyx.com/v2`` that plays calls out as signed webhooks."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        set_clock_offset(self.config.clock_offset_s)
        self.accounts: dict[str, Account] = {}
        for index, account_config in enumerate(self.config.accounts):
            self.accounts[account_config.api_key] = Account(account_config, index, self.config.seed)
        self.scheduler = Scheduler(self.config.delivery_workers)
        self.deliverer = Deliverer(self.scheduler, lambda: self.config)
        self.playout = Playout(self.scheduler, self.deliverer, lambda: self.config)
        self.api = Api(self)
        self._fault_rng = random.Random(f"{self.config.seed}:faults")
        self._fault_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Simulator:
        """Bind 127.0.0.1 (``config.port``, 0 = any free port) and serve in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", self.config.port), _Handler)
        server.daemon_threads = True
        server.sim = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="sim-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop pending work."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.scheduler.stop()
        self.deliverer.close()
        set_clock_offset(0.0)  # process-wide: the next simulator in this process starts unshifted

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Start (if needed) and block until interrupted (the CLI)."""
        if self._server is None:
            self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # ------------------------------------------------------------------ addresses and keys
    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "simulator not started"
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>`` (control endpoints live under ``/_sim``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The Telnyx base URL to give clients: ``http://127.0.0.1:<port>/v2``."""
        return f"{self.root_url}/v2"

    @property
    def api_key(self) -> str:
        """The first account's API key."""
        return self.config.accounts[0].api_key

    @property
    def public_key_b64(self) -> str:
        """The first account's webhook public key (base64, 32 bytes)."""
        return self.accounts[self.api_key].public_key_b64

    def public_key_for(self, api_key: str) -> str:
        """Webhook public key of the account behind ``api_key``."""
        return self.accounts[api_key].public_key_b64

    def account(self, api_key: str | None = None) -> Account:
        """The account behind ``api_key`` (default: the first)."""
        return self.accounts[api_key or self.api_key]

    # ------------------------------------------------------------------ ground truth
    def stats(self, api_key: str | None = None) -> dict[str, Any]:
        """Ground-truth counters of one account."""
        return stats_snapshot(self.account(api_key))

    def calls(self, api_key: str | None = None) -> list[dict[str, Any]]:
        """Every call of one account, with its scenario and the events it emitted so far."""
        account = self.account(api_key)
        with account.lock:
            return [c.summary() for c in account.calls.values()]

    def dials(self, api_key: str | None = None, *, since: float | None = None) -> dict[str, Any]:
        """Ground truth of what one account dialled (see :mod:`local.simulator.ground_truth`)."""
        account = self.account(api_key)
        with account.lock:
            return dials_view(list(account.dials), since=since)

    def mailboxes(self, api_key: str | None = None) -> dict[str, Any]:
        """Ground truth of every machine answer: its greeting and what was spoken into it."""
        account = self.account(api_key)
        with account.lock:
            boxes = [m.as_dict() for m in account.mailboxes.values()]
        return {"count": len(boxes), "mailboxes": boxes}

    def channel_occupancy(self, since: float, until: float, api_key: str | None = None) -> float:
        """Average number of live calls (channels in use) over ``[since, until]`` (monotonic seconds)."""
        account = self.account(api_key)
        with account.lock:
            spans = [(c.placed_monotonic, c.ended_monotonic) for c in account.calls.values()]
        return occupancy(spans, since, until)

    def state(self, *, include_calls: bool = False) -> dict[str, Any]:
        """Everything ``GET /_sim/state`` shows."""
        accounts = []
        for key, account in self.accounts.items():
            with account.lock:
                entry: dict[str, Any] = {
                    "api_key": "…" + key[-4:],
                    "account_sid": account.account_sid,
                    "public_key": account.public_key_b64,
                    "live_calls": account.live_calls(),
                    "stats": account.stats.as_dict(),
                }
                if include_calls:
                    entry["calls"] = [c.summary() for c in account.calls.values()]
            accounts.append(entry)
        return {
            "config": self.config.public_dict(),
            "pending_work": self.scheduler.pending(),
            "accounts": accounts,
        }

    def configure(self, **changes: Any) -> None:
        """Change knobs at runtime (same keys as :class:`SimulatorConfig`)."""
        new = self.config.updated(changes)
        accounts: dict[str, Account] = {}
        for index, account_config in enumerate(new.accounts):
            existing = self.accounts.get(account_config.api_key)
            if existing is not None:
                existing.config = account_config
                accounts[account_config.api_key] = existing
            else:
                accounts[account_config.api_key] = Account(account_config, index, new.seed)
        self.accounts = accounts
        self.config = new
        set_clock_offset(new.clock_offset_s)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every placed call has played out and every webhook attempt is done."""
        return self.scheduler.wait_idle(timeout)

    # ------------------------------------------------------------------ calls
    def place_call(
        self,
        account: Account,
        *,
        kind: str,
        connection_id: str,
        from_: str,
        to: str,
        client_state: str | None,
        webhook_url: str | None,
        webhook_urls: dict[str, str],
        amd: str,
        assistant: dict[str, Any] | None,
        timeout_secs: int,
        time_limit: int | None,
        texml: dict[str, Any],
        command_id: str | None = None,
        direction: str = "outgoing",
        disposition: str | None = None,
    ) -> CallRecord:
        """Create a call, pick its scenario and start its playout (caller holds ``account.lock``).

        ``direction="incoming"``: a person (``from_``) calls the account's number ``to``; the
        assistant answers it, and it is not a dial (not in ``dials``, no channel-limit draw)."""
        cfg = self.config
        inbound = direction == "incoming"
        person = from_ if inbound else to
        account.number_attempts[person] += 1
        # One RNG per (account, number, attempt): outcomes do not depend on thread timing.
        rng = random.Random(
            f"{cfg.seed}:{account.index}:{'in:' if inbound else ''}{person}:{account.number_attempts[person]}"
        )
        scenario = (
            Scenario.HUMAN
            if inbound
            else cfg.number_scenarios.get(to)
            or cfg.caller_scenarios.get(from_)
            or _weighted(rng, cfg.scenario_mix)
        )
        disposition = disposition or (
            _weighted(rng, cfg.disposition_mix) if cfg.disposition_mix else rng.choice(DISPOSITIONS)
        )
        disposition = (
            disposition
            if disposition in DISPOSITIONS
            else (
                max(
                    cfg.disposition_mix or {"interested": 1.0},
                    key=lambda k: (cfg.disposition_mix or {}).get(k, 0),
                )
            )
        )
        if not inbound and account.live_calls() >= account.config.channel_limit:
            scenario = "channel_limit"
            account.stats.channel_limit_rejections += 1
        assistant_id = (assistant or {}).get("id")
        stored = account.assistants.get(str(assistant_id), {})
        call = CallRecord(
            account=account,
            call_control_id=new_call_control_id(rng),
            call_leg_id=new_uuid(rng),
            call_session_id=new_uuid(rng),
            kind=kind,
            connection_id=connection_id,
            from_=from_,
            to=to,
            client_state=client_state,
            scenario=scenario,
            rng=rng,
            direction=direction,
            disposition=disposition,
            webhook_url=webhook_url,
            webhook_urls=dict(webhook_urls),
            amd=amd,
            assistant=assistant,
            assistant_known=assistant is None
            or not cfg.strict_assistant_ids
            or assistant_id in account.assistants,
            timeout_secs=timeout_secs,
            start_time=iso_now(),
            texml=texml,
        )
        if time_limit:
            call.texml["time_limit"] = time_limit
        call.dynamic_variables = {
            **(stored.get("dynamic_variables") or {}),
            **((assistant or {}).get("dynamic_variables") or {}),
        }
        account.calls[call.call_control_id] = call
        call.placed_monotonic = time.monotonic()
        account.note_peaks()
        if inbound:
            account.stats.inbound_calls[from_] += 1
            self.playout.start(call)
            return call
        account.stats.calls_by_number[to] += 1
        account.stats.scenarios[scenario] += 1
        account.stats.scenarios_by_number.setdefault(to, []).append(scenario)
        account.dials.append(
            Dial(
                kind=kind,
                at=call.start_time,
                monotonic=time.monotonic(),
                call_control_id=call.call_control_id,
                to=to,
                from_=from_,
                command_id=command_id,
                client_state=client_state,
                scenario=scenario,
            )
        )
        self.playout.start(call)
        return call

    def place_inbound_call(
        self,
        account: Account,
        *,
        from_: str,
        to: str,
        webhook_url: str | None = None,
        assistant_id: str | None = None,
        disposition: str | None = None,
    ) -> CallRecord:
        """A person at ``from_`` calls the account's number ``to``: the assistant the number is
        assigned to (through its TeXML app) answers, sends its init webhook and its tools, and the
        call's ``call.*`` webhooks (``direction: incoming``) go to ``webhook_url`` (the number's
        connection webhook; default: the account's). ``disposition`` fixes what the caller says."""
        with account.lock:
            number = next((n for n in account.phone_numbers.values() if n.get("phone_number") == to), None)
            if number is None:
                raise KeyError(f"{to} is not a number of this account")
            if assistant_id is None:
                app = number.get("connection_id")
                assistant_id = next(
                    (
                        aid
                        for aid, a in account.assistants.items()
                        if app and (a.get("telephony_settings") or {}).get("default_texml_app_id") == app
                    ),
                    None,
                )
            if assistant_id is None or assistant_id not in account.assistants:
                raise KeyError(f"{to} is not assigned to an assistant")
            return self.place_call(
                account,
                kind="call_control",
                connection_id=str(number.get("connection_id") or ""),
                from_=from_,
                to=to,
                client_state=None,
                webhook_url=webhook_url,
                webhook_urls={},
                amd="disabled",
                assistant={"id": assistant_id},
                timeout_secs=30,
                time_limit=None,
                texml={},
                direction="incoming",
                disposition=disposition,
            )

    def schedule_event_dispatch(self, account: Account, event: dict[str, Any], when: datetime) -> None:
        """Place the scheduled event's call at its time (wall clock; counted for ``wait_idle`` if soon)."""
        delay = max(0.0, (when - wall_now()).total_seconds())
        self.scheduler.call_later(delay, lambda: self._dispatch(account, event), counted=delay <= 10)

    def _dispatch(self, account: Account, event: dict[str, Any]) -> None:
        with account.lock:
            if event["status"] not in ("pending",):
                return
            event["dispatched_at"] = iso_now()
            if event["telnyx_conversation_channel"] != "phone_call":
                event["status"] = "completed"
                return
            assistant = account.assistants.get(event["assistant_id"])
            if assistant is None:
                event["status"] = "failed"
                event["errors"].append("assistant not found")
                return
            if self.api.dps_check(account, count=False) is not None:
                self.scheduler.call_later(1.0, lambda: self._dispatch(account, event))
                return
            call = self.place_call(
                account,
                kind="call_control",
                connection_id=str(assistant["telephony_settings"]["default_texml_app_id"]),
                from_=event["telnyx_agent_target"],
                to=event["telnyx_end_user_target"],
                client_state=None,
                webhook_url=None,
                webhook_urls={},
                amd="disabled",
                assistant={
                    "id": event["assistant_id"],
                    "dynamic_variables": dict(event["dynamic_variables"]),
                },
                timeout_secs=30,
                time_limit=None,
                texml={},
            )
            call.conversation_metadata = dict(event.get("conversation_metadata") or {})
            event["status"] = "in_progress"
            event["call_attempts"].append(
                {
                    "attempt_number": len(event["call_attempts"]) + 1,
                    "attempted_at": iso_now(),
                    "call_status": "ringing",
                    "telnyx_call_control_id": call.call_control_id,
                }
            )
            account.stats.scheduled_events_dispatched += 1
            account.on_call_end[call.call_control_id] = lambda c, cause: self._scheduled_call_ended(
                account, event, c, cause
            )

    def _scheduled_call_ended(
        self, account: Account, event: dict[str, Any], call: CallRecord, cause: str
    ) -> None:
        answered = call.sim_answered_at is not None
        status = "completed" if answered else _TEXML_STATUS_BY_CAUSE.get(cause, "failed")
        duration = (
            max(0, round(call.sim_now - call.sim_answered_at)) if call.sim_answered_at is not None else 0
        )
        event["call_status"] = status
        event["call_duration"] = duration
        event["call_attempts"][-1].update({"call_status": status, "call_duration": duration})
        if call.conversation_id:
            event["conversation_id"] = call.conversation_id
        if status != "completed" and event["retry_count"] < event.get("max_retries_client_errors", 0):
            event["retry_count"] += 1
            event["retry_attempts"] = event["retry_count"]
            event["status"] = "pending"
            delay = float(event.get("retry_interval_secs") or 3600) * self.config.time_scale
            self.scheduler.call_later(delay, lambda: self._dispatch(account, event))
            return
        event["status"] = "completed" if status == "completed" else "failed"

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        """Serve one request (also callable without a socket)."""
        path, _, query_string = raw_path.partition("?")
        query = parse_query(query_string)
        if path.startswith("/_sim/"):
            return self._control(method, path, query, body)
        if not path.startswith("/v2/"):
            return Response(404, errors(error("10005", "Resource not found", "Unknown path")))
        auth = headers.get("authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        account = self.accounts.get(key)
        if account is None:
            return Response(
                401, errors(error("10009", "Authentication failed", "The API key is missing or not valid."))
            )
        found = self.api.match(method, path.rstrip("/") or path)
        if found is None:
            status = 405 if self.api.path_exists(path) else 404
            return Response(
                status,
                errors(
                    error(
                        "10005" if status == 404 else "10015",
                        "Resource not found" if status == 404 else "Method not allowed",
                        f"{method} {path}",
                    )
                ),
            )
        handler, params, commits = found
        request = Request(method, path, query, headers, body, params, account)
        with account.lock:
            account.stats.requests[getattr(handler, "__name__", "?")] += 1
        cfg = self.config
        with self._fault_lock:
            slow = cfg.slow_response_rate > 0 and self._fault_rng.random() < cfg.slow_response_rate
            fail = cfg.error_5xx_rate > 0 and self._fault_rng.random() < cfg.error_5xx_rate
            commit = self._fault_rng.random() < cfg.error_5xx_commit_fraction
            status_5xx = self._fault_rng.choice((500, 503))
        if slow:
            with account.lock:
                account.stats.slow_responses += 1
            time.sleep(cfg.slow_response_s)
        if fail:
            with account.lock:
                account.stats.injected_5xx += 1
            if commits and commit:
                # The call is placed but the answer is lost: the "ambiguous create" case.
                placed = self._run(handler, request)
                if placed.status == 200:
                    with account.lock:
                        account.stats.injected_5xx_committed += 1
            return Response(
                status_5xx,
                errors(
                    error(
                        "10007", "Unexpected error", "The server encountered an unexpected error (simulated)."
                    )
                ),
            )
        return self._run(handler, request)

    def _run(self, handler: Any, request: Request) -> Response:
        try:
            return handler(request)
        except BadBody as exc:
            if request.path.startswith("/v2/ai/"):
                return Response(422, {"detail": [{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}]})
            return Response(422, errors(error("10015", "Bad Request", str(exc))))

    def _control(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Response:
        if path == "/_sim/state" and method == "GET":
            return Response(200, self.state(include_calls=query.get("calls", ["0"])[0] in ("1", "true")))
        if path == "/_sim/dials" and method == "GET":
            key = query.get("api_key", [None])[0]
            if key is not None and key not in self.accounts:
                return Response(404, {"error": "unknown api_key"})
            return Response(200, self.dials(key))
        if path == "/_sim/mailboxes" and method == "GET":
            key = query.get("api_key", [None])[0]
            if key is not None and key not in self.accounts:
                return Response(404, {"error": "unknown api_key"})
            return Response(200, self.mailboxes(key))
        if path == "/_sim/public_keys" and method == "GET":
            return Response(200, {"…" + k[-4:]: a.public_key_b64 for k, a in self.accounts.items()})
        if path == "/_sim/inbound" and method == "POST":
            # A person calls one of an account's numbers (ground truth: stats.inbound_calls).
            try:
                doc = json.loads(body or b"{}")
                account = self.account(doc.get("api_key"))
                call = self.place_inbound_call(
                    account,
                    from_=str(doc["from"]),
                    to=str(doc["to"]),
                    webhook_url=doc.get("webhook_url"),
                    assistant_id=doc.get("assistant_id"),
                    disposition=doc.get("disposition"),
                )
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                return Response(400, {"error": str(exc)})
            return Response(201, call.summary())
        if path == "/_sim/config" and method == "GET":
            return Response(200, self.config.public_dict())
        if path == "/_sim/config" and method == "POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise TypeError("config body must be a JSON object")
                self.configure(**changes)
            except (ValueError, KeyError, TypeError) as exc:
                return Response(400, {"error": str(exc)})
            return Response(200, self.config.public_dict())
        return Response(404, {"error": f"unknown control endpoint {method} {path}"})


def _weighted(rng: random.Random, mix: dict[str, float]) -> str:
    total = sum(mix.values())
    point = rng.random() * total
    for name, weight in sorted(mix.items()):
        point -= weight
        if point < 0:
            return name
    return Scenario.HUMAN.value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for load tests
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "telnyx-simulator/1"

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        sim: Simulator = self.server.sim  # type: ignore[attr-defined]
        response = sim.handle(self.command, self.path, headers, body)
        if response.status == 204 or response.body is None:
            payload = b""
        elif isinstance(response.body, bytes):
            payload = response.body
        else:
            payload = json.dumps(response.body, default=_json_default).encode()
        self.send_response(response.status)
        if payload:
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _json_default(value: Any) -> Any:
    if isinstance(value, set | tuple):
        return sorted(value) if isinstance(value, set) else list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
