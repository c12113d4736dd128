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

The same counts cost every send too: ``SendMessage`` reads ``queue.attributes`` for one flag, and
``Queue.messages`` (what a receive walks) reads the clock twice per message. Within the block the
queue's counts and its visible messages read the clock once per call and compare each message's
stored ``visible_at`` and ``delayed_until`` with it, moto's own comparisons. A send to a queue
holding a dispatcher tick's few hundred jobs went from ~1,000 clock readings to one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def lean_sqs() -> Iterator[None]:
    """Within the block, a receive checks retention with one attribute read per message, and the
    queue's counts and visible messages read the clock once per call."""
    from moto.core.utils import unix_time
    from moto.sqs import models
    from moto.sqs.models import Queue, SQSBackend

    original = SQSBackend.is_message_valid_based_on_retention_period
    originals = {name: Queue.__dict__[name] for name in _QUEUE_COUNTS}

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = self.get_queue(queue_name).message_retention_period
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    # moto's Message.visible is ``now > visible_at`` and Message.delayed ``now < delayed_until``.
    def messages(self: Any) -> list[Any]:
        now = models.unix_time_millis()  # moto's clock, as its Message reads it
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible(self: Any) -> int:
        now = models.unix_time_millis()  # moto's clock, as its Message reads it
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed(self: Any) -> int:
        now = models.unix_time_millis()  # moto's clock, as its Message reads it
        return sum(1 for m in self._messages if now < m.delayed_until)

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    Queue.messages = property(messages)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SQSBackend.is_message_valid_based_on_retention_period = original  # type: ignore[method-assign]
        for name, value in originals.items():
            setattr(Queue, name, value)


# The Queue properties the block replaces: each walked the messages reading the clock per message.
_QUEUE_COUNTS = (
    "messages",
    "approximate_number_of_messages_not_visible",
    "approximate_number_of_messages_delayed",
)
