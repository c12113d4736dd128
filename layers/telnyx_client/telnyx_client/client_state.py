"""``client_state``: the opaque value Telnyx echoes back on every webhook of a call.

Telnyx requires it to be base64 (WIRE §0.5). The client encodes it for the caller, so nobody
hand-rolls base64 at a call site: a mapping is sent as compact JSON, bytes as they are. A string
is taken to be base64 already and is checked, never encoded twice. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

ClientStateInput = Mapping[str, Any] | bytes | str


def encode_client_state(value: ClientStateInput) -> str:
    """Return the base64 wire form of ``value`` (mapping → compact JSON → base64; bytes → base64)."""
    if isinstance(value, Mapping):
        raw = json.dumps(dict(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
        return base64.b64encode(raw).decode("ascii")
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, str):
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(
                "client_state must be base64; pass a dict or bytes and the client encodes it"
            ) from exc
        return value
    raise TypeError(f"client_state must be a mapping, bytes or a base64 string, not {type(value).__name__}")


def decode_client_state(value: str | None) -> dict[str, Any] | bytes | None:
    """Decode a ``client_state`` echoed by Telnyx: a JSON object if it is one, else the raw bytes.

    ``None`` (real webhooks send ``client_state: null``, WIRE §7.1) and undecodable values give
    ``None``: client_state is a hint to correlate with our own records, never trusted on its own.
    """
    if not value:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return raw
    return doc if isinstance(doc, dict) else raw
