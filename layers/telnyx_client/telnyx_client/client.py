"""The Telnyx REST client: ``TelnyxClient(api_key).calls.dial(...)``.

Importing this module is nearly free on purpose (a cold Lambda may import it and never call
Telnyx): httpx is imported when a client is constructed, and each sub-API with its pydantic
models on first attribute access (``client.calls`` …).

Usage::

    client = TelnyxClient(api_key)                     # base_url defaults to https://api.telnyx.com/v2
    call = client.calls.dial(
        {"connection_id": app_id, "to": "+1…", "from": "+1…", "command_id": attempt_id,
         "client_state": {"lead_id": "…"}, "assistant": {"id": assistant_id}},
        timeout=5.0,
        deadline=client.deadline_in(remaining_seconds - 0.5),
    )

Every method takes ``timeout=`` (seconds per attempt) and ``deadline=`` (absolute, on
:attr:`TelnyxClient.clock`; no attempt or retry sleep runs past it). Failures raise the
:mod:`telnyx_client.errors` hierarchy.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from telnyx_client.retry import Clock, Deadline, RetryPolicy, Sleep

if TYPE_CHECKING:
    import httpx

    from telnyx_client._http import HttpCore
    from telnyx_client.api.assistants import AssistantsAPI
    from telnyx_client.api.calls import CallsAPI
    from telnyx_client.api.conversations import ConversationsAPI
    from telnyx_client.api.insights import InsightGroupsAPI, InsightTemplatesAPI
    from telnyx_client.api.phone_numbers import PhoneNumbersAPI
    from telnyx_client.api.reputation import ReputationAPI
    from telnyx_client.api.texml import TexmlAPI

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.0


class TelnyxClient:
    """A synchronous, typed Telnyx client over one shared ``httpx.Client`` (connections are reused).

    Sub-APIs: :attr:`assistants` (with ``.versions`` and ``.scheduled_events``), :attr:`calls`,
    :attr:`texml`, :attr:`conversations`, :attr:`insight_templates`, :attr:`insight_groups`,
    :attr:`phone_numbers`, :attr:`reputation`.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); ``clock``/``sleep``/
    ``wall_clock``/``jitter`` make the retry timing deterministic in tests; ``event_hooks`` are
    httpx hooks (the conformance suite uses them to read Prism's ``sl-violations`` header).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        max_retries: int = 2,
        retry_base_delay: float = 0.25,
        retry_max_delay: float = 4.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        wall_clock: Clock = time.time,
        jitter: Callable[[float, float], float] = random.uniform,
        headers: Mapping[str, str] | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required")
        # Deferred: httpx costs ~80 ms to import; see the module docstring.
        from telnyx_client._http import HttpCore

        self.clock = clock
        self._core: HttpCore = HttpCore(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            connect_timeout=connect_timeout,
            transport=transport,
            retry_policy=RetryPolicy(
                max_retries=max_retries, base_delay=retry_base_delay, max_delay=retry_max_delay, random=jitter
            ),
            clock=clock,
            sleep=sleep,
            wall_clock=wall_clock,
            headers=headers,
            event_hooks=event_hooks,
        )

    def deadline_in(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now on this client's clock (e.g. Lambda's remaining time − margin)."""
        return Deadline.after(seconds, self.clock)

    @cached_property
    def assistants(self) -> AssistantsAPI:
        """AI assistants, ``.versions`` and ``.scheduled_events``."""
        from telnyx_client.api.assistants import AssistantsAPI

        return AssistantsAPI(self._core)

    @cached_property
    def calls(self) -> CallsAPI:
        """Call Control: dial, hangup, ai_assistant_start, transfer, status."""
        from telnyx_client.api.calls import CallsAPI

        return CallsAPI(self._core)

    @cached_property
    def texml(self) -> TexmlAPI:
        """TeXML AI calls."""
        from telnyx_client.api.texml import TexmlAPI

        return TexmlAPI(self._core)

    @cached_property
    def conversations(self) -> ConversationsAPI:
        """AI conversations, messages, insight results."""
        from telnyx_client.api.conversations import ConversationsAPI

        return ConversationsAPI(self._core)

    @cached_property
    def insight_templates(self) -> InsightTemplatesAPI:
        """Insight templates."""
        from telnyx_client.api.insights import InsightTemplatesAPI

        return InsightTemplatesAPI(self._core)

    @cached_property
    def insight_groups(self) -> InsightGroupsAPI:
        """Insight groups."""
        from telnyx_client.api.insights import InsightGroupsAPI

        return InsightGroupsAPI(self._core)

    @cached_property
    def phone_numbers(self) -> PhoneNumbersAPI:
        """Phone numbers."""
        from telnyx_client.api.phone_numbers import PhoneNumbersAPI

        return PhoneNumbersAPI(self._core)

    @cached_property
    def reputation(self) -> ReputationAPI:
        """Number Reputation (spam risk of the enterprise's monitored numbers)."""
        from telnyx_client.api.reputation import ReputationAPI

        return ReputationAPI(self._core)

    def close(self) -> None:
        """Close pooled connections (a Lambda keeps its client for the container's life instead)."""
        self._core.close()

    def __enter__(self) -> Self:
        """Use as a context manager in scripts and tests."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close on exit."""
        self.close()
