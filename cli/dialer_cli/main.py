"""``dialer``: assistants, campaigns, imports, live progress, reports, DNC and calls from a terminal.

Every command talks to the management API only (see docs/openapi.json); errors end the command
with one line on stderr and an exit code from :class:`~dialer_cli.errors.ExitCode`.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from dialer_cli.api import Api, no_such_route
from dialer_cli.caller_ids import caller_ids_app
from dialer_cli.config import load_config
from dialer_cli.errors import EXIT_CODES_HELP, CliError, ExitCode
from dialer_cli.exports import DEFAULT_WAIT_SECONDS, results
from dialer_cli.files import lead_csv, load_spec, phone_list
from dialer_cli.report.collect import collect
from dialer_cli.report.render import render
from dialer_cli.webhooks import webhooks_app

# No markup by default: names, messages and values come from users and the API ("[x]" in an
# assistant's instructions must print as is); the few styled lines use Text or escape().
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)

app = typer.Typer(
    name="dialer",
    help=f"Run AI voice campaigns on telnyx-ai-dialer from a terminal.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # a traceback with locals could show the API key
    add_completion=False,
)
assistants_app = typer.Typer(
    help="Telnyx AI assistants: apply a YAML spec, list, show, sync.", no_args_is_help=True
)
campaigns_app = typer.Typer(
    help="Campaigns: create, import leads, run, watch, report, export.", no_args_is_help=True
)
dnc_app = typer.Typer(help="The tenant's do-not-call list.", no_args_is_help=True)
calls_app = typer.Typer(
    help="Calls: what happened, with transcript and insights when the API has them.", no_args_is_help=True
)
app.add_typer(assistants_app, name="assistants")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(dnc_app, name="dnc")
app.add_typer(calls_app, name="calls")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(caller_ids_app, name="caller-ids")

TERMINAL_CAMPAIGN = ("completed", "canceled")
LEAD_STATES = ("pending", "dialing", "reached", "exhausted", "invalid", "blocked", "canceled")
DONE_STATES = ("reached", "exhausted", "invalid", "blocked", "canceled")
STATUS_OF = {"start": "active", "pause": "paused", "resume": "active", "cancel": "canceled"}


class State:
    """Global options, resolved into an :class:`Api` only when a command needs one."""

    def __init__(
        self,
        api_url: str | None,
        api_key: str | None,
        config: Path | None,
        profile: str | None,
        as_json: bool,
    ):
        self.options = (api_url, api_key, config, profile)
        self.as_json = as_json
        self._api: Api | None = None

    def api(self) -> Api:
        if self._api is None:
            api_url, api_key, config, profile = self.options
            self._api = Api(load_config(api_url, api_key, config, profile))
        return self._api


def _state(ctx: typer.Context) -> State:
    state = ctx.find_root().obj
    assert isinstance(state, State)
    return state


def _emit_json(doc: Any) -> None:
    out.out(json.dumps(doc, indent=2, sort_keys=True, default=str), highlight=False)


@app.callback()
def root(
    ctx: typer.Context,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="API base URL (env DIALER_API_URL)")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="API key (env DIALER_API_KEY)", show_default=False)
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Config file (TOML) (env DIALER_CONFIG; default ~/.config/telnyx-ai-dialer/config.toml)",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="A profiles.NAME table of the config file (env DIALER_PROFILE)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON documents instead of tables.")] = False,
) -> None:
    ctx.obj = State(api_url, api_key, config, profile, as_json)


# --- assistants ----------------------------------------------------------------------------------
def _find_assistant(api: Api, ref: str) -> dict[str, Any]:
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
    console = err if _state(ctx).as_json else out
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
    api = _state(ctx).api()
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
        _done(ctx, created, f"created assistant {spec['name']!r}: {created['id']}")
        return
    current = api.get(f"/assistants/{existing[0]['id']}")
    changes = settings_changes({k: v for k, v in spec.items() if k != "name"}, current.get("settings") or {})
    if not changes:
        _done(ctx, current, f"assistant {spec['name']!r} ({current['id']}) is up to date")
        return
    _show_changes(ctx, changes)
    if dry_run:
        out.print(f"would update assistant {spec['name']!r} ({current['id']}): {len(changes)} change(s)")
        return
    patch = {key: spec[key] for key in {path.split(".")[0] for path, _, _ in changes}}
    updated = api.patch(f"/assistants/{current['id']}", patch)
    _done(ctx, updated, f"updated assistant {spec['name']!r} ({current['id']}): {len(changes)} change(s)")


def _done(ctx: typer.Context, doc: Any, message: str) -> None:
    if _state(ctx).as_json:
        _emit_json(doc)
    else:
        out.print(message, highlight=False)


@assistants_app.command("list")
def assistants_list(ctx: typer.Context) -> None:
    """The tenant's assistants (from the API's mirror of Telnyx)."""
    items = list(_state(ctx).api().pages("/assistants"))
    if _state(ctx).as_json:
        _emit_json(items)
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
    api = _state(ctx).api()
    found = api.get(f"/assistants/{_find_assistant(api, ref)['id']}")
    _emit_json(found)


@assistants_app.command("sync")
def assistants_sync(ctx: typer.Context) -> None:
    """Refresh the mirror from Telnyx (assistants made in the Telnyx portal appear)."""
    result = _state(ctx).api().post("/assistants/sync")
    _done(
        ctx,
        result,
        f"synced: {result['total_upstream']} on Telnyx, {result['created']} new, "
        f"{result['updated']} updated, {result['marked_deleted']} gone",
    )


# --- campaigns -----------------------------------------------------------------------------------
def _caller_id_ids(api: Api, wanted: list[Any]) -> list[str]:
    """Caller-ID pool ids for ``wanted`` (ids, numbers or {phone_number, daily_cap}); numbers not in
    the pool yet are added to it."""
    pool = {c["phone_number"]: c["id"] for c in api.pages("/caller-ids")}
    ids = []
    for item in wanted:
        entry = item if isinstance(item, dict) else {"phone_number": str(item)}
        number = str(entry.get("phone_number", ""))
        if not number.startswith("+"):
            ids.append(number or str(item))  # already an id
            continue
        if number not in pool:
            pool[number] = api.post("/caller-ids", entry)["id"]
            err.print(f"added caller ID {number} to the pool", highlight=False)
        ids.append(pool[number])
    return ids


def campaign_body(api: Api, spec: dict[str, Any]) -> dict[str, Any]:
    """POST /campaigns body from a spec: assistants may be named, caller IDs given as numbers."""
    body = dict(spec)
    if "assistant" in body:
        body["assistant_id"] = _find_assistant(api, str(body.pop("assistant")))["id"]
    variants = []
    for variant in body.get("assistant_variants") or []:
        if not isinstance(variant, dict):
            raise CliError(
                "assistant_variants: each item needs `assistant` (name or id) and `weight`", ExitCode.USAGE
            )
        variant = dict(variant)
        if "assistant" in variant:
            variant["assistant_id"] = _find_assistant(api, str(variant.pop("assistant")))["id"]
        variants.append(variant)
    if variants:
        body["assistant_variants"] = variants
    if body.get("caller_ids"):
        body["caller_ids"] = _caller_id_ids(api, list(body["caller_ids"]))
    return body


@campaigns_app.command("create")
def campaigns_create(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("-f", "--file", help="Campaign spec (YAML).")],
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only the new campaign's id.")] = False,
) -> None:
    """Create a draft campaign from FILE (assistant by name, caller IDs as numbers)."""
    spec = load_spec(file)
    api = _state(ctx).api()
    created = api.post("/campaigns", campaign_body(api, spec))
    if quiet:
        out.out(created["id"])
    else:
        _done(ctx, created, f"created campaign {created['name']!r}: {created['id']} (draft)")


@campaigns_app.command("list")
def campaigns_list(ctx: typer.Context) -> None:
    """The tenant's campaigns."""
    items = list(_state(ctx).api().pages("/campaigns"))
    if _state(ctx).as_json:
        _emit_json(items)
        return
    table = Table("id", "name", "status", "leads", "created")
    for c in items:
        table.add_row(c["id"], c["name"], c["status"], str(c["lead_count"]), c["created_at"])
    out.print(table)


@campaigns_app.command("show")
def campaigns_show(ctx: typer.Context, campaign_id: str) -> None:
    """One campaign, whole."""
    _emit_json(_state(ctx).api().get(f"/campaigns/{campaign_id}"))


@campaigns_app.command("import")
def campaigns_import(
    ctx: typer.Context,
    campaign_id: str,
    csv_file: Annotated[
        Path, typer.Argument(help="Lead CSV (a 'phone' column; see the API's import format).")
    ],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the import to finish.")] = 900,
    max_errors: Annotated[int, typer.Option(help="Row errors to print at most.")] = 50,
    fail_on_rejected: Annotated[bool, typer.Option(help="Exit 2 when any row was rejected.")] = False,
) -> None:
    """Upload CSV_FILE (presigned PUT), follow the import, then print the rows it rejected."""
    data = lead_csv(csv_file)
    api = _state(ctx).api()
    created = api.post(f"/campaigns/{campaign_id}/imports", {"filename": csv_file.name})
    import_id = created["import_id"]
    try:  # the presigned URL carries its own authorisation: no API key on it
        uploaded = httpx.put(created["upload_url"], content=data, timeout=300)
    except httpx.HTTPError as exc:
        raise CliError(f"upload to the presigned URL failed: {exc}", ExitCode.UNREACHABLE) from exc
    if not uploaded.is_success:
        raise CliError(f"upload refused ({uploaded.status_code}): {uploaded.text[:200]}", ExitCode.API_ERROR)
    path = f"/campaigns/{campaign_id}/imports/{import_id}"
    deadline = time.monotonic() + timeout
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False, disable=_state(ctx).as_json) as bar:
        task = bar.add_task(f"import {import_id}", total=len(data), rows="")
        while True:
            body = api.get(path, errors_limit=max(1, min(max_errors, 100)))
            prog = body["progress"]
            bar.update(
                task,
                completed=prog["bytes_read"],
                total=prog.get("total_bytes") or len(data),
                rows=f"{prog['imported']:,} imported, {prog['rejected']:,} rejected",
            )
            if body["status"] in ("completed", "failed"):
                break
            if time.monotonic() > deadline:
                raise CliError(
                    f"import {import_id} still {body['status']} after {timeout:g} s", ExitCode.INCOMPLETE
                )
            time.sleep(1)
    errors = list(body["errors"])
    cursor = body.get("next_errors_cursor")
    while cursor and len(errors) < max_errors:
        page = api.get(path, errors_limit=min(100, max_errors - len(errors)), errors_cursor=cursor)
        errors += page["errors"]
        cursor = page.get("next_errors_cursor")
    if _state(ctx).as_json:
        _emit_json({**body, "errors": errors})
    else:
        out.print(
            f"import {import_id}: {body['status']} — {prog['rows']:,} rows, {prog['imported']:,} imported, "
            f"{prog['merged']:,} merged, {prog['rejected']:,} rejected",
            highlight=False,
        )
        if errors:
            table = Table("line", "field", "reason", "message", title="rejected rows")
            for e in errors[:max_errors]:
                table.add_row(str(e["line"]), e.get("field") or "", e["reason"], e["message"])
            out.print(table)
            if prog["rejected"] > len(errors[:max_errors]):
                out.print(f"… and {prog['rejected'] - len(errors[:max_errors]):,} more (--max-errors)")
    if body["status"] == "failed":
        raise CliError(f"import {import_id} failed: {body.get('failure')}", ExitCode.API_ERROR)
    if fail_on_rejected and prog["rejected"]:
        raise CliError(f"{prog['rejected']} row(s) rejected", ExitCode.USAGE)


def _move(ctx: typer.Context, campaign_id: str, action: str) -> None:
    moved = _state(ctx).api().post(f"/campaigns/{campaign_id}/status", {"status": STATUS_OF[action]})
    _done(ctx, moved, f"campaign {campaign_id}: {moved['status']}")


@campaigns_app.command("start")
def campaigns_start(ctx: typer.Context, campaign_id: str) -> None:
    """Activate a draft campaign: it dials by itself from now on."""
    _move(ctx, campaign_id, "start")


@campaigns_app.command("pause")
def campaigns_pause(ctx: typer.Context, campaign_id: str) -> None:
    """Pause: no new dials (calls in progress finish)."""
    _move(ctx, campaign_id, "pause")


@campaigns_app.command("resume")
def campaigns_resume(ctx: typer.Context, campaign_id: str) -> None:
    """Resume a paused campaign."""
    _move(ctx, campaign_id, "resume")


@campaigns_app.command("cancel")
def campaigns_cancel(ctx: typer.Context, campaign_id: str) -> None:
    """Cancel for good: pending leads end canceled."""
    _move(ctx, campaign_id, "cancel")


def _bar(done: float, total: float) -> ProgressBar:
    return ProgressBar(total=max(total, 1), completed=min(done, max(total, 1)), width=36)


def progress_view(progress: dict[str, Any], campaign: dict[str, Any], stats: dict[str, Any] | None) -> Table:
    """One frame of ``watch``: leads by state, work done, dial rate and calls against their limits."""
    total = int(progress["lead_count"])
    by_state = progress.get("leads_by_state") or {}
    done = sum(int(by_state.get(s, 0)) for s in DONE_STATES)
    table = Table(
        title=f"{campaign['name']} ({campaign['id']}) — {progress['status']}", show_header=False, box=None
    )
    table.add_column(justify="right", style="bold")
    table.add_column()
    table.add_column()
    table.add_row("done", _bar(done, total), f"{done:,} / {total:,} leads")
    for state in LEAD_STATES:
        if by_state.get(state):
            table.add_row(state, _bar(int(by_state[state]), total), f"{int(by_state[state]):,}")
    limit = int(progress.get("dial_limit_per_minute") or 0)
    table.add_row(
        "dials/min",
        _bar(progress["dials_last_minute"], limit),
        f"{progress['dials_last_minute']:,} / {limit:,} limit · {progress['dials_total']:,} dials in all",
    )
    slots = int(progress.get("slot_limit") or 0)
    table.add_row(
        "calls",
        _bar(progress["slots_in_use"], slots),
        f"{progress['slots_in_use']:,} / {slots:,} channels · {progress['in_flight']:,} in flight · {progress['due_now']:,} due now",
    )
    budget = (campaign.get("budget") or {}).get("max_cost")
    spent = ((stats or {}).get("calls") or {}).get("cost_total")
    if budget is not None and spent is not None:
        table.add_row(
            "spend",
            _bar(float(spent), float(budget)),
            f"{float(spent):,.2f} / {float(budget):,.2f} {(campaign.get('budget') or {}).get('currency', '')}",
        )
    deferred = {k: v for k, v in (progress.get("deferred_by_reason") or {}).items() if v}
    if deferred:
        table.add_row("deferred", "", ", ".join(f"{k} {v:,}" for k, v in sorted(deferred.items())))
    return table


@campaigns_app.command("watch")
def campaigns_watch(
    ctx: typer.Context,
    campaign_id: str,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    timeout: Annotated[float, typer.Option(help="Give up (exit 6) after this many seconds; 0: never.")] = 0,
    until_idle: Annotated[
        float,
        typer.Option(
            help="Also stop (exit 0) once nothing has been in flight or due for this many seconds: "
            "what is left waits for later (a retry delay, a callback, a state's daily cap). 0: off."
        ),
    ] = 0,
    until_settled: Annotated[
        float,
        typer.Option(
            help="Also stop (exit 0) as soon as nothing is in flight or due and no lead falls due "
            "within this many seconds of the campaign's clock: what is left waits past that horizon "
            "(a callback days out, a state's daily cap). 0: off.",
        ),
    ] = 0,
) -> None:
    """Live progress until the campaign is completed or canceled (or settled or idle: see the options)."""
    api = _state(ctx).api()
    campaign = api.get(f"/campaigns/{campaign_id}")
    has_stats = api.get_optional(f"/campaigns/{campaign_id}/stats") is not None
    deadline = time.monotonic() + timeout if timeout else None
    idle_since: float | None = None
    # With --json the frames go to stderr and stdout carries only the final document.
    with Live(console=err if _state(ctx).as_json else out, auto_refresh=False, transient=False) as live:
        while True:
            progress = api.get(f"/campaigns/{campaign_id}/progress")
            stats = api.get_optional(f"/campaigns/{campaign_id}/stats") if has_stats else None
            live.update(progress_view(progress, campaign, stats), refresh=True)
            if progress["status"] in TERMINAL_CAMPAIGN:
                break
            idle = not progress.get("in_flight") and not progress.get("due_now")
            idle_since = (idle_since or time.monotonic()) if idle else None
            if until_settled and idle and _waits_past(progress, until_settled):
                break
            if until_idle and idle_since is not None and time.monotonic() - idle_since >= until_idle:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(
                    f"campaign {campaign_id} still {progress['status']} after {timeout:g} s",
                    ExitCode.INCOMPLETE,
                )
            time.sleep(interval)
    if _state(ctx).as_json:
        _emit_json(progress)


def _waits_past(progress: dict[str, Any], horizon: float) -> bool:
    """True when no lead falls due within ``horizon`` seconds of the progress answer's own clock."""
    next_due, evaluated = progress.get("next_due_at"), progress.get("evaluated_at")
    if not next_due:
        return True
    if not evaluated:
        return False  # an API without the field: never settled, the other stops still apply
    gap = datetime.fromisoformat(next_due.replace("Z", "+00:00")) - datetime.fromisoformat(
        evaluated.replace("Z", "+00:00")
    )
    return gap.total_seconds() > horizon


@campaigns_app.command("stats")
def campaigns_stats(ctx: typer.Context, campaign_id: str) -> None:
    """Leads by state, outcomes, deferrals (and the stats API's figures when it has them)."""
    api = _state(ctx).api()
    progress = api.get(f"/campaigns/{campaign_id}/progress")
    stats = api.get_optional(f"/campaigns/{campaign_id}/stats")
    if _state(ctx).as_json:
        _emit_json({"progress": progress, "stats": stats})
        return
    for title, values in (
        ("leads by state", progress.get("leads_by_state") or {}),
        ("calls by outcome", progress.get("outcomes") or {}),
        ("deferred by reason", progress.get("deferred_by_reason") or {}),
    ):
        table = Table("", "count", title=title)
        for key, value in sorted(values.items(), key=lambda kv: -int(kv[1])):
            table.add_row(key, f"{int(value):,}")
        out.print(table)
    out.print(
        f"dials: {progress['dials_total']:,} in all, {progress['dials_last_minute']:,} in the last minute "
        f"(limit {progress['dial_limit_per_minute']:,}/min); calls in progress {progress['slots_in_use']:,} "
        f"of {progress['slot_limit']:,} channels",
        highlight=False,
    )
    if stats is None:
        out.print(
            Text("costs, dispositions and A/B figures: not available from this API (no /stats)", style="dim")
        )
    else:
        _emit_json(stats)


@campaigns_app.command("report")
def campaigns_report(
    ctx: typer.Context,
    campaign_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path("report.html"),
    save_data: Annotated[
        Path | None, typer.Option(help="Also write the data the report was drawn from (JSON).")
    ] = None,
) -> None:
    """A self-contained HTML report (charts inline, opens offline)."""
    api = _state(ctx).api()
    with Progress(
        TextColumn("reading leads"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("leads", total=None)
        data = collect(
            api, campaign_id, on_lead=lambda done, total: bar.update(task, completed=done, total=total)
        )
    html = render(data)
    try:
        output.write_text(html, encoding="utf-8")
        if save_data:
            save_data.write_text(json.dumps(data.to_json(), indent=1), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc}", ExitCode.USAGE) from exc
    _done(
        ctx,
        {"output": str(output), "bytes": len(html.encode())},
        f"wrote {output} ({len(html.encode()):,} bytes, {len(data.leads):,} leads)",
    )


EXPORT_COLUMNS = (
    "lead_id",
    "phone",
    "first_name",
    "last_name",
    "status",
    "last_outcome",
    "attempts",
    "next_attempt_at",
    "zone",
    "state",
    "updated_at",
)


@campaigns_app.command("export")
def campaigns_export(
    ctx: typer.Context,
    campaign_id: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write ('-': stdout).")] = Path(
        "-"
    ),
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for the export of a big campaign (built in the background)."),
    ] = DEFAULT_WAIT_SECONDS,
) -> None:
    """Results as CSV, one row per lead (the API's results when it has them, else built from the leads)."""
    api = _state(ctx).api()
    api.get(f"/campaigns/{campaign_id}")  # a clear 404 for an unknown campaign
    text = results(api, campaign_id, wait_seconds=wait, on_wait=lambda m: err.print(m, highlight=False))
    if text is None:
        rows = []
        for lead in api.pages(f"/campaigns/{campaign_id}/leads"):
            rows.append({**{k: lead.get(k) for k in EXPORT_COLUMNS}, "lead_id": lead["id"]})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    if str(output) == "-":
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output} ({text.count(chr(10)) - 1:,} leads)", highlight=False)


# --- DNC -----------------------------------------------------------------------------------------
@dnc_app.command("add")
def dnc_add(
    ctx: typer.Context,
    phone: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit).")] = "requested",
) -> None:
    """Put a number on the list (every campaign of the tenant stops calling it)."""
    entry = _state(ctx).api().post("/dnc", {"phone": phone, "reason": reason})
    _done(ctx, entry, f"{entry['phone']} is on the DNC list ({entry['reason']})")


@dnc_app.command("import")
def dnc_import(
    ctx: typer.Context,
    file: Path,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit).")] = "imported",
) -> None:
    """Add the numbers of FILE (one per line, or a CSV with a 'phone' column)."""
    phones = phone_list(file)
    api = _state(ctx).api()
    totals = {"received": 0, "added": 0, "already_listed": 0, "rejected": 0}
    errors = []
    for start in range(0, len(phones), 1000):
        result = api.post("/dnc/bulk", {"phones": phones[start : start + 1000], "reason": reason})
        for key in totals:
            totals[key] += int(result[key])
        errors += [
            {**e, "index": e["index"] + start, "phone": phones[e["index"] + start]} for e in result["errors"]
        ]
    if _state(ctx).as_json:
        _emit_json({**totals, "errors": errors})
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
    result = _state(ctx).api().get("/dnc/check", phone=phone)
    entry = result.get("entry") or {}
    _done(
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
    _state(ctx).api().post("/dnc/remove", {"phone": phone, "reason": reason})
    _done(ctx, {"phone": phone, "removed": True}, f"{phone} removed from the DNC list")


@dnc_app.command("list")
def dnc_list(ctx: typer.Context) -> None:
    """The whole list."""
    items = list(_state(ctx).api().pages("/dnc"))
    if _state(ctx).as_json:
        _emit_json(items)
        return
    table = Table("phone", "reason", "source", "added at")
    for e in items:
        table.add_row(e["phone"], e["reason"], e["source"], e["added_at"])
    out.print(table)


# --- calls ---------------------------------------------------------------------------------------
@calls_app.command("show")
def calls_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A call id (call_control_id), or a lead id for all its calls.")],
) -> None:
    """A call with its transcript and insights, or every call of a lead."""
    api = _state(ctx).api()
    call = api.get_optional(f"/calls/{ref}")
    if call is not None:
        transcript, why = _transcript_of(api, ref)
        if _state(ctx).as_json:
            _emit_json({"call": call, "transcript": transcript})
            return
        _emit_json(call)
        _print_transcript(transcript, why)
        return
    lead = api.get_optional(f"/leads/{ref}")
    if lead is None:
        raise CliError(f"no call or lead with id {ref!r}", ExitCode.NOT_FOUND)
    if _state(ctx).as_json:
        _emit_json(lead)
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


def _transcript_of(api: Api, call_id: str) -> tuple[Any | None, str | None]:
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


def _print_transcript(transcript: Any, why: str | None = None) -> None:
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


# --- doctor --------------------------------------------------------------------------------------
@app.command("doctor")
def doctor(ctx: typer.Context) -> None:
    """Check the configuration, the API, the key and the tenant's Telnyx settings."""
    state = _state(ctx)
    checks: list[tuple[str, bool, str]] = []
    code = ExitCode.OK
    api = state.api()
    checks.append(("config", True, api.config.describe()))
    response = None
    try:
        response = api.send("GET", "/tenants/me")
        checks.append(("API reachable", True, f"{api.config.api_url} answered {response.status_code}"))
    except CliError as exc:
        checks.append(("API reachable", False, exc.message))
        code = ExitCode.UNREACHABLE
    if response is not None:
        if response.status_code == 200:
            tenant = response.json()
            checks.append(
                ("API key", True, f"tenant {tenant['tenant_id']} ({tenant['name']}), {tenant['auth_method']}")
            )
            checks.append(
                (
                    "Telnyx API key",
                    bool(tenant["telnyx_configured"]),
                    "stored for the tenant"
                    if tenant["telnyx_configured"]
                    else "missing: run `make tenant` / scripts/tenant.py set-secrets",
                )
            )
            callers = [c for c in api.pages("/caller-ids") if c["enabled"]]
            rested = sum(1 for c in callers if (c.get("health") or {}).get("state") == "rested")
            checks.append(
                (
                    "caller IDs",
                    len(callers) > rested,
                    (f"{len(callers)} enabled" + (f", {rested} rested (dialer caller-ids)" if rested else ""))
                    if callers
                    else "none: add numbers with POST /caller-ids (or in campaign.yaml)",
                )
            )
            assistants = list(api.pages("/assistants"))
            checks.append(
                (
                    "assistants",
                    True,
                    f"{len(assistants)} mirrored"
                    + (
                        ""
                        if assistants
                        else " (apply one: dialer assistants apply -f examples/assistant.yaml)"
                    ),
                )
            )
            if not all(ok for _, ok, _ in checks):
                code = ExitCode.INCOMPLETE
        else:
            error = api.error("GET", "/tenants/me", response)
            checks.append(("API key", False, error.message))
            code = error.code
    if state.as_json:
        _emit_json([{"check": name, "ok": ok, "detail": detail} for name, ok, detail in checks])
    else:
        table = Table("", "check", "detail")
        for name, ok, detail in checks:
            table.add_row(Text("✓", style="green") if ok else Text("✗", style="red"), name, detail)
        out.print(table)
    if code is not ExitCode.OK:
        raise typer.Exit(int(code))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs a command, turns a :class:`CliError` into its exit code."""
    try:
        app(args=argv, prog_name="dialer")
    except CliError as exc:
        err.print(Text("error: ", style="red") + Text(exc.message))
        for line in exc.details[:20]:
            err.print(f"  {line}", highlight=False)
        sys.exit(int(exc.code))
