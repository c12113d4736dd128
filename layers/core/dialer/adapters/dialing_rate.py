"""The dial-rate limiter: a GCRA schedule (``RATE``'s theoretical arrival time) shared by every
dialer of a tenant, advanced by conditional updates, never read-modify-written.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import BotoCoreError, ClientError

from dialer import keys
from dialer.adapters.dialing_base import DialingBase, error_code, to_decimal
from dialer.adapters.dynamo import storage_error


class RateMixin(DialingBase):
    """The tenant's dial-rate schedule."""

    def reserve_dial(self, tenant_id: str, now: float, interval: float, max_ahead: float) -> float | None:
        """A dial-rate token (:func:`dialer.domain.dialing.gcra_reserve` as two atomic updates, so
        any number of dialers share it without read-modify-write): the epoch second to send at,
        or None when the schedule is full for ``max_ahead`` seconds."""
        key = keys.dialing_state_key(tenant_id, "RATE")
        # Two conditional updates: "the schedule is running" (take its next instant) or "idle"
        # (start it now). The branch our last token predicts goes first (still running if the
        # schedule it left is not over; dialers sharing the schedule make it a guess); a failed
        # one hands back the schedule as it found it (ReturnValuesOnConditionCheckFailure), so the
        # next try takes the right branch without a read: one request when the guess was right,
        # two when it was not, and None at once when the schedule is full for max_ahead. A writer
        # can move the schedule between our tries; a few rounds settle it.
        busy = self._tat_seen.get(tenant_id, 0.0) >= now
        for _ in range(6):
            sent_at, seen = self._reserve(key, now, interval, max_ahead, busy=busy)
            if sent_at is not None:
                self._tat_seen[tenant_id] = sent_at + interval
                return sent_at
            if seen is not None and seen > now + max_ahead:
                return None
            busy = seen is not None and seen >= now
        return None

    def _reserve(
        self, key: Mapping[str, str], now: float, interval: float, max_ahead: float, *, busy: bool
    ) -> tuple[float | None, float | None]:
        """(the instant to send at, None) when a token was taken; else (None, the schedule's
        ``tat`` as the failed condition found it, None when it has none)."""
        values = {":now": to_decimal(now), ":i": to_decimal(interval)}
        if busy:
            expression, condition = "SET tat = tat + :i", "tat >= :now AND tat <= :ahead"
            values[":ahead"] = to_decimal(now + max_ahead)
        else:
            expression, condition = "SET tat = :now + :i", "attribute_not_exists(tat) OR tat < :now"
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=self.items.to_ddb(key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=self.items.to_ddb(values),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise storage_error(exc, "could not reserve a dial") from exc
            old = exc.response.get("Item", {}).get("tat", {}).get("N")
            return None, float(old) if old is not None else None
        except BotoCoreError as exc:
            raise storage_error(exc, "could not reserve a dial") from exc
        return float(response["Attributes"]["tat"]["N"]) - interval, None

    def hold_dials_until(self, tenant_id: str, until: float) -> None:
        """After a 429: no token before ``until`` (pushes the schedule forward, never back)."""
        self.ops.update(
            keys.dialing_state_key(tenant_id, "RATE"),
            set_fields={"tat": to_decimal(until)},
            condition="attribute_not_exists(tat) OR tat < :u",
            values={":u": to_decimal(until)},
        )
