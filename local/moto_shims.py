"""moto as the local stack's moto server runs it: every shim of ``local/`` at once.

Each shim is compared with moto alone in its own test (``tests/unit/local/test_local_moto_*.py``);
this is the one place that says which of them the server, the in-process benches and the shim
tests' "shimmed" side install, so a bench's figure and the local stack's pace are the same moto's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def embedded_moto() -> Iterator[None]:
    """Within the block: DynamoDB serialised, with the direct attribute-value serialiser and the
    cached update and condition paths, direct item copies and sizes and a cached action lookup; SQS
    receives without per-message attribute rebuilds."""
    from local.moto_conditions import cached_conditions
    from local.moto_copies import fast_copies
    from local.moto_dynamo import serialised_dynamodb
    from local.moto_serialize import fast_attribute_values
    from local.moto_sizes import fast_sizes
    from local.moto_sqs import lean_sqs
    from local.moto_update import fast_updates

    with (
        fast_updates(),
        cached_conditions(),
        serialised_dynamodb(),
        fast_attribute_values(),
        lean_sqs(),
        fast_copies(),
        fast_sizes(),
    ):
        yield
