"""The event-webhook deliverer (EventBridge schedule, every minute): fans the outbox's events out
to the tenants' endpoints and sends what is due, signed, for most of the minute
(:mod:`dialer.services.webhook_delivery`)."""

from __future__ import annotations

import time
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.observability import get_logger, get_metrics, get_tracer

if TYPE_CHECKING:
    from dialer.services.webhook_delivery import WebhookDeliverer

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()

#: Stop starting runs when less than this is left of the invocation (a send takes up to 10 s).
RESERVE_MS = 15_000


@cache
def deliverer() -> WebhookDeliverer:
    """The deliverer, wired once per execution environment."""
    from datetime import UTC, datetime

    from dialer import clock
    from dialer.adapters.webhook_sender import HttpSender
    from dialer.adapters.webhooks_table import WebhooksTable
    from dialer.services.webhook_delivery import WebhookDeliverer
    from dialer.settings import get_settings

    settings = get_settings()
    return WebhookDeliverer(
        WebhooksTable(settings.table_name),
        HttpSender(allow_loopback=settings.webhook_allow_loopback),
        clock=clock.now,
        wall_clock=lambda: datetime.now(UTC),
    )


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Runs until the loop time is up (or the invocation's time nearly is)."""
    from dialer.settings import get_settings

    settings = get_settings()
    ends = time.monotonic() + settings.webhook_delivery_loop_seconds
    done: Counter[str] = Counter()
    while True:
        counts = deliverer().run_once().counts
        done.update(counts)
        if time.monotonic() >= ends or context.get_remaining_time_in_millis() < RESERVE_MS:
            break
        if not counts:
            time.sleep(settings.webhook_delivery_tick_seconds)
    if done:
        logger.info("webhook deliveries", done=dict(done))
    return dict(done)
