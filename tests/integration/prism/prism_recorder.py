"""Records what the client sends to Prism and what Prism says about it (httpx event hooks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.integration.prism.openapi_walk import query_problems, unknown_body_keys


@dataclass
class Exchange:
    """One request we sent and what Prism said about it."""

    method: str
    path: str
    body: Any
    query: list[tuple[str, str]] = field(default_factory=list)
    status: int | None = None
    violations: list[Any] = field(default_factory=list)


@dataclass
class Recorder:
    """Collects every exchange of a test, for the conformance checks."""

    exchanges: list[Exchange] = field(default_factory=list)

    def on_request(self, request: httpx.Request) -> None:
        """Record the method, path, query and JSON body as sent on the wire."""
        body = json.loads(request.content) if request.content else None
        query = list(request.url.params.multi_items())
        self.exchanges.append(Exchange(request.method, request.url.path, body, query))

    def on_response(self, response: httpx.Response) -> None:
        """Record Prism's status and ``sl-violations`` header."""
        exchange = self.exchanges[-1]
        exchange.status = response.status_code
        header = response.headers.get("sl-violations")
        if header:
            try:
                exchange.violations = json.loads(header)
            except ValueError:
                exchange.violations = [header]

    def hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """httpx event hooks feeding this recorder."""
        return {"request": [self.on_request], "response": [self.on_response]}

    def problems(self, spec: dict[str, Any]) -> list[str]:
        """Every Prism violation, every unknown outbound key and every query parameter the
        operation does not declare or whose value it refuses, as readable lines."""
        found: list[str] = []
        for ex in self.exchanges:
            found.extend(f"{ex.method} {ex.path}: sl-violation {v}" for v in ex.violations)
            found.extend(
                f"{ex.method} {ex.path}: unknown key {k}"
                for k in unknown_body_keys(spec, ex.method, ex.path, ex.body)
            )
            found.extend(
                f"{ex.method} {ex.path}: {q}" for q in query_problems(spec, ex.method, ex.path, ex.query)
            )
        return found
