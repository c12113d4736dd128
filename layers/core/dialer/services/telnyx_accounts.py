"""The Telnyx client of each tenant, and the one mapping of Telnyx errors to domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from dialer.errors import (
    InvalidInput,
    NotFound,
    TenantNotConfigured,
    UpstreamFailed,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
)
from telnyx_client.errors import (
    TelnyxAuthError,
    TelnyxError,
    TelnyxNotFound,
    TelnyxRateLimited,
    TelnyxTransportError,
    TelnyxValidationError,
)

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient

REJECTED_KEY = "Telnyx rejected this tenant's API key"


class ApiKeySource(Protocol):
    """Where a tenant's Telnyx API key comes from."""

    def telnyx_api_key(self, tenant_id: str) -> str | None:
        """The key, or None if the tenant has none."""
        ...


class TelnyxAccounts:
    """One cached :class:`TelnyxClient` per tenant and API key (a rotated key gets a new client)."""

    def __init__(self, keys: ApiKeySource, *, base_url: str, timeout: float, **client_options: Any) -> None:
        self.keys = keys
        self.base_url = base_url
        self.timeout = timeout
        self.client_options = client_options
        self._clients: dict[tuple[str, str], TelnyxClient] = {}

    def client_for(self, tenant_id: str) -> TelnyxClient:
        """The tenant's client; TenantNotConfigured if no Telnyx API key is stored for it."""
        from telnyx_client.client import TelnyxClient

        api_key = self.keys.telnyx_api_key(tenant_id)
        if not api_key:
            raise TenantNotConfigured("this tenant has no Telnyx API key yet (tenant.py set-secrets)")
        cache_key = (tenant_id, api_key)
        client = self._clients.get(cache_key)
        if client is None:
            client = TelnyxClient(api_key, self.base_url, timeout=self.timeout, **self.client_options)
            self._clients[cache_key] = client
        return client


@contextmanager
def telnyx_errors(what: str) -> Iterator[None]:
    """Map a Telnyx failure inside the block to the domain error the API answers with."""
    try:
        yield
    except TelnyxValidationError as exc:
        raise InvalidInput(f"Telnyx rejected the {what}", errors=validation_details(exc)) from exc
    except TelnyxAuthError as exc:
        raise UpstreamRejected(REJECTED_KEY) from exc
    except TelnyxNotFound as exc:
        raise NotFound(f"{what} not found") from exc
    except TelnyxRateLimited as exc:
        raise UpstreamRateLimited("Telnyx is rate limiting this tenant", retry_after=exc.retry_after) from exc
    except TelnyxTransportError as exc:
        raise UpstreamTimeout("Telnyx did not answer in time") from exc
    except TelnyxError as exc:
        raise UpstreamFailed(f"Telnyx failed (HTTP {exc.status})") from exc


def validation_details(exc: TelnyxError) -> list[dict[str, object]]:
    """Telnyx's 422 entries (either body shape) as our ``{loc, msg, type}`` entries."""
    out: list[dict[str, object]] = []
    for entry in exc.errors:
        if entry.loc:
            loc: list[object] = ["body", *[part for part in entry.loc if part != "body"]]
        else:
            pointer = str(entry.source.get("pointer") or "").strip("/")
            loc = ["body", *pointer.split("/")] if pointer else ["body"]
        message = entry.detail or entry.title or "rejected by Telnyx"
        kind = entry.type or (f"telnyx_{entry.code}" if entry.code else "telnyx_rejected")
        out.append({"loc": loc, "msg": message, "type": kind})
    return out or [
        {"loc": ["body"], "msg": str(exc.body_excerpt or "rejected by Telnyx"), "type": "telnyx_rejected"}
    ]
