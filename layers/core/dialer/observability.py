"""Logger, tracer and metrics for every function, and the phone-number masking rule.

One rule for phone numbers, in one place: anything that looks like an E.164 number is masked to
its last four digits in every log line, whatever key or message it appears in. Handlers use the
objects below instead of building their own.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

SERVICE = "telnyx-ai-dialer"
METRICS_NAMESPACE = "TelnyxAiDialer"

# Numbers with a plus (E.164, 8-15 digits), and bare NANP numbers (10 digits, or 11 with a
# leading 1) standing alone: not digit runs inside ids, ARNs (12-digit account ids) or UUIDs.
_PLUS_NUMBER = re.compile(r"\+(\d{4,11})(\d{4})(?!\d)")
_BARE_NUMBER = re.compile(r"(?<![\w\-+.:/])(1?\d{6})(\d{4})(?![\w\-.:/])")


def mask_phone(value: str | None) -> str:
    """Mask a phone number to its last four digits: ``+15550000200`` → ``+*******0200``."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if len(digits) <= 4:
        return "*" * len(digits)
    prefix = "+" if value.strip().startswith("+") else ""
    return prefix + "*" * (len(digits) - 4) + digits[-4:]


def scrub_phones(text: str) -> str:
    """Mask every phone number in ``text`` to its last four digits."""
    text = _PLUS_NUMBER.sub(lambda m: "+" + "*" * len(m.group(1)) + m.group(2), text)
    return _BARE_NUMBER.sub(lambda m: "*" * len(m.group(1)) + m.group(2), text)


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools JSON formatter that masks phone numbers in the serialised record."""

    def serialize(self, log: Any) -> str:  # Powertools passes a dict or a PowertoolsLogRecord
        return scrub_phones(super().serialize(log))


@cache
def get_logger() -> Logger:
    """The shared structured logger (service name from POWERTOOLS_SERVICE_NAME if set)."""
    return Logger(service=SERVICE, logger_formatter=MaskingFormatter(), use_rfc3339=True)


@cache
def get_tracer() -> Tracer:
    """The shared X-Ray tracer (disabled outside Lambda and in the local stack)."""
    return Tracer(service=SERVICE)


@cache
def get_metrics() -> Metrics:
    """The shared EMF metrics object."""
    return Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
