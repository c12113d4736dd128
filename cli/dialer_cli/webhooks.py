"""``dialer webhooks``: the tenant's event-webhook endpoints, their secrets, deliveries and replay
(issue 24; docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from dialer_cli.errors import CliError, ExitCode
from dialer_cli.state import done, out, state

webhooks_app = typer.Typer(
    help="Event webhooks out: endpoints, secrets, deliveries, replay (docs/webhooks.md).",
    no_args_is_help=True,
)
EventOption = Annotated[
    list[str] | None,
    typer.Option("--event", help="An event type to send (repeat); none: every type, e.g. call.completed."),
]


def _describe(endpoint: dict[str, Any]) -> str:
    state = "enabled" if endpoint["enabled"] else f"disabled ({endpoint.get('disabled_reason') or 'by you'})"
    types = ", ".join(endpoint["event_types"]) or "every event"
    return f"{endpoint['id']}  {endpoint['url']}  [{types}]  {state}"


@webhooks_app.command("create")
def create(
    ctx: typer.Context,
    url: str,
    event: EventOption = None,
    description: Annotated[str, typer.Option(help="What receives them (e.g. the CRM's name).")] = "",
) -> None:
    """Add an endpoint; prints its signing secret, which is never shown again."""
    made = (
        state(ctx)
        .api()
        .post("/webhook-endpoints", {"url": url, "event_types": event or [], "description": description})
    )
    done(ctx, made, f"{_describe(made)}\nsecret (store it now, it is not shown again): {made['secret']}")


@webhooks_app.command("list")
def list_endpoints(ctx: typer.Context) -> None:
    """Every endpoint of the tenant."""
    items = state(ctx).api().get("/webhook-endpoints")["data"]
    if state(ctx).as_json:
        done(ctx, items, "")
        return
    table = Table("id", "url", "events", "enabled", "failing since")
    for e in items:
        table.add_row(
            e["id"],
            e["url"],
            ", ".join(e["event_types"]) or "all",
            str(e["enabled"]),
            e.get("failing_since") or "",
        )
    out.print(table)


@webhooks_app.command("update")
def update(
    ctx: typer.Context,
    endpoint_id: str,
    url: Annotated[str | None, typer.Option(help="A new URL.")] = None,
    event: EventOption = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn deliveries on or off.")
    ] = None,
) -> None:
    """Change an endpoint (enabling one clears its failing streak; replay what it missed)."""
    patch: dict[str, Any] = {"url": url, "event_types": event, "description": description, "enabled": enable}
    patch = {k: v for k, v in patch.items() if v is not None}
    if not patch:
        raise CliError(
            "nothing to change: give --url, --event, --description, --enable or --disable", ExitCode.USAGE
        )
    changed = state(ctx).api().patch(f"/webhook-endpoints/{endpoint_id}", patch)
    done(ctx, changed, _describe(changed))


@webhooks_app.command("delete")
def delete(ctx: typer.Context, endpoint_id: str) -> None:
    """Delete an endpoint: nothing more is sent to it."""
    state(ctx).api().request("DELETE", f"/webhook-endpoints/{endpoint_id}")
    done(ctx, {"id": endpoint_id, "deleted": True}, f"{endpoint_id} deleted")


@webhooks_app.command("rotate-secret")
def rotate_secret(
    ctx: typer.Context,
    endpoint_id: str,
    overlap_hours: Annotated[
        int, typer.Option(min=0, max=72, help="How long the old secret keeps signing.")
    ] = 24,
) -> None:
    """A new signing secret; deliveries carry both signatures during the overlap."""
    rotated = (
        state(ctx)
        .api()
        .post(f"/webhook-endpoints/{endpoint_id}/rotate-secret", {"overlap_hours": overlap_hours})
    )
    until = rotated["previous_secret_expires_at"] or "now (no overlap)"
    done(ctx, rotated, f"new secret (store it now): {rotated['secret']}\nthe old one signs until {until}")


@webhooks_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    endpoint_id: str,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first.")] = 20,
) -> None:
    """The endpoint's latest deliveries: status, attempts, last answer and latency."""
    page = state(ctx).api().get(f"/webhook-endpoints/{endpoint_id}/deliveries", limit=limit)
    if state(ctx).as_json:
        done(ctx, page["data"], "")
        return
    table = Table("event", "type", "status", "attempts", "last answer", "latency ms")
    for d in page["data"]:
        last = d["attempts"][-1] if d["attempts"] else {}
        answer = str(last.get("status_code") or last.get("error") or "")
        table.add_row(
            d["event_id"],
            d["event_type"],
            d["status"],
            str(d["attempt_count"]),
            answer[:60],
            str(last.get("latency_ms") or ""),
        )
    out.print(table)


@webhooks_app.command("replay")
def replay(
    ctx: typer.Context,
    endpoint_id: str,
    since: Annotated[
        str | None, typer.Option(help="Every event since this instant (ISO 8601 with offset).")
    ] = None,
    event_id: Annotated[str | None, typer.Option("--event", help="One event by id.")] = None,
) -> None:
    """Send events again, each under its original webhook-id."""
    if (since is None) == (event_id is None):
        raise CliError("give exactly one of --since and --event", ExitCode.USAGE)
    body = {"since": since} if since is not None else {"event_id": event_id}
    replayed = state(ctx).api().post(f"/webhook-endpoints/{endpoint_id}/replay", body)
    done(ctx, replayed, f"{replayed['replayed']} deliveries queued again")
