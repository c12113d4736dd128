"""A tenant's Telnyx numbers, their assignment to assistants, and the caller-ID pool."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING

from dialer import clock as engine_clock
from dialer.adapters.caller_id_health import CallerIdHealthTable
from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.adapters.management_table import CallerIdRecord, ManagementTable, NumberAssignment
from dialer.domain.caller_id_health import (
    RESTED_BY_OPERATOR,
    CallerIdHealthSettings,
    HealthWindow,
    rest_end,
    rested,
)
from dialer.domain.dialing import parse_utc
from dialer.errors import Conflict, NotFound
from dialer.services.api_models import (
    CallerIdCreateRequest,
    CallerIdHealthView,
    CallerIdListResponse,
    CallerIdPatchRequest,
    CallerIdResponse,
    CallerIdRestRequest,
    NumberAssignRequest,
    NumberListResponse,
    NumberResponse,
)
from dialer.services.assistants import AssistantsService
from dialer.services.telnyx_accounts import telnyx_errors

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient
    from telnyx_client.models.phone_numbers import PhoneNumber

MAX_NUMBERS = 2000


class NumbersService:
    """Numbers and caller IDs of one tenant."""

    def __init__(
        self,
        tenant_id: str,
        telnyx: Callable[[], TelnyxClient],
        table: ManagementTable,
        assistants: AssistantsService,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self._telnyx = telnyx
        self.table = table
        self.assistants = assistants
        self._clock = clock or engine_clock.now
        self.health = CallerIdHealthTable(table.items)

    # --- numbers ---------------------------------------------------------------------------------
    def list_numbers(self) -> NumberListResponse:
        """The tenant's Telnyx numbers, each with the assistant it is assigned to here (if any)."""
        assigned = {a.number_id: a.assistant_id for a in self.table.all_assignments(self.tenant_id)}
        with telnyx_errors("phone number list"):
            numbers = list(islice(self._telnyx().phone_numbers.iter_all(), MAX_NUMBERS))
        return NumberListResponse(data=[_number(n, assigned.get(n.id or "")) for n in numbers if n.id])

    def assign(self, number_id: str, request: NumberAssignRequest) -> NumberResponse:
        """Point a number at an assistant's TeXML app; refuses a number assigned or routed elsewhere."""
        mirror = self.assistants.mirror(request.assistant_id)
        if not mirror.texml_app_id:
            raise Conflict("the assistant has no TeXML application (enable telephony on it)")
        number = self._number(number_id)
        existing = self.table.get_assignment(self.tenant_id, number_id)
        if existing and existing.assistant_id != mirror.assistant_id and not request.force:
            raise Conflict("the number is assigned to another assistant (unassign it first, or force)")
        routed_elsewhere = number.connection_id and number.connection_id != mirror.texml_app_id
        if routed_elsewhere and existing is None and not request.force:
            raise Conflict("the number is routed to another connection on Telnyx (force to take it)")
        if number.connection_id != mirror.texml_app_id:
            with telnyx_errors("phone number"):
                number = self._telnyx().phone_numbers.update_connection(number_id, mirror.texml_app_id)
        self.table.put_assignment(
            NumberAssignment(
                self.tenant_id,
                number_id,
                number.phone_number or "",
                mirror.assistant_id,
                mirror.texml_app_id,
                self._now(),
            )
        )
        return _number(number, mirror.assistant_id, number_id)

    def unassign(self, number_id: str) -> None:
        """Detach a number from its assistant (its connection is cleared if it still points there)."""
        assignment = self.table.get_assignment(self.tenant_id, number_id)
        if assignment is None:
            raise NotFound("number is not assigned")
        try:
            number = self._number(number_id)
        except NotFound:
            number = None  # released on Telnyx: only our record is left to remove
        if number is not None and number.connection_id == assignment.texml_app_id:
            from telnyx_client.models.phone_numbers import UpdatePhoneNumberRequest

            with telnyx_errors("phone number"):
                self._telnyx().phone_numbers.update(number_id, UpdatePhoneNumberRequest(connection_id=None))
        self.table.delete_assignment(self.tenant_id, number_id)

    def _number(self, number_id: str) -> PhoneNumber:
        with telnyx_errors("phone number"):
            for number in islice(self._telnyx().phone_numbers.iter_all(), MAX_NUMBERS):
                if number.id == number_id:
                    return number
        raise NotFound("phone number not found")

    # --- caller IDs ------------------------------------------------------------------------------
    def create_caller_id(self, request: CallerIdCreateRequest) -> CallerIdResponse:
        """Add a caller ID to the pool."""
        now = self._now()
        record = CallerIdRecord(
            self.tenant_id,
            f"cid_{secrets.token_hex(8)}",
            request.phone_number,
            request.daily_cap,
            request.enabled,
            now,
            now,
        )
        self.table.put_caller_id(record, new=True)
        return self._view(record, HealthWindow())

    def list_caller_ids(self, *, limit: int, cursor: str | None) -> CallerIdListResponse:
        """A page of the pool, each with its health."""
        records, after = self.table.list_caller_ids(self.tenant_id, limit=limit, after=decode_cursor(cursor))
        windows = self.health.windows(self.tenant_id) if records else {}
        return CallerIdListResponse(
            data=[self._view(r, windows.get(r.caller_id_id, HealthWindow())) for r in records],
            next_cursor=encode_cursor(after),
        )

    def get_caller_id(self, caller_id_id: str) -> CallerIdResponse:
        """One caller ID, with its health."""
        return self._with_health(self._caller_id(caller_id_id))

    def update_caller_id(self, caller_id_id: str, request: CallerIdPatchRequest) -> CallerIdResponse:
        """Change a caller ID's cap or enabled flag."""
        current = self._caller_id(caller_id_id)
        record = CallerIdRecord(
            self.tenant_id,
            caller_id_id,
            current.phone_number,
            request.daily_cap if request.daily_cap is not None else current.daily_cap,
            request.enabled if request.enabled is not None else current.enabled,
            current.created_at,
            self._now(),
        )
        if not self.table.put_caller_id(record, new=False):
            raise NotFound("caller ID not found")
        return self.get_caller_id(caller_id_id)

    def delete_caller_id(self, caller_id_id: str) -> None:
        """Remove a caller ID from the pool."""
        if not self.table.delete_caller_id(self.tenant_id, caller_id_id):
            raise NotFound("caller ID not found")

    def rest_caller_id(self, caller_id_id: str, request: CallerIdRestRequest) -> CallerIdResponse:
        """Rest a number now (an operator's decision): no dial uses it until the rest ends, and
        its health starts a fresh window. Resting a rested number sets the new end and reason."""
        now = self._clock()
        hours = request.hours or self.health_settings().rest_hours
        if not self.health.rest(
            self.tenant_id,
            caller_id_id,
            until=rest_end(now, hours),
            reason=request.reason.strip(),
            by=RESTED_BY_OPERATOR,
            now=now,
            only_if_not_rested=False,
        ):
            raise NotFound("caller ID not found")
        return self.get_caller_id(caller_id_id)

    def restore_caller_id(self, caller_id_id: str) -> CallerIdResponse:
        """End a number's rest now (idempotent: restoring an active number changes nothing)."""
        if not self.health.restore(self.tenant_id, caller_id_id):
            raise NotFound("caller ID not found")
        return self.get_caller_id(caller_id_id)

    def health_settings(self) -> CallerIdHealthSettings:
        """The tenant's caller-ID health rule."""
        return self.health.settings(self.tenant_id)

    def put_health_settings(self, settings: CallerIdHealthSettings) -> CallerIdHealthSettings:
        """Replace the tenant's caller-ID health rule (applies within seconds)."""
        self.health.put_settings(self.tenant_id, settings, self._clock())
        return settings

    def _caller_id(self, caller_id_id: str) -> CallerIdRecord:
        record = self.table.get_caller_id(self.tenant_id, caller_id_id)
        if record is None:
            raise NotFound("caller ID not found")
        return record

    def _with_health(self, record: CallerIdRecord) -> CallerIdResponse:
        window = self.health.windows(self.tenant_id).get(record.caller_id_id, HealthWindow())
        return self._view(record, window)

    def _view(self, record: CallerIdRecord, window: HealthWindow) -> CallerIdResponse:
        until = parse_utc(record.rested_until) if record.rested_until else None
        resting = rested(until, self._clock())
        state = "disabled" if not record.enabled else "rested" if resting else "active"
        rest = {
            "rested_until": record.rested_until,
            "rest_reason": record.rest_reason,
            "rested_by": record.rested_by,
            "rested_at": record.rested_at,
        }
        return CallerIdResponse(
            id=record.caller_id_id,
            phone_number=record.phone_number,
            daily_cap=record.daily_cap,
            enabled=record.enabled,
            created_at=record.created_at,
            updated_at=record.updated_at,
            health=CallerIdHealthView(
                state=state,
                calls=window.calls,
                answer_rate=_rounded(window.answer_rate),
                short_share=_rounded(window.short_share),
                **(rest if resting else {}),
            ),
        )

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _number(number: PhoneNumber, assistant_id: str | None, number_id: str | None = None) -> NumberResponse:
    return NumberResponse(
        id=number.id or number_id or "",
        phone_number=number.phone_number,
        status=number.status,
        connection_id=number.connection_id,
        assistant_id=assistant_id,
    )


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
