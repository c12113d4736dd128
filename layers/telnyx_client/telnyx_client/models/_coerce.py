"""Explicit coercion of dynamic variables to the string-only maps some endpoints demand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def string_variables(value: Any) -> Any:
    """Coerce a mapping's scalar values to strings; reject nested or null values with a clear error.

    TeXML ``AIAssistantDynamicVariables`` and scheduled-event ``dynamic_variables`` accept strings
    only (Prism rejects ``{"n": 5}``, WIRE §5.1). Numbers become their decimal text and booleans
    ``"true"``/``"false"`` (how the assistant would read them aloud from JSON); ``None``, lists and
    objects are refused, because no string form of them is obviously right.
    """
    if not isinstance(value, Mapping):
        return value  # let pydantic report the type error
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            out[str(key)] = "true" if item else "false"
        elif isinstance(item, str):
            out[str(key)] = item
        elif isinstance(item, int | float):
            out[str(key)] = str(item)
        else:
            raise ValueError(
                f"dynamic variable {key!r} must be a string, number or boolean, not {type(item).__name__}"
            )
    return out
