"""Creates a client may safely retry: the ``Idempotency-Key`` header of our POST creates (issue 14).

The same key with the same body gets the first answer again and creates nothing (Telnyx is not
called twice); the same key with another body is a 422; a retry while the first attempt is still
running is a 409. Keys are per tenant and per operation, and kept for :data:`KEEP`.

A create that fails releases its key, so the retry runs it again (a failed create has undone
itself, see ``AssistantsService.create``). If the function dies mid-create the key is held for
:data:`LEASE`, then a retry of the same request takes it over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from dialer import clock as engine_clock
from dialer.adapters.idempotency_table import IdempotencyTable
from dialer.errors import Conflict, InvalidInput
from dialer.observability import get_logger

#: How long a key is remembered (Stripe's choice: a day of retries).
KEEP = timedelta(hours=24)
#: How long a running create holds its key: longer than the API functions' 29 s timeout.
LEASE = timedelta(seconds=60)

logger = get_logger()


@dataclass(frozen=True, slots=True)
class Created[M: BaseModel]:
    """A create's answer, and whether it is the stored answer of an earlier request."""

    result: M
    replayed: bool


class IdempotentCreates:
    """Run creates of one tenant under client-chosen idempotency keys."""

    def __init__(
        self, tenant_id: str, table: IdempotencyTable, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self._clock = clock or engine_clock.now

    def run[M: BaseModel](
        self,
        operation: str,
        key: str | None,
        request: Mapping[str, Any],
        create: Callable[[], M],
        model: type[M],
    ) -> Created[M]:
        """``create()``, at most once per ``key`` (no key: every call creates)."""
        if key is None:
            return Created(create(), replayed=False)
        fingerprint = _fingerprint(request)
        now = self._clock()
        if not self.table.claim(self.tenant_id, operation, key, fingerprint, now=now, lease=LEASE, keep=KEEP):
            return Created(self._replay(operation, key, fingerprint, model), replayed=True)
        done = False
        try:
            result = create()
            done = True
        finally:
            if not done:
                self.table.release(self.tenant_id, operation, key)
        if not self.table.complete(self.tenant_id, operation, key, fingerprint, result.model_dump_json()):
            logger.warning("idempotency record lost before the create completed", operation=operation)
        return Created(result, replayed=False)

    def _replay[M: BaseModel](self, operation: str, key: str, fingerprint: str, model: type[M]) -> M:
        record = self.table.get(self.tenant_id, operation, key, now=self._clock())
        if record is None:
            # Expired or released between our claim and this read: the client may simply retry.
            raise Conflict("a request with this Idempotency-Key just finished; retry")
        if record.fingerprint != fingerprint:
            message = "this Idempotency-Key was used with a different request"
            raise InvalidInput(
                message,
                [{"loc": ["header", "Idempotency-Key"], "msg": message, "type": "idempotency_key_reused"}],
            )
        if record.response_json is None:
            raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly")
        return model.model_validate_json(record.response_json)


def _fingerprint(request: Mapping[str, Any]) -> str:
    """The request as canonical JSON, hashed: key order and whitespace do not make it another request."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
