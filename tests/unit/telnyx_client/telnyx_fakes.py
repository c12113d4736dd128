"""Fakes for the client unit tests: a scripted transport and a clock whose sleep advances time."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class FakeClock:
    """Monotonic time that only moves when the client sleeps (or a test advances it)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Script:
    """Answers requests from a list of responses (or exceptions), recording every request."""

    replies: list[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        return reply

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def ok(data: Any = None, status: int = 200, **kwargs: Any) -> httpx.Response:
    """A JSON response."""
    return httpx.Response(status, json=data if data is not None else {"data": {"result": "ok"}}, **kwargs)
