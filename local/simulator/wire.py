"""Small wire helpers: Telnyx timestamps, ids, error bodies, field checks."""

from __future__ import annotations

import base64
import binascii
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


_clock_offset = timedelta(0)


def set_clock_offset(seconds: float) -> None:
    """Shift the simulator's wall clock (event timestamps, scheduled events) by ``seconds``.

    The product's local stack shifts its own clock the same way (``dialer.clock``) so a test can
    place "now" inside every US zone's calling window; both sides must agree on what time it is.
    Process-wide: one simulator per process is the normal case.
    """
    global _clock_offset
    _clock_offset = timedelta(seconds=seconds)


def now() -> datetime:
    """The simulated wall clock (UTC, shifted by the configured offset)."""
    return datetime.now(UTC) + _clock_offset


def iso_now() -> str:
    """Telnyx's timestamp format: ISO 8601, microseconds, ``Z`` (``2026-11-24T15:00:08.512000Z``)."""
    return iso(now())


def iso(moment: datetime) -> str:
    """Format an aware datetime the way Telnyx does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_uuid(rng: random.Random | None = None) -> str:
    """A v4 uuid string; from ``rng`` when given, so seeded runs reproduce ids."""
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_call_control_id(rng: random.Random) -> str:
    """A ``v3:`` id shaped like real ones (``v3:`` + 54 url-safe base64 characters)."""
    raw = rng.getrandbits(320).to_bytes(40, "big")
    return "v3:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")[:54]


def new_numeric_id(rng: random.Random) -> str:
    """A 19-digit id like Telnyx connection, TeXML app and phone-number ids."""
    return str(rng.randrange(10**18, 10**19))


def is_e164(value: Any) -> bool:
    """True for a ``+E164`` number."""
    return isinstance(value, str) and bool(E164.match(value))


def is_base64(value: Any) -> bool:
    """True if ``value`` is a string of valid (standard) base64."""
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def error(code: str, title: str, detail: str | None = None, pointer: str | None = None) -> dict[str, Any]:
    """One ``call-control_Error`` object (code is a string, as in the spec)."""
    err: dict[str, Any] = {"code": code, "title": title}
    if detail:
        err["detail"] = detail
    if pointer:
        err["source"] = {"pointer": pointer}
    err["meta"] = {"url": f"https://developers.telnyx.com/docs/overview/errors/{code}"}
    return err


def errors(*items: dict[str, Any]) -> dict[str, Any]:
    """The ``{"errors": [...]}`` envelope of Call Control, TeXML and most of v2."""
    return {"errors": list(items)}


def detail(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    """One FastAPI validation item, as the ``/ai/*`` endpoints return in a 422."""
    return {"loc": loc, "msg": msg, "type": kind}


def page_meta(total: int, number: int, size: int) -> dict[str, int]:
    """The AI endpoints' pagination meta."""
    pages = max(1, -(-total // size)) if size else 1
    return {"page_number": number, "page_size": size, "total_pages": pages, "total_results": total}


def render_template(text: str, variables: dict[str, Any]) -> str:
    """Replace ``{{name}}`` as Telnyx does; unresolved variables stay literal."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        return str(variables[key]) if key in variables else match.group(0)

    return re.sub(r"\{\{\s*([^{}|#/]+?)\s*\}\}", sub, text)
