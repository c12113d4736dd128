"""Phone numbers: list, and point a number at a connection (``PATCH /phone_numbers/{id}``)."""

from __future__ import annotations

from pydantic import Field

from telnyx_client.models._base import RequestModel, ResponseModel
from telnyx_client.models.common import PageMeta


class UpdatePhoneNumberRequest(RequestModel):
    """``PATCH /phone_numbers/{id}`` body (``UpdatePhoneNumberRequest``)."""

    connection_id: str | None = None
    billing_group_id: str | None = None
    customer_reference: str | None = None
    tags: list[str] | None = None
    address_id: str | None = None
    external_pin: str | None = None
    hd_voice_enabled: bool | None = None


class PhoneNumber(ResponseModel):
    """A phone number (``PhoneNumberDetailed``), tolerant of everything the API adds."""

    id: str | None = None
    phone_number: str | None = None
    status: str | None = None
    connection_id: str | None = None
    connection_name: str | None = None
    messaging_profile_id: str | None = None
    billing_group_id: str | None = None
    customer_reference: str | None = None
    tags: list[str] | None = None
    country_iso_alpha2: str | None = None
    phone_number_type: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    record_type: str | None = None


class PhoneNumberEnvelope(ResponseModel):
    """``{"data": PhoneNumber}``."""

    data: PhoneNumber | None = None


class PhoneNumberPage(ResponseModel):
    """A page of phone numbers."""

    data: list[PhoneNumber] = Field(default_factory=list)
    meta: PageMeta | None = None
