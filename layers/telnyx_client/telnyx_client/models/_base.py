"""Base classes: strict request models and tolerant response models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A body we send. Unknown fields are an error; only fields the caller set go on the wire.

    ``defer_build`` keeps import cheap (schemas are built on first use, not at cold start).
    """

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: wire names (aliases), only the fields that were set (PATCH-like semantics)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class TaggedRequestModel(RequestModel):
    """A member of a union discriminated by ``type``: the tag is always sent, even when defaulted."""

    def model_post_init(self, context: Any, /) -> None:
        """Mark ``type`` as set, so ``exclude_unset`` never drops the discriminator."""
        self.model_fields_set.add("type")


class ResponseModel(BaseModel):
    """A body we receive. Unknown keys are kept (``model_extra``); every field is optional."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True, defer_build=True)
