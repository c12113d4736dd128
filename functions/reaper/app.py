"""The reaper (EventBridge schedule, every 5 minutes): settles stuck claims, posts, calls and
slot leases so that every lead ends terminal or due again (:mod:`dialer.services.reaper`)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dialer.observability import get_logger, get_metrics, get_tracer

if TYPE_CHECKING:
    from dialer.services.reaper import Reaper

logger = get_logger()
metrics = get_metrics()
tracer = get_tracer()


@cache
def reaper() -> Reaper:
    """The reaper service, wired once per execution environment."""
    from dialer.services.engine import build_reaper
    from dialer.settings import get_settings

    return build_reaper(get_settings())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """One pass over every tenant."""
    done = reaper().run()
    for kind, count in done.items():
        metrics.add_metric(name=f"Reaped_{kind}", unit="Count", value=count)
    logger.info("reaper pass", done=dict(done))
    return dict(done)
