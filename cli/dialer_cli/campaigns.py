"""``dialer campaigns``: create from YAML, import leads, start/pause/resume/cancel, watch, stats,
report, export."""

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
from rich.live import Live
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from dialer_cli.api import Api
from dialer_cli.assistants import find_assistant
from dialer_cli.errors import CliError, ExitCode
from dialer_cli.exports import DEFAULT_WAIT_SECONDS, results
from dialer_cli.files import lead_csv, load_spec
from dialer_cli.report.collect import collect
from dialer_cli.report.render import render
from dialer_cli.state import done, emit_json, err, out, state

campaigns_app = typer.Typer(
    help="Campaigns: create, import leads, run, watch, report, export.", no_args_is_help=True
)

TERMINAL_CAMPAIGN = ("completed", "canceled")
LEAD_STATES = ("pending", "dialing", "reached", "exhausted", "invalid", "blocked", "canceled")
DONE_STATES = ("reached", "exhausted", "invalid", "blocked", "canceled")
STATUS_OF = {"start": "active", "pause": "paused", "resume": "active", "cancel": "canceled"}


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
        body["assistant_id"] = find_assistant(api, str(body.pop("assistant")))["id"]
    variants = []
    for variant in body.get("assistant_variants") or []:
        if not isinstance(variant, dict):
            raise CliError(
                "assistant_variants: each item needs `assistant` (name or id) and `weight`", ExitCode.USAGE
            )
        variant = dict(variant)
        if "assistant" in variant:
            variant["assistant_id"] = find_assistant(api, str(variant.pop("assistant")))["id"]
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
    api = state(ctx).api()
    created = api.post("/campaigns", campaign_body(api, spec))
    if quiet:
        out.out(created["id"])
    else:
        done(ctx, created, f"created campaign {created['name']!r}: {created['id']} (draft)")


@campaigns_app.command("list")
def campaigns_list(ctx: typer.Context) -> None:
    """The tenant's campaigns."""
    items = list(state(ctx).api().pages("/campaigns"))
    if state(ctx).as_json:
        emit_json(items)
        return
    table = Table("id", "name", "status", "leads", "created")
    for c in items:
        table.add_row(c["id"], c["name"], c["status"], str(c["lead_count"]), c["created_at"])
    out.print(table)


@campaigns_app.command("show")
def campaigns_show(ctx: typer.Context, campaign_id: str) -> None:
    """One campaign, whole."""
    emit_json(state(ctx).api().get(f"/campaigns/{campaign_id}"))


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
    api = state(ctx).api()
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
    with Progress(*columns, console=err, transient=False, disable=state(ctx).as_json) as bar:
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
    if state(ctx).as_json:
        emit_json({**body, "errors": errors})
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
    moved = state(ctx).api().post(f"/campaigns/{campaign_id}/status", {"status": STATUS_OF[action]})
    done(ctx, moved, f"campaign {campaign_id}: {moved['status']}")


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
    finished = sum(int(by_state.get(s, 0)) for s in DONE_STATES)
    table = Table(
        title=f"{campaign['name']} ({campaign['id']}) — {progress['status']}", show_header=False, box=None
    )
    table.add_column(justify="right", style="bold")
    table.add_column()
    table.add_column()
    table.add_row("done", _bar(finished, total), f"{finished:,} / {total:,} leads")
    for lead_state in LEAD_STATES:
        if by_state.get(lead_state):
            count = int(by_state[lead_state])
            table.add_row(lead_state, _bar(count, total), f"{count:,}")
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
    api = state(ctx).api()
    campaign = api.get(f"/campaigns/{campaign_id}")
    has_stats = api.get_optional(f"/campaigns/{campaign_id}/stats") is not None
    deadline = time.monotonic() + timeout if timeout else None
    idle_since: float | None = None
    # With --json the frames go to stderr and stdout carries only the final document.
    with Live(console=err if state(ctx).as_json else out, auto_refresh=False, transient=False) as live:
        while True:
            progress = api.get(f"/campaigns/{campaign_id}/progress")
            stats = api.get_optional(f"/campaigns/{campaign_id}/stats") if has_stats else None
            live.update(progress_view(progress, campaign, stats), refresh=True)
            if progress["status"] in TERMINAL_CAMPAIGN:
                break
            idle = not progress.get("in_flight") and not progress.get("due_now")
            idle_since = (idle_since or time.monotonic()) if idle else None
            if until_settled and idle and waits_past(progress, until_settled):
                break
            if until_idle and idle_since is not None and time.monotonic() - idle_since >= until_idle:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(
                    f"campaign {campaign_id} still {progress['status']} after {timeout:g} s",
                    ExitCode.INCOMPLETE,
                )
            time.sleep(interval)
    if state(ctx).as_json:
        emit_json(progress)


def waits_past(progress: dict[str, Any], horizon: float) -> bool:
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
    api = state(ctx).api()
    progress = api.get(f"/campaigns/{campaign_id}/progress")
    stats = api.get_optional(f"/campaigns/{campaign_id}/stats")
    if state(ctx).as_json:
        emit_json({"progress": progress, "stats": stats})
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
        emit_json(stats)


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
    api = state(ctx).api()
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
    done(
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
    api = state(ctx).api()
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
