"""``client.calls``: Call Control dial, actions on a live call, and call status."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from telnyx_client.api._base import DeadlineArg, SubAPI, as_request, seg
from telnyx_client.client_state import ClientStateInput
from telnyx_client.errors import CODE_CALL_ALREADY_ENDED, TelnyxValidationError
from telnyx_client.models.calls import (
    AIAssistantStartRequest,
    Call,
    DialRequest,
    HangupRequest,
    SpeakRequest,
    TransferRequest,
)
from telnyx_client.models.common import CommandResult, CustomSipHeader

# ``CommandResult.result`` of a hangup that found the call already over (90018), which is success.
ALREADY_ENDED = "already_ended"


def _data(doc: Any) -> Any:
    return doc.get("data") if isinstance(doc, Mapping) else None


class CallsAPI(SubAPI):
    """Call Control. Retried only when the command carries a ``command_id``.

    ``dial`` is retried only if *you* set ``command_id`` (use the attempt id, so SQS redelivery is
    deduplicated by Telnyx too). Actions on a live call (hangup, transfer, ai_assistant_start) get a
    fresh ``command_id`` when you pass none, which makes this call's own retries safe.
    """

    def dial(
        self,
        request: DialRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> Call:
        """``POST /calls``; the answer has ``call_control_id`` (``is_alive`` is always false here)."""
        model = as_request(DialRequest, request)
        data = self._core.request_json(
            "POST",
            "/calls",
            retry_safe=model.command_id is not None,
            json_body=model.to_wire(),
            timeout=timeout,
            deadline=deadline,
        )
        return Call.model_validate(_data(data) or {})

    def hangup(
        self,
        call_control_id: str,
        *,
        command_id: str | None = None,
        client_state: ClientStateInput | None = None,
        custom_headers: Sequence[CustomSipHeader | Mapping[str, str]] | None = None,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> CommandResult:
        """Hang up. A call that already ended (90018) is success: ``result == ALREADY_ENDED``."""
        fields: dict[str, Any] = {"command_id": command_id or str(uuid.uuid4())}
        if client_state is not None:
            fields["client_state"] = client_state
        if custom_headers is not None:
            fields["custom_headers"] = list(custom_headers)
        body = HangupRequest.model_validate(fields).to_wire()
        try:
            data = self._core.request_json(
                "POST",
                f"/calls/{seg(call_control_id)}/actions/hangup",
                retry_safe=True,
                json_body=body,
                timeout=timeout,
                deadline=deadline,
            )
        except TelnyxValidationError as exc:
            if exc.has_code(CODE_CALL_ALREADY_ENDED):
                return CommandResult(result=ALREADY_ENDED)
            raise
        return CommandResult.model_validate(_data(data) or {})

    def ai_assistant_start(
        self,
        call_control_id: str,
        request: AIAssistantStartRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> CommandResult:
        """``POST /calls/{id}/actions/ai_assistant_start``; the answer carries ``conversation_id``."""
        model = as_request(AIAssistantStartRequest, request)
        body = model.to_wire()
        body.setdefault("command_id", str(uuid.uuid4()))
        data = self._core.request_json(
            "POST",
            f"/calls/{seg(call_control_id)}/actions/ai_assistant_start",
            retry_safe=True,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return CommandResult.model_validate(_data(data) or {})

    def speak(
        self,
        call_control_id: str,
        request: SpeakRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> CommandResult:
        """``POST /calls/{id}/actions/speak``; ``call.speak.ended`` follows when it is read out."""
        body = as_request(SpeakRequest, request).to_wire()
        body.setdefault("command_id", str(uuid.uuid4()))
        data = self._core.request_json(
            "POST",
            f"/calls/{seg(call_control_id)}/actions/speak",
            retry_safe=True,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return CommandResult.model_validate(_data(data) or {})

    def transfer(
        self,
        call_control_id: str,
        request: TransferRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> CommandResult:
        """``POST /calls/{id}/actions/transfer``."""
        body = as_request(TransferRequest, request).to_wire()
        body.setdefault("command_id", str(uuid.uuid4()))
        data = self._core.request_json(
            "POST",
            f"/calls/{seg(call_control_id)}/actions/transfer",
            retry_safe=True,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return CommandResult.model_validate(_data(data) or {})

    def retrieve(
        self, call_control_id: str, *, timeout: float | None = None, deadline: DeadlineArg = None
    ) -> Call:
        """``GET /calls/{id}``: whether the call is alive, and its times."""
        data = self._core.request_json(
            "GET", f"/calls/{seg(call_control_id)}", retry_safe=True, timeout=timeout, deadline=deadline
        )
        return Call.model_validate(_data(data) or {})
