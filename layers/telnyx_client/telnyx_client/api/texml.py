"""``client.texml``: the TeXML AI call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telnyx_client.api._base import DeadlineArg, SubAPI, as_request, seg
from telnyx_client.models.texml import TexmlAICallRequest, TexmlAICallResult


class TexmlAPI(SubAPI):
    """TeXML AI calls. Never retried: the request has no ``command_id``, so a retry could ring twice."""

    def ai_call(
        self,
        connection_id: str,
        request: TexmlAICallRequest | Mapping[str, Any],
        *,
        timeout: float | None = None,
        deadline: DeadlineArg = None,
    ) -> TexmlAICallResult:
        """``POST /texml/ai_calls/{connection_id}`` (the TeXML application id); answer not ``data``-wrapped.

        On a timeout or 5xx the call may or may not exist: record the attempt as unconfirmed and
        reconcile it from callbacks, never re-dial blindly.
        """
        body = as_request(TexmlAICallRequest, request).to_wire()
        data = self._core.request_json(
            "POST",
            f"/texml/ai_calls/{seg(connection_id)}",
            retry_safe=False,
            json_body=body,
            timeout=timeout,
            deadline=deadline,
        )
        return TexmlAICallResult.model_validate(data or {})
