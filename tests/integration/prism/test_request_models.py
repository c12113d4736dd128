"""Every field of every request model the Telnyx client can send is declared by the OpenAPI spec.

The Prism suite checks the bodies its tests happen to send; a field no test sets (a misspelled
``park_after_unbridge``) would pass it. This walk is static: it builds, from each request model's
annotations, bodies that set every field (each alternative of a union, each member of a tagged
list) and runs them through the strict unknown-key walk against the operation that model is sent
to. A request model that no operation below reaches fails the test too, so a new model cannot
slip past it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import types
import typing
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel

import telnyx_client.models
from telnyx_client.models._base import RequestModel, TaggedRequestModel
from telnyx_client.models.assistants import CreateAssistantRequest, UpdateAssistantRequest
from telnyx_client.models.calls import (
    AIAssistantStartRequest,
    DialRequest,
    HangupRequest,
    SpeakRequest,
    TransferRequest,
)
from telnyx_client.models.insights import CreateInsightGroupRequest, CreateInsightTemplateRequest
from telnyx_client.models.phone_numbers import UpdatePhoneNumberRequest
from telnyx_client.models.scheduled_events import CreateScheduledEventRequest
from telnyx_client.models.texml import TexmlAICallRequest
from tests.integration.prism.openapi_walk import unknown_body_keys

#: Each body model and every operation ``telnyx_client.api`` sends it to (concrete sample paths).
SENT_TO: list[tuple[type[RequestModel], str, str]] = [
    (CreateAssistantRequest, "POST", "/ai/assistants"),
    (UpdateAssistantRequest, "POST", "/ai/assistants/a-1"),
    (UpdateAssistantRequest, "POST", "/ai/assistants/a-1/versions/v-1"),
    (CreateScheduledEventRequest, "POST", "/ai/assistants/a-1/scheduled_events"),
    (DialRequest, "POST", "/calls"),
    (AIAssistantStartRequest, "POST", "/calls/v3:c/actions/ai_assistant_start"),
    (HangupRequest, "POST", "/calls/v3:c/actions/hangup"),
    (SpeakRequest, "POST", "/calls/v3:c/actions/speak"),
    (TransferRequest, "POST", "/calls/v3:c/actions/transfer"),
    (TexmlAICallRequest, "POST", "/texml/ai_calls/123"),
    (CreateInsightTemplateRequest, "POST", "/ai/conversations/insights"),
    (CreateInsightGroupRequest, "POST", "/ai/conversations/insight-groups"),
    (UpdatePhoneNumberRequest, "PATCH", "/phone_numbers/n-1"),
]
SCALARS: dict[type, Any] = {str: "x", int: 1, float: 1.5, bool: True, bytes: "x"}
MAX_DEPTH = 12


def wire_name(name: str, field: Any) -> str:
    return str(field.serialization_alias or field.alias or name)


def values_for(annotation: Any, depth: int = 0) -> list[Any]:
    """Sample wire values for an annotation: one per alternative (a union of models gives one
    body per member; a list holds one item per alternative of its item type)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return values_for(args[0], depth)
    if origin in (typing.Union, types.UnionType):
        return [v for arg in args if arg is not type(None) for v in values_for(arg, depth)]
    if origin is typing.Literal:
        return [args[0]]
    if origin is list:
        return [values_for(args[0], depth)]
    if origin is dict:
        # Keys of a map are data, not field names; only model values have fields to check.
        inner = [v for v in values_for(args[1], depth) if isinstance(v, dict)] if len(args) == 2 else []
        return [{"any_key": v} for v in inner] or [{}]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return bodies(annotation, depth + 1)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [next(iter(annotation)).value]
    if annotation in SCALARS:
        return [SCALARS[annotation]]
    return [None]


def bodies(model: type[BaseModel], depth: int = 0) -> list[dict[str, Any]]:
    """Bodies setting every field of ``model``; together they cover every alternative of every field."""
    if depth > MAX_DEPTH:
        raise AssertionError(f"{model.__name__}: models nest deeper than {MAX_DEPTH} (a cycle?)")
    model.model_rebuild()  # request models defer building; this resolves their annotations
    options = {wire_name(n, f): values_for(f.annotation, depth) for n, f in model.model_fields.items()}
    count = max((len(v) for v in options.values()), default=1)
    return [{k: v[min(i, len(v) - 1)] for k, v in options.items()} for i in range(count)]


def reachable_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """``model`` and every model its fields can hold."""
    found: set[type[BaseModel]] = set()

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                annotation.model_rebuild()
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(model)
    return found


def all_request_models() -> set[type[RequestModel]]:
    """Every concrete request model defined in ``telnyx_client.models``."""
    found: set[type[RequestModel]] = set()
    for info in pkgutil.iter_modules(telnyx_client.models.__path__):
        module = importlib.import_module(f"telnyx_client.models.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, RequestModel)
                and value not in (RequestModel, TaggedRequestModel)
                and not value.__name__.startswith("_")
                and value.__module__ == module.__name__
            ):
                found.add(value)
    return found


#: Fields Telnyx documents that the July 2026 spec in tests/fixtures predates, each with its source
#: (WIRE §12.1). Only these may pass undeclared: anything else a model can send must be in the spec.
NEWER_THAN_SPEC = {
    "$.tools[].timeout_ms": "SDK 4.189: timeout_ms belongs at tool level, a sibling of type",
    "$.tools[].webhook.preset_body_fields": "docs: ai-assistants/preset-webhook-parameters; SDK 4.189",
    "$.tools[].webhook.preset_query_params": "docs: ai-assistants/preset-webhook-parameters; SDK 4.189",
}


def _undeclared(openapi_spec: dict[str, Any], method: str, path: str, body: dict[str, Any]) -> set[str]:
    found = unknown_body_keys(openapi_spec, method, path, body)
    return {key for key in found if re.sub(r"\[\d+\]", "[]", key) not in NEWER_THAN_SPEC}


@pytest.mark.parametrize(("model", "method", "path"), SENT_TO, ids=lambda v: getattr(v, "__name__", v))
def test_every_field_of_the_model_is_declared_by_the_spec(
    openapi_spec: dict[str, Any], model: type[RequestModel], method: str, path: str
) -> None:
    samples = bodies(model)
    unknown = sorted({key for body in samples for key in _undeclared(openapi_spec, method, path, body)})
    assert unknown == [], f"{model.__name__} fields the spec does not declare for {method} {path}"


def test_every_request_model_is_walked() -> None:
    walked = set().union(*(reachable_models(model) for model, _, _ in SENT_TO))
    assert sorted(m.__name__ for m in all_request_models() - walked) == []


def test_the_walk_sees_fields_no_test_sends(openapi_spec: dict[str, Any]) -> None:
    # GIVEN a request model with a misspelled field no conformance test ever sets
    class Misspelled(TransferRequest):
        park_after_unbrdge: str | None = None

    # WHEN walked, THEN the misspelling is reported (and the real model is clean)
    found = {
        k
        for b in bodies(Misspelled)
        for k in unknown_body_keys(openapi_spec, "POST", "/calls/c/actions/transfer", b)
    }
    assert found == {"$.park_after_unbrdge"}
    # AND every alternative of a tagged union is covered: one body per tool type
    tool_types = {tool["type"] for body in bodies(CreateAssistantRequest) for tool in body["tools"]}
    assert {"webhook", "hangup", "transfer", "handoff"} <= tool_types
