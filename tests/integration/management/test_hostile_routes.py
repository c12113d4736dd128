"""Every route of template.yaml against the hostile corpus, in-process on moto with the Telnyx
simulator (issue 22): no 5xx, no stack trace in a body, nothing created at the simulator by a
refused request, and every webhook the intake accepted can be applied (none would end in the
events dead-letter queue). The same corpus runs over HTTP on the local stack in tests/e2e."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3

from local.simulator import Simulator
from tests.integration.campaigns.conftest import import_env  # noqa: F401 - a fixture the imports route needs
from tests.integration.conftest import load_handler
from tests.integration.management.conftest import Tenant
from tests.support.aws import PARAM_PREFIX, LambdaContextStub, MotoStack, drain, seed_tenant, sqs_event
from tests.support.hostile import Probe, assert_no_crash, probes
from tests.support.management import METHOD_ARN, rest_event
from tests.support.signing import new_signer

CONTEXT = LambdaContextStub()


def _seed_ids(tenant: Tenant, api_key: str) -> dict[str, str]:
    """A campaign, a lead and a caller ID of the tenant's own (so probes reach past the 404)."""
    from datetime import UTC, datetime

    from dialer.adapters.management_table import AssistantMirror, CallerIdRecord, ManagementTable
    from dialer.settings import get_settings

    table = ManagementTable(get_settings().table_name, client=boto3.client("dynamodb"))
    now = datetime.now(UTC).isoformat()
    assistant = f"assistant-hostile-{tenant.tenant_id}"
    table.put_mirror(AssistantMirror(tenant.tenant_id, assistant, "Ava", "v1", "main", "texml-1", now, now))
    caller = f"cid_hostile_{tenant.tenant_id}"
    table.put_caller_id(
        CallerIdRecord(tenant.tenant_id, caller, "+15550009001", 100, True, now, now), new=True
    )
    return {"assistant_id": assistant, "caller_id_id": caller}


class Transport:
    """Sends probes to the handlers as API Gateway would."""

    def __init__(self, authorizer: Any, api_key: str, signer: Any, tool_secret: str) -> None:
        answer = authorizer.lambda_handler(
            {"type": "TOKEN", "authorizationToken": f"Bearer {api_key}", "methodArn": METHOD_ARN}, CONTEXT
        )
        self.context = {**answer["context"], "principalId": answer["principalId"]}
        self.signer = signer
        self.tool_secret = tool_secret
        self.handlers: dict[str, Any] = {}

    def send(self, probe: Probe) -> tuple[int, dict[str, str], str]:
        handler = self.handlers.get(probe.route.function)
        if handler is None:
            handler = self.handlers[probe.route.function] = load_handler(probe.route.function)
        headers = {"content-type": probe.content_type}
        if probe.route.telnyx_facing and probe.body is not None:
            headers = self.signer.headers(probe.body, content_type=probe.content_type)
            headers["X-Tool-Secret"] = self.tool_secret
        event = rest_event(
            probe.method,
            probe.concrete_path(),
            probe.route.path,
            probe.path_params,
            body=probe.body,
            query=probe.query,
            headers=headers,
            authorizer=None if probe.route.telnyx_facing else self.context,
        )
        try:
            out = handler.lambda_handler(event, CONTEXT)
        except Exception as exc:
            return 502, {}, f"unhandled {type(exc).__name__}: {exc}"[:300]
        body = out.get("body") or ""
        if out.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        return out["statusCode"], {k.lower(): v for k, v in (out.get("headers") or {}).items()}, body


def _upstream(sim: Simulator, tenant: Tenant) -> dict[str, int]:
    account = sim.account(tenant.telnyx_key)
    with account.lock:
        return {name: len(value) for name, value in vars(account).items() if isinstance(value, dict)}


def test_every_route_survives_the_hostile_corpus(
    api: Any,
    alpha: Tenant,
    bravo: Tenant,
    telnyx_sim: Simulator,
    moto_stack: MotoStack,
    aws: dict[str, Any],
    import_env: dict[str, str],  # noqa: F811 - the fixture imported above
) -> None:
    # GIVEN each tenant's own ids (a campaign, a lead, a caller ID) and alpha's webhook key
    from dialer.adapters.secrets import TenantSecrets

    own, other = _seed_ids(alpha, alpha.api_key), _seed_ids(bravo, bravo.api_key)
    for tenant, ids in ((alpha, own), (bravo, other)):
        campaign = api.post(
            "/campaigns",
            tenant.api_key,
            {"name": "Hostile", "assistant_id": ids["assistant_id"], "caller_ids": [ids["caller_id_id"]]},
        )
        assert campaign.status == 201, campaign.body
        ids["campaign_id"] = campaign.body["id"]
        leads = api.post(
            f"/campaigns/{ids['campaign_id']}/leads",
            tenant.api_key,
            {"leads": [{"phone": "+12125550142", "time_zone": "America/New_York"}]},
        )
        assert leads.status == 200, leads.body
        ids["lead_id"] = leads.body["lead_ids"][0]
    signer = new_signer(seed=31)
    seed_tenant(boto3.client("ssm"), alpha.tenant_id, signer.public_key_b64)
    secret = TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm")).tool_secret(alpha.tenant_id)
    transport = Transport(load_handler("authorizer"), alpha.api_key, signer, secret or "")
    corpus = sorted(probes(own, other, alpha.tenant_id), key=lambda p: p.method == "DELETE")
    drain(aws["sqs"], moto_stack.events_queue_url)

    # WHEN every probe is sent
    failures: list[str] = []
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for probe in corpus:
        before = _upstream(telnyx_sim, alpha)
        status, _, body = transport.send(probe)
        statuses[status] = statuses.get(status, 0) + 1
        crash = assert_no_crash(probe, status, body)
        if crash:
            failures.append(crash)
        elif status >= 400 and _upstream(telnyx_sim, alpha) != before:
            failures.append(
                f"refused ({status}) but changed the simulator: {probe.method} {probe.route.path} [{probe.label}]"
            )
    elapsed = time.monotonic() - started

    # THEN nothing crashed, and every webhook the intake accepted is one the processor can apply
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} of {len(corpus)})"
    processor = load_handler("event_processor")
    accepted = drain(aws["sqs"], moto_stack.events_queue_url)
    if accepted:
        assert processor.lambda_handler(sqs_event(accepted), CONTEXT) == {"batchItemFailures": []}
    print(
        f"hostile.requests {len(corpus)} count\nhostile.elapsed {elapsed:.1f} s\nhostile.statuses {json.dumps(statuses, sort_keys=True)}"
    )
