"""Lazy boto3 clients. boto3 is imported on first use, not at import time: it is the largest
import in every function, and handlers that reject a request early never need it.

Every client built here counts its requests per service and operation in :data:`REQUESTS`
(a botocore event hook: no extra call), so the engine and the bench can report DynamoDB
requests per dial.
"""

from __future__ import annotations

import threading
from collections import Counter
from functools import cache
from typing import Any

#: Requests sent, by "service.Operation" (e.g. "dynamodb.UpdateItem"), since the process started.
REQUESTS: Counter[str] = Counter()
_LOCK = threading.Lock()


@cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` (endpoint and region from the environment).

    Client-side parameter validation is off: the adapters build every request themselves, the
    service validates it anyway (a malformed one is still a ``ClientError``, which the adapters
    tell apart), and botocore's walk of every parameter was about a sixth of the CPU of a
    lead import's DynamoDB writes.
    """
    import boto3
    from botocore.config import Config

    return count_requests(boto3.client(service, config=Config(parameter_validation=False)))


def count_requests(made: Any) -> Any:
    """Count every request ``made`` (a boto3 client) sends in :data:`REQUESTS`; returns it."""
    service = made.meta.service_model.service_name

    def counted(model: Any, **_: Any) -> None:
        with _LOCK:
            REQUESTS[f"{service}.{model.name}"] += 1

    made.meta.events.register(f"before-call.{service}", counted)
    return made
