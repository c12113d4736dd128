"""``dialer assistants``: apply a YAML spec (with its diff), list, show, sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from dialer_cli.api import Api
from dialer_cli.errors import CliError, ExitCode
from dialer_cli.files import load_spec
from dialer_cli.state import done, emit_json, err, out, state

assistants_app = typer.Typer(
    help="Telnyx AI assistants: apply a YAML spec, list, show, sync.", no_args_is_help=True
)


def find_assistant(api: Api, ref: str) -> dict[str, Any]:
    """An assistant by id or by name (exactly one match)."""
    listed = [a for a in api.pages("/assistants") if not a.get("deleted_upstream")]
    by_id = [a for a in listed if a["id"] == ref]
    matches = by_id or [a for a in listed if a.get("name") == ref]
    if not matches:
        raise CliError(
            f"no assistant with id or name {ref!r} (try `dialer assistants sync`)", ExitCode.NOT_FOUND
        )
    if len(matches) > 1:
        raise CliError(
            f"{len(matches)} assistants are named {ref!r}: use an id",
            ExitCode.USAGE,
            [a["id"] for a in matches],
        )
    return matches[0]


def settings_changes(
    desired: dict[str, Any], current: dict[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """(path, current, desired) for every value of ``desired`` that differs from ``current``.

    Objects compare key by key (the API merges settings objects: keys left out keep their
    values), anything else as a whole (lists are replaced)."""
    changes = []
    for key, want in desired.items():
        have = current.get(key) if isinstance(current, dict) else None
        path = f"{prefix}{key}"
        if isinstance(want, dict) and isinstance(have, dict):
            changes += settings_changes(want, have, path + ".")
        elif want != have:
            changes.append((path, have, want))
    return changes


def _show_changes(ctx: typer.Context, changes: list[tuple[str, Any, Any]]) -> None:
    """The diff, on stdout (on stderr with --json, where stdout carries the document)."""
    console = err if state(ctx).as_json else out
    for path, have, want in changes:
        if have is None:
            console.print(Text(f"+ {path}: {json.dumps(want)}", style="green"))
        else:
            console.print(Text(f"~ {path}: {json.dumps(have)} → {json.dumps(want)}", style="yellow"))


@assistants_app.command("apply")
def assistants_apply(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Option("-f", "--file", help="Assistant spec (YAML): the POST /assistants fields.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, change nothing.")] = False,
) -> None:
    """Create the assistant named in FILE, or update it to match FILE; show the diff."""
    spec = load_spec(file, required=("name", "instructions"))
    api = state(ctx).api()
    existing = [
        a for a in api.pages("/assistants") if a.get("name") == spec["name"] and not a.get("deleted_upstream")
    ]
    if len(existing) > 1:
        raise CliError(
            f"{len(existing)} assistants are named {spec['name']!r}: rename or delete one", ExitCode.USAGE
        )
    if not existing:
        _show_changes(ctx, [(key, None, value) for key, value in spec.items()])
        if dry_run:
            out.print(f"would create assistant {spec['name']!r}")
            return
        created = api.post("/assistants", spec)
        done(ctx, created, f"created assistant {spec['name']!r}: {created['id']}")
        return
    current = api.get(f"/assistants/{existing[0]['id']}")
    changes = settings_changes({k: v for k, v in spec.items() if k != "name"}, current.get("settings") or {})
    if not changes:
        done(ctx, current, f"assistant {spec['name']!r} ({current['id']}) is up to date")
        return
    _show_changes(ctx, changes)
    if dry_run:
        out.print(f"would update assistant {spec['name']!r} ({current['id']}): {len(changes)} change(s)")
        return
    patch = {key: spec[key] for key in {path.split(".")[0] for path, _, _ in changes}}
    updated = api.patch(f"/assistants/{current['id']}", patch)
    done(ctx, updated, f"updated assistant {spec['name']!r} ({current['id']}): {len(changes)} change(s)")


@assistants_app.command("list")
def assistants_list(ctx: typer.Context) -> None:
    """The tenant's assistants (from the API's mirror of Telnyx)."""
    items = list(state(ctx).api().pages("/assistants"))
    if state(ctx).as_json:
        emit_json(items)
        return
    table = Table("id", "name", "version", "synced at")
    for a in items:
        table.add_row(a["id"], a.get("name") or "", a.get("version_name") or "", a.get("synced_at") or "")
    out.print(table)


@assistants_app.command("show")
def assistants_show(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="Assistant id or name.")]
) -> None:
    """One assistant, whole (its Telnyx settings)."""
    api = state(ctx).api()
    found = api.get(f"/assistants/{find_assistant(api, ref)['id']}")
    emit_json(found)


@assistants_app.command("sync")
def assistants_sync(ctx: typer.Context) -> None:
    """Refresh the mirror from Telnyx (assistants made in the Telnyx portal appear)."""
    result = state(ctx).api().post("/assistants/sync")
    done(
        ctx,
        result,
        f"synced: {result['total_upstream']} on Telnyx, {result['created']} new, "
        f"{result['updated']} updated, {result['marked_deleted']} gone",
    )
