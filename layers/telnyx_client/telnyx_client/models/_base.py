"""Base classes: strict request models and tolerant response models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr


class RequestModel(BaseModel):
    """A body we send. Unknown fields are an error; only fields the caller set go on the wire.

    ``defer_build`` keeps import cheap (schemas are built on first use, not at cold start).
    """

    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True, defer_build=True)
    _echoed: dict[str, Any] = PrivateAttr(default_factory=dict)

    def echo_upstream(self, values: Mapping[str, Any]) -> Self:
        """Send back, unchanged, nested keys that Telnyx itself returned but these models do not
        know (Telnyx is newer than its published spec). They are merged only into objects this
        body already sends, so re-sending a settings block never drops a setting Telnyx has.
        This is the one way past ``extra="forbid"``, and only for values that came from Telnyx."""
        self._echoed = dict(values)
        return self

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: wire names (aliases), only the fields that were set (PATCH-like semantics)."""
        body = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return _merge_into_present(body, self._echoed) if self._echoed else body


def _merge_into_present(body: dict[str, Any], echoed: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with ``echoed`` keys added inside the objects ``body`` has (body's values win)."""
    for key, value in echoed.items():
        if key not in body:
            continue
        if isinstance(value, Mapping) and isinstance(body[key], dict):
            for inner_key, inner in value.items():
                if inner_key not in body[key]:
                    body[key][inner_key] = inner
                elif isinstance(inner, Mapping) and isinstance(body[key][inner_key], dict):
                    _merge_into_present(body[key], {inner_key: inner})
    return body


class TaggedRequestModel(RequestModel):
    """A member of a union discriminated by ``type``: the tag is always sent, even when defaulted."""

    def model_post_init(self, context: Any, /) -> None:
        """Mark ``type`` as set, so ``exclude_unset`` never drops the discriminator."""
        self.model_fields_set.add("type")


class ResponseModel(BaseModel):
    """A body we receive. Unknown keys are kept (``model_extra``); every field is optional."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True, defer_build=True)
