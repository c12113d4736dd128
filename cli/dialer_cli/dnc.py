"""``dialer dnc``: the tenant's do-not-call list (add, import, check, remove, list)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dialer_cli.errors import CliError, ExitCode
from dialer_cli.files import phone_list
from dialer_cli.state import done, emit_json, out, state

dnc_app = typer.Typer(help="The tenant's do-not-call list.", no_args_is_help=True)


@dnc_app.command("add")
def dnc_add(
    ctx: typer.Context,
    phone: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit).")] = "requested",
) -> None:
    """Put a number on the list (every campaign of the tenant stops calling it)."""
    entry = state(ctx).api().post("/dnc", {"phone": phone, "reason": reason})
    done(ctx, entry, f"{entry['phone']} is on the DNC list ({entry['reason']})")


@dnc_app.command("import")
def dnc_import(
    ctx: typer.Context,
    file: Path,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit).")] = "imported",
) -> None:
    """Add the numbers of FILE (one per line, or a CSV with a 'phone' column)."""
    phones = phone_list(file)
    api = state(ctx).api()
    totals = {"received": 0, "added": 0, "already_listed": 0, "rejected": 0}
    errors = []
    for start in range(0, len(phones), 1000):
        result = api.post("/dnc/bulk", {"phones": phones[start : start + 1000], "reason": reason})
        for key in totals:
            totals[key] += int(result[key])
        errors += [
            {**e, "index": e["index"] + start, "phone": phones[e["index"] + start]} for e in result["errors"]
        ]
    if state(ctx).as_json:
        emit_json({**totals, "errors": errors})
    else:
        out.print(
            f"{totals['received']:,} numbers: {totals['added']:,} added, {totals['already_listed']:,} already listed, {totals['rejected']:,} rejected"
        )
        for e in errors[:50]:
            out.print(f"  {e['phone']!r}: {e['message']}", highlight=False)
    if totals["rejected"]:
        raise CliError(f"{totals['rejected']} number(s) rejected", ExitCode.USAGE)


@dnc_app.command("check")
def dnc_check(ctx: typer.Context, phone: str) -> None:
    """Is a number on the list?"""
    result = state(ctx).api().get("/dnc/check", phone=phone)
    entry = result.get("entry") or {}
    done(
        ctx,
        result,
        f"{result['phone']}: on the DNC list since {entry.get('added_at')} ({entry.get('reason')})"
        if result["dnc"]
        else f"{result['phone']}: not on the DNC list",
    )


@dnc_app.command("remove")
def dnc_remove(
    ctx: typer.Context,
    phone: str,
    reason: Annotated[str, typer.Option(help="Why (required: kept in the audit).")],
) -> None:
    """Take a number off the list."""
    state(ctx).api().post("/dnc/remove", {"phone": phone, "reason": reason})
    done(ctx, {"phone": phone, "removed": True}, f"{phone} removed from the DNC list")


@dnc_app.command("list")
def dnc_list(ctx: typer.Context) -> None:
    """The whole list."""
    items = list(state(ctx).api().pages("/dnc"))
    if state(ctx).as_json:
        emit_json(items)
        return
    table = Table("phone", "reason", "source", "added at")
    for e in items:
        table.add_row(e["phone"], e["reason"], e["source"], e["added_at"])
    out.print(table)
