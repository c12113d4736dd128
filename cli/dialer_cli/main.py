"""``dialer``: assistants, campaigns, imports, live progress, reports, DNC and calls from a terminal.

Every command talks to the management API only (see docs/openapi.json); errors end the command
with one line on stderr and an exit code from :class:`~dialer_cli.errors.ExitCode`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from dialer_cli.assistants import assistants_app
from dialer_cli.caller_ids import caller_ids_app
from dialer_cli.calls import calls_app
from dialer_cli.campaigns import campaigns_app
from dialer_cli.dnc import dnc_app
from dialer_cli.errors import EXIT_CODES_HELP, CliError, ExitCode
from dialer_cli.state import State, emit_json, err, out, state
from dialer_cli.webhooks import webhooks_app

app = typer.Typer(
    name="dialer",
    help=f"Run AI voice campaigns on telnyx-ai-dialer from a terminal.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # a traceback with locals could show the API key
    add_completion=False,
)
app.add_typer(assistants_app, name="assistants")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(dnc_app, name="dnc")
app.add_typer(calls_app, name="calls")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(caller_ids_app, name="caller-ids")


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


@app.command("doctor")
def doctor(ctx: typer.Context) -> None:
    """Check the configuration, the API, the key and the tenant's Telnyx settings."""
    options = state(ctx)
    checks: list[tuple[str, bool, str]] = []
    code = ExitCode.OK
    api = options.api()
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
    if options.as_json:
        emit_json([{"check": name, "ok": ok, "detail": detail} for name, ok, detail in checks])
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
