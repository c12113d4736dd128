"""Shared plumbing of the sub-APIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from telnyx_client._http import HttpCore
from telnyx_client.retry import Deadline

M = TypeVar("M", bound=BaseModel)

DeadlineArg = float | Deadline | None


def as_request[M: BaseModel](model: type[M], value: M | Mapping[str, Any]) -> M:
    """Accept a request model or a plain mapping; a mapping is validated strictly (unknown keys fail)."""
    if isinstance(value, model):
        return value
    if isinstance(value, Mapping):
        return model.model_validate(value)
    raise TypeError(f"expected {model.__name__} or a mapping, not {type(value).__name__}")


def seg(value: str) -> str:
    """One URL path segment, escaped (ids such as ``v3:…`` contain ``:``, which is left as is)."""
    if not value:
        raise ValueError("path id must not be empty")
    return quote(value, safe=":@")


class SubAPI:
    """Base: holds the shared HTTP core."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core
