"""Small shapes shared across areas: SIP headers, paging metadata, command results."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field

from telnyx_client.models._base import RequestModel, ResponseModel

T = TypeVar("T")


class CustomSipHeader(RequestModel):
    """A custom SIP header (``X-…``) added to the INVITE/BYE."""

    name: str
    value: str


class SipHeader(RequestModel):
    """A standard SIP header Telnyx lets us set (only ``User-to-User`` on Call Control)."""

    name: Literal["User-to-User"]
    value: str


class PageMeta(ResponseModel):
    """``meta`` of a paged response."""

    page_number: int | None = None
    page_size: int | None = None
    total_pages: int | None = None
    total_results: int | None = None


class Page[T](ResponseModel):
    """A page of ``data`` items with optional ``meta``."""

    data: list[T] = Field(default_factory=list)
    meta: PageMeta | None = None


class CommandResult(ResponseModel):
    """``data`` of a Call Control command answer (``{"result": "ok"}``)."""

    result: str | None = None
    conversation_id: str | None = None
