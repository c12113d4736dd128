"""``dialer calls``: a call with its transcript and insights, or every call of a lead."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from dialer_cli.api import Api, no_such_route
from dialer_cli.errors import CliError, ExitCode
from dialer_cli.state import emit_json, out, state

calls_app = typer.Typer(
    help="Calls: what happened, with transcript and insights when the API has them.", no_args_is_help=True
)


@calls_app.command("show")
def calls_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A call id (call_control_id), or a lead id for all its calls.")],
) -> None:
    """A call with its transcript and insights, or every call of a lead."""
    api = state(ctx).api()
    call = api.get_optional(f"/calls/{ref}")
    if call is not None:
        transcript, why = transcript_of(api, ref)
        if state(ctx).as_json:
            emit_json({"call": call, "transcript": transcript})
            return
        emit_json(call)
        print_transcript(transcript, why)
        return
    lead = api.get_optional(f"/leads/{ref}")
    if lead is None:
        raise CliError(f"no call or lead with id {ref!r}", ExitCode.NOT_FOUND)
    if state(ctx).as_json:
        emit_json(lead)
        return
    name = " ".join(x for x in (lead.get("first_name"), lead.get("last_name")) if x)
    out.print(
        f"lead {lead['id']} {name} {lead['phone']}: {lead['status']} after {lead['attempts']} attempt(s)"
        f"{' — ' + ', '.join(lead['last_reasons']) if lead.get('last_reasons') else ''}",
        highlight=False,
    )
    table = Table("#", "call id", "state", "outcome", "dialled", "ended", "duration s", title="calls")
    for a in lead.get("history") or []:
        table.add_row(
            str(a["n"]),
            a.get("call_control_id") or "",
            a["state"],
            a.get("outcome") or "",
            a.get("accepted_at") or "",
            a.get("ended_at") or "",
            "" if a.get("duration_s") is None else str(a["duration_s"]),
        )
    out.print(table)
    out.print(Text("a call's transcript and insights: dialer calls show <call id>", style="dim"))


def transcript_of(api: Api, call_id: str) -> tuple[Any | None, str | None]:
    """The call's transcript, or None and the API's reason (it says why a call has none)."""
    path = f"/calls/{call_id}/transcript"
    response = api.send("GET", path)
    if response.is_success:
        return response.json(), None
    if no_such_route(response):
        return None, "transcripts: not available from this API (an older stack?)"
    if response.status_code == 404:
        try:
            reason = response.json().get("message")
        except (ValueError, AttributeError):
            reason = None
        return None, reason if isinstance(reason, str) else None
    raise api.error("GET", path, response)


def print_transcript(transcript: Any, why: str | None = None) -> None:
    if not transcript:
        out.print(Text(why or "no transcript", style="dim"), highlight=False)
        return
    messages = transcript.get("messages", transcript) if isinstance(transcript, dict) else transcript
    for m in messages if isinstance(messages, list) else []:
        when = f"{m['created_at']} " if m.get("created_at") else ""
        out.print(
            Text(when, style="dim")
            + Text(f"{m.get('role', '?')}: ", style="bold")
            + Text(str(m.get("text") or m.get("content") or "")),
            highlight=False,
        )
