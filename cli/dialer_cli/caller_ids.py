"""``dialer caller-ids``: the caller-ID pool with each number's health, and an operator's rest and
restore (issue 23; docs/operations.md, "Caller-ID health")."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from dialer_cli.errors import CliError, ExitCode
from dialer_cli.state import emit_json, out, state

caller_ids_app = typer.Typer(
    help="Caller IDs: health (answer rate, short calls, rests), rest and restore.",
    invoke_without_command=True,
)


def percent(value: float | None) -> str:
    """A share as a percentage ("" when there is nothing to divide)."""
    return "" if value is None else f"{value:.0%}"


def _describe(caller: dict[str, Any]) -> str:
    health = caller["health"]
    line = f"{caller['phone_number']}  {caller['id']}  {health['state']}"
    if health["state"] == "rested":
        line += f" until {health['rested_until']} ({health['rested_by']}: {health['rest_reason']})"
    return line


def _print(ctx: typer.Context, caller: dict[str, Any]) -> None:
    if state(ctx).as_json:
        emit_json(caller)
    else:
        out.print(_describe(caller), highlight=False)


def _resolve(ctx: typer.Context, number_or_id: str) -> str:
    """A pool id from an id or a phone number of the pool."""
    if not number_or_id.startswith("+"):
        return number_or_id
    for caller in state(ctx).api().pages("/caller-ids"):
        if caller["phone_number"] == number_or_id:
            return str(caller["id"])
    raise CliError(f"{number_or_id} is not in the caller-ID pool", ExitCode.NOT_FOUND)


@caller_ids_app.callback()
def caller_ids(ctx: typer.Context) -> None:
    """The pool with each number's health (the same as ``caller-ids list``)."""
    if ctx.invoked_subcommand is None:
        list_caller_ids(ctx)


@caller_ids_app.command("list")
def list_caller_ids(ctx: typer.Context) -> None:
    """Every caller ID: calls counted, answer rate, very short share, state, rest."""
    items = list(state(ctx).api().pages("/caller-ids"))
    if state(ctx).as_json:
        emit_json(items)
        return
    table = Table("number", "id", "state", "calls", "answered", "very short", "rested until", "reason")
    for c in items:
        h = c["health"]
        table.add_row(
            c["phone_number"],
            c["id"],
            h["state"],
            str(h["calls"]),
            percent(h["answer_rate"]),
            percent(h["short_share"]),
            h.get("rested_until") or "",
            (f"{h['rested_by']}: {h['rest_reason']}" if h.get("rest_reason") else ""),
        )
    out.print(table)


@caller_ids_app.command("rest")
def rest(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The caller ID's number (+1…) or id.")],
    reason: Annotated[str, typer.Option(help="Why (shown with the rest).")],
    hours: Annotated[
        int | None, typer.Option(min=1, max=720, help="How long (default: the tenant's rest_hours).")
    ] = None,
) -> None:
    """Rest a number: no dial uses it until the rest ends."""
    body: dict[str, Any] = {"reason": reason}
    if hours is not None:
        body["hours"] = hours
    _print(ctx, state(ctx).api().post(f"/caller-ids/{_resolve(ctx, number)}/rest", body))


@caller_ids_app.command("restore")
def restore(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The caller ID's number (+1…) or id.")],
) -> None:
    """End a number's rest now."""
    _print(ctx, state(ctx).api().post(f"/caller-ids/{_resolve(ctx, number)}/restore"))


@caller_ids_app.command("rule")
def rule(
    ctx: typer.Context,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Rest numbers automatically.")
    ] = None,
    window_calls: Annotated[
        int | None, typer.Option(help="Calls a number needs before it is judged (>= 50).")
    ] = None,
    rest_below_ratio: Annotated[
        float | None, typer.Option(help="Rest below this share of the pool's answer rate (0-1).")
    ] = None,
    short_call_seconds: Annotated[
        int | None, typer.Option(help="An answered call shorter than this is very short.")
    ] = None,
    max_short_share: Annotated[
        float | None,
        typer.Option(help="Also rest at this share of very short answered calls (0 turns it off)."),
    ] = None,
    rest_hours: Annotated[int | None, typer.Option(help="How long a rest lasts.")] = None,
    reputation: Annotated[
        bool | None,
        typer.Option(
            "--reputation/--no-reputation",
            help="Also rest numbers Telnyx Number Reputation rates spam-risky.",
        ),
    ] = None,
    enterprise_id: Annotated[
        str | None, typer.Option(help="The Telnyx enterprise whose numbers reputation monitors.")
    ] = None,
    rest_at_spam_risk: Annotated[
        str | None, typer.Option(help="Rest at this spam_risk or higher (medium or high).")
    ] = None,
    check_every_minutes: Annotated[
        int | None, typer.Option(help="Read Telnyx's reputation list at most this often (15-1440).")
    ] = None,
) -> None:
    """Show the tenant's caller-ID health rule; with options, change those fields (the others stay)."""
    api = state(ctx).api()
    current = api.get("/tenants/me/caller-id-health")
    changes = {
        "enabled": enabled,
        "window_calls": window_calls,
        "rest_below_ratio": rest_below_ratio,
        "short_call_seconds": short_call_seconds,
        "max_short_share": max_short_share,
        "rest_hours": rest_hours,
    }
    given: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    if given.get("max_short_share") == 0:
        given["max_short_share"] = None
    reputation_changes = {
        "enabled": reputation,
        "enterprise_id": enterprise_id,
        "rest_at_spam_risk": rest_at_spam_risk,
        "check_every_minutes": check_every_minutes,
    }
    if any(v is not None for v in reputation_changes.values()):
        given["reputation"] = {
            **(current.get("reputation") or {}),
            **{k: v for k, v in reputation_changes.items() if v is not None},
        }
    if given:
        current = api.request("PUT", "/tenants/me/caller-id-health", json={**current, **given})
    if state(ctx).as_json:
        emit_json(current)
    else:
        for name, value in current.items():
            out.print(f"{name}: {value}", highlight=False)
