"""moto's SQS receive without its per-message re-computation of every queue attribute.

For each message a ``ReceiveMessage`` hands out, moto checks the queue's retention period through
``get_queue_attributes(queue, ["MessageRetentionPeriod"])``, which builds the queue's whole
attribute map three times, and that map counts the queue's visible, in-flight and delayed
messages, each with a clock reading per message. So a receive of 10 messages from a queue holding
n costs ~30 × 3n clock readings: with the few hundred dial jobs a dispatcher tick queues, a third
of the in-process bench's interpreter time (py-spy), and on the local stack a receive grows with
the backlog it is meant to drain.

:func:`lean_sqs` reads the one attribute the check needs (``message_retention_period``, the
integer moto stores from ``MessageRetentionPeriod``) and keeps moto's rule and clock: a message
is valid while ``retention + sent_timestamp / 1000 > unix_time()``. Compared with moto alone in
``tests/unit/local/test_local_moto_sqs.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def lean_sqs() -> Iterator[None]:
    """Within the block, a receive checks retention with one attribute read per message."""
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    original = SQSBackend.is_message_valid_based_on_retention_period

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = self.get_queue(queue_name).message_retention_period
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQSBackend.is_message_valid_based_on_retention_period = original  # type: ignore[method-assign]
