"""What Lambda tells a function about the execution environment it initialises, and the init work
a provisioned environment does ahead of its first invocation."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable


def provisioned() -> bool:
    """True while Lambda initialises an environment ahead of any invocation (provisioned
    concurrency)."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency"


def wire_ahead(
    wire: Callable[[], object], *, services: Iterable[str] = (), modules: Iterable[str] = ()
) -> None:
    """In a provisioned environment's init: wire the function's service, build the shared AWS
    clients it uses (:func:`dialer.adapters.aws.client`, otherwise built on first use) and import
    the modules its first request would. An on-demand environment does all of that on first use,
    so one that rejects a request early never pays for it; a provisioned one has the time now, and
    its first invocation (on the local stack, a burst's first second) does not pay for it.
    py-spy of the demo's first seconds: most of the event processor's samples were first-use
    imports and client set-up."""
    if not provisioned():
        return
    wire()
    if services:
        from dialer.adapters import aws

        for service in services:
            aws.client(service)
        if "dynamodb" in services:
            importlib.import_module("boto3.dynamodb.types")  # the adapters' (de)serialisers
    for module in modules:
        importlib.import_module(module)
