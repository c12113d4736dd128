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
    wire: Callable[[], object],
    *,
    services: Iterable[str] = (),
    modules: Iterable[str] = (),
    also: Iterable[Callable[[], object]] = (),
) -> None:
    """In a provisioned environment's init: wire the function's service, build the shared AWS
    clients it uses (:func:`dialer.adapters.aws.client`, otherwise built on first use) and import
    the modules its first request would. An on-demand environment does all of that on first use,
    so one that rejects a request early never pays for it; a provisioned one has the time now, and
    its first invocation (on the local stack, a burst's first second) does not pay for it.
    py-spy of the demo's first seconds: most of the event processor's samples were first-use
    imports and client set-up. ``also``: more first-use work to do now (:func:`calling_calendars`,
    :func:`telnyx_tls`)."""
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
    for step in also:
        step()


def calling_calendars() -> None:
    """The holiday tables of this year and the next, for a function that evaluates calling
    windows (the dispatcher, the dialer, the event processor's retry times): ~0.1 s of CPU that
    each environment's first evaluation paid (py-spy of the demo's first burst: 7-12 % of the
    processor's and the dialer's samples)."""
    from dialer import clock
    from dialer.policies.compliance import preload_holidays

    year = clock.now().year
    preload_holidays((year, year + 1))


def telnyx_tls() -> None:
    """The TLS context the process's Telnyx clients share, and the transport package httpx
    imports for its first client: the first call to Telnyx paid both (~20 ms of CPU)."""
    from telnyx_client._http import tls_context

    importlib.import_module("httpcore")
    tls_context()
