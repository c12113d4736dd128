"""What every command group shares: the global options (resolved into an :class:`Api` only when a
command needs one), the consoles, and how a command prints its result (a line, or with ``--json``
the document)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from dialer_cli.api import Api
from dialer_cli.config import load_config

# No markup by default: names, messages and values come from users and the API ("[x]" in an
# assistant's instructions must print as is); the few styled lines use Text or escape().
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


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


def state(ctx: typer.Context) -> State:
    """The root command's options (``ctx.obj``), from any command."""
    found = ctx.find_root().obj
    assert isinstance(found, State)
    return found


def emit_json(doc: Any) -> None:
    out.out(json.dumps(doc, indent=2, sort_keys=True, default=str), highlight=False)


def done(ctx: typer.Context, doc: Any, message: str) -> None:
    """A command's result: ``message`` on stdout, or with ``--json`` the document."""
    if state(ctx).as_json:
        emit_json(doc)
    else:
        out.print(message, highlight=False)
