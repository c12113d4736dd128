"""Timing and webhook delivery: one scheduler thread, a small worker pool, per-call lanes.

Why this shape: a thread per call does not scale to a load test on two cores, so every timed
thing (a call's next step, a retry, a delayed duplicate) is an entry in one heap served by one
thread. Steps only mutate state and queue deliveries; the HTTP POSTs run on a few workers.

Deliveries of one call go through a *lane* (FIFO, one POST in flight) so that events of a call
arrive in the order they occurred unless the simulator decides otherwise: a held event
(``reorder_rate``) is released just after the call's next event, a failed attempt is retried
after a backoff while later events go on (so retries reorder too, as on the real platform), and a
duplicate is re-queued a little later with the identical body.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from telnyx_client.signature import sign

if TYPE_CHECKING:
    from local.simulator.config import SimulatorConfig
    from local.simulator.state import Account, CallRecord

log = logging.getLogger("local.simulator")


class Scheduler:
    """A heap of timed callbacks served by one thread, plus a worker pool for blocking work.

    ``pending()`` counts queued and running work, so tests can wait until a call has played out.
    Callbacks run on the scheduler thread and must be quick (no I/O).
    """

    def __init__(self, workers: int) -> None:
        # (when, seq, callback, counted, still_due): ``still_due`` says whether a counted callback
        # still matters (a step of a plan that was replaced does nothing when it fires).
        self._heap: list[tuple[float, int, Callable[[], None], bool, Callable[[], bool] | None]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0  # counted work: heap entries + running pool jobs
        self._idle = threading.Condition(self._cond)
        self._stopped = False
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sim-deliver")
        self._thread = threading.Thread(target=self._run, name="sim-scheduler", daemon=True)
        self._thread.start()

    def call_later(
        self,
        delay: float,
        fn: Callable[[], None],
        *,
        counted: bool = True,
        still_due: Callable[[], bool] | None = None,
    ) -> None:
        """Run ``fn`` on the scheduler thread after ``delay`` real seconds.

        ``counted=False`` is for far-future work (scheduled events) that must not keep
        :meth:`wait_idle` waiting; ``still_due`` for a step that becomes a no-op when its call is
        re-planned or hung up: once it says False, the step stops keeping :meth:`wait_idle` waiting
        (a mailbox's two-minute silence after our hangup is not work left to do).
        """
        with self._cond:
            if self._stopped:
                return
            entry = (time.monotonic() + max(0.0, delay), next(self._seq), fn, counted, still_due)
            heapq.heappush(self._heap, entry)
            if counted:
                self._busy += 1
            self._cond.notify()

    def submit(self, fn: Callable[[], None]) -> None:
        """Run blocking ``fn`` (HTTP) on the worker pool."""
        with self._cond:
            if self._stopped:
                return
            self._busy += 1
        self._pool.submit(self._guarded, fn)

    def _guarded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a bug in one step must not kill the worker; it is logged loudly
            log.exception("simulator job failed")
        finally:
            self._done()

    def _done(self) -> None:
        with self._cond:
            self._busy -= 1
            if self._busy == 0:
                self._idle.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, fn, counted, _ = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # same reason as in _guarded
                log.exception("simulator step failed")
            finally:
                if counted:
                    self._done()

    def pending(self) -> int:
        """Queued plus running counted work."""
        with self._cond:
            return self._busy

    def wait_idle(self, timeout: float) -> bool:
        """Block until no counted work is left; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy - self._stale() > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))  # stale steps turn so without a notification
        return True

    def _stale(self) -> int:
        """Counted heap entries that no longer matter (caller holds the condition)."""
        return sum(1 for *_, counted, still_due in self._heap if counted and still_due and not still_due())

    def stop(self) -> None:
        """Drop queued work and stop the threads."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._busy = 0
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread.join(timeout=2)


@dataclass
class Delivery:
    """One webhook to POST (possibly several times: retries, a duplicate)."""

    account: Account
    lane: str
    url: str
    event_type: str
    event_id: str
    content_type: str
    render: Callable[[int], bytes]  # attempt number → body bytes (meta.attempt changes per attempt)
    attempt: int = 1
    duplicate: bool = False
    want_duplicate: bool = False
    body: bytes | None = None  # frozen body for a duplicate: the same bytes twice
    sent: list[int] = field(default_factory=list)


class Deliverer:
    """Delivers webhooks like Telnyx: signed, retried, sometimes duplicated or out of order."""

    def __init__(self, scheduler: Scheduler, config_getter: Callable[[], SimulatorConfig]) -> None:
        self._scheduler = scheduler
        self._config = config_getter
        self._lanes: dict[str, deque[Delivery]] = {}
        self._busy_lanes: set[str] = set()
        self._lock = threading.Lock()
        self._http = httpx.Client(
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16), follow_redirects=False
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    # -- entry point used by the playout ------------------------------------------------------
    def emit(self, call: CallRecord | None, account: Account, delivery: Delivery, *, final: bool) -> None:
        """Queue ``delivery`` now, applying the configured reorder, duplicate and delay.

        A held event (``reorder_rate``) is released right behind the call's next event, and only
        then counted as reordered. ``final`` marks the last event a call emits: it is never held,
        and :meth:`flush` releases anything still held when a call's playout ends.
        """
        cfg = self._config()
        rng = call.rng if call is not None else account.rng
        # Decided up front, so held (reordered) events are as likely to be duplicated as any other.
        delivery.want_duplicate = cfg.duplicate_rate > 0 and rng.random() < cfg.duplicate_rate
        if call is not None and not final and cfg.reorder_rate > 0 and rng.random() < cfg.reorder_rate:
            call.held.append(delivery)
            return
        delay = rng.uniform(0, cfg.extra_delay_s) * cfg.time_scale if cfg.extra_delay_s > 0 else 0.0
        released: list[Delivery] = []
        if call is not None and call.held:
            released, call.held = list(call.held), []
            with account.lock:
                account.stats.reordered += len(released)
        # One heap entry for the event and whatever it overtook, so nothing slips in between.
        self._release([delivery, *released], delay, account, rng)

    def flush(self, call: CallRecord) -> None:
        """Release events still held for ``call`` (its playout is over; nothing will overtake them)."""
        if call.held:
            batch, call.held = list(call.held), []
            self._release(batch, 0.0, call.account, call.rng)

    def _release(self, batch: list[Delivery], delay: float, account: Account, rng: random.Random) -> None:
        cfg = self._config()
        self._scheduler.call_later(delay, lambda: self._enqueue_all(batch))
        for item in batch:
            if not item.want_duplicate:
                continue
            with account.lock:
                account.stats.duplicates_sent += 1
            copy = Delivery(**{**item.__dict__, "duplicate": True, "want_duplicate": False, "sent": []})
            self._scheduler.call_later(
                delay + rng.uniform(0.05, 1.0) * cfg.time_scale, lambda c=copy: self._enqueue(c)
            )

    # -- lanes ---------------------------------------------------------------------------------
    def _enqueue_all(self, batch: list[Delivery]) -> None:
        for item in batch:
            self._enqueue(item)

    def _enqueue(self, item: Delivery) -> None:
        with self._lock:
            lane = self._lanes.setdefault(item.lane, deque())
            lane.append(item)
            if item.lane in self._busy_lanes:
                return
            self._busy_lanes.add(item.lane)
        self._scheduler.submit(lambda: self._drain(item.lane))

    def _drain(self, lane_key: str) -> None:
        while True:
            with self._lock:
                lane = self._lanes.get(lane_key)
                if not lane:
                    self._busy_lanes.discard(lane_key)
                    self._lanes.pop(lane_key, None)
                    return
                item = lane.popleft()
            self._attempt(item)

    def _attempt(self, item: Delivery) -> None:
        cfg = self._config()
        account = item.account
        if item.duplicate and item.body is None:
            item.body = item.render(item.attempt)
        body = item.body if item.duplicate and item.body is not None else item.render(item.attempt)
        headers = {"content-type": item.content_type, "user-agent": "telnyx-webhooks-simulator"}
        headers.update(sign(body, account.signing_key))
        ok = False
        try:
            response = self._http.post(item.url, content=body, headers=headers, timeout=cfg.webhook_timeout_s)
            ok = 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            log.debug("webhook delivery failed url=%s error=%s", item.url, exc)
        with account.lock:
            account.stats.webhook_attempts += 1
            if ok:
                account.stats.webhook_delivered += 1
            else:
                account.stats.webhook_failures += 1
        if ok or item.duplicate:
            return  # a failed duplicate is not retried: the original carries the retry budget
        delays = cfg.retry_delays_s
        if item.attempt > len(delays):
            with account.lock:
                account.stats.webhook_dropped += 1
            return
        backoff = delays[item.attempt - 1] * cfg.time_scale
        item.attempt += 1
        with account.lock:
            account.stats.webhook_retries += 1
        self._scheduler.call_later(backoff, lambda: self._enqueue(item))

    def post_sync(
        self,
        account: Account,
        url: str,
        body: bytes,
        timeout: float,
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """Signed JSON POST that waits for the answer (``assistant.initialization``, webhook tool
        calls with their configured ``headers``); None on failure."""
        headers = {
            **(headers or {}),
            "content-type": "application/json",
            "user-agent": "telnyx-webhooks-simulator",
        }
        headers.update(sign(body, account.signing_key))
        try:
            return self._http.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            log.debug("init webhook failed url=%s error=%s", url, exc)
            return None


def stats_snapshot(account: Account) -> dict[str, Any]:
    """The account's ground truth, copied under its lock."""
    with account.lock:
        return account.stats.as_dict()
