"""``dialer webhooks`` against the real webhook-endpoints handler (in-process on moto, reached
through an httpx transport): each command does what it says, errors keep their exit codes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.integration.conftest import load_handler
from tests.integration.management.conftest import Tenant
from tests.support.management import InProcessApi


@pytest.fixture
def cli(aws: dict[str, Any], alpha: Tenant, monkeypatch: pytest.MonkeyPatch) -> Any:
    import dialer_cli.main as main
    import dialer_cli.state as cli_state
    from dialer_cli.api import Api
    from dialer_cli.errors import CliError

    api = InProcessApi(load_handler("authorizer"), load_handler("assistants_api"))

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        answer = api.request(
            request.method,
            request.url.path,
            token=request.headers["authorization"].removeprefix("Bearer "),
            body=body,
            query=dict(request.url.params) or None,
        )
        content = b"" if answer.body is None else json.dumps(answer.body).encode()
        return httpx.Response(answer.status, content=content, headers={"content-type": "application/json"})

    monkeypatch.setattr(cli_state, "Api", lambda config: Api(config, transport=httpx.MockTransport(handle)))
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(
            main.app, ["--api-url", "http://api", "--api-key", alpha.api_key, "--json", *args]
        )
        if isinstance(result.exception, CliError):  # main() turns it into the exit code
            return int(result.exception.code), None
        # The in-process handlers print their EMF metric lines to the same stdout: not the CLI's.
        text = "\n".join(line for line in result.stdout.splitlines() if not line.startswith('{"_aws"'))
        return result.exit_code, (json.loads(text) if text.strip() else None)

    return run


def test_the_webhooks_commands(cli: Any) -> None:
    code, made = cli("webhooks", "create", "https://crm.example.com/hooks", "--event", "call.completed")
    assert code == 0
    assert made["secret"].startswith("whsec_")
    assert made["event_types"] == ["call.completed"]
    endpoint_id = made["id"]
    code, listed = cli("webhooks", "list")
    assert code == 0
    assert endpoint_id in [e["id"] for e in listed]
    code, changed = cli("webhooks", "update", endpoint_id, "--disable", "--description", "CRM")
    assert code == 0
    assert (changed["enabled"], changed["description"]) == (False, "CRM")
    code, rotated = cli("webhooks", "rotate-secret", endpoint_id, "--overlap-hours", "2")
    assert code == 0
    assert rotated["secret"] != made["secret"]
    code, page = cli("webhooks", "deliveries", endpoint_id)
    assert (code, page) == (0, [])
    assert cli("webhooks", "replay", endpoint_id, "--event", "evt_x")[0] == 1  # 409: disabled
    assert cli("webhooks", "update", endpoint_id, "--enable")[0] == 0
    assert cli("webhooks", "replay", endpoint_id, "--event", "evt_x")[0] == 4  # no such event
    assert cli("webhooks", "replay", endpoint_id)[0] == 2  # neither --since nor --event
    assert cli("webhooks", "create", "https://10.0.0.1/x")[0] == 2  # unsafe: refused, as bad input
    assert cli("webhooks", "delete", endpoint_id)[0] == 0
    assert cli("webhooks", "delete", endpoint_id)[0] == 4
