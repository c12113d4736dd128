"""schemathesis conformance of one management-API operation: no 5xx, no response off the document,
and (with seeded resources) a success response that is validated too.

Random ids only ever reach 404s, so response schemas of success answers would go unchecked.
:func:`seed_resources` creates one of every resource through the API itself (an assistant with a
staged version, a caller ID, campaigns, a lead, an import, a DNC entry, a number assignment, a
spare API key) and gives, per operation, a request known to succeed. :func:`assert_operation_conforms`
runs that request first (it must answer 2xx, and is validated), then hypothesis' cases, half of
them pointed at the seeded ids.

(The schemathesis pytest plugin does not run on pytest 9, so hypothesis drives the cases.)
Set ``CONFORMANCE_REPORT=<file>`` to append one ``[operation, status, seeded]`` line per response.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
NO_BODY = object()


@dataclass(frozen=True)
class Example:
    """A request to one operation that succeeds against the seeded resources."""

    path_parameters: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None
    body: Any = NO_BODY


@dataclass(frozen=True)
class Seeds:
    """Ids of the seeded resources (by path-parameter name) and a known-good request per operation."""

    ids: dict[str, str]
    phone: str
    examples: dict[str, Example]


#: ``call(method, path, body)`` → (status, parsed body), authenticated as the tenant under test.
Call = Callable[[str, str, Any], tuple[int, Any]]


def seed_resources(call: Call, *, phone_suffix: str) -> Seeds:
    """Create one of every resource of the tenant through the API; ``phone_suffix`` (4 digits) keeps
    the numbers of one seeding apart from another's."""

    def ok(method: str, path: str, body: Any = None) -> Any:
        status, answer = call(method, path, body)
        assert 200 <= status < 300, (method, path, status, answer)
        return answer

    ok("POST", "/tenants/me/insight-group", {})  # idempotent; GET /tenants/me/insight-group reads it
    assistant = ok("POST", "/assistants", {"name": "Seed", "instructions": "Qualify {{first_name}}."})["id"]
    ok("PATCH", f"/assistants/{assistant}", {"greeting": "Hello!", "promote_to_main": False})
    version = ok("GET", f"/assistants/{assistant}/versions")["data"][-1]["version_id"]
    spare_assistant = ok("POST", "/assistants", {"name": "Spare", "instructions": "Be brief."})["id"]
    caller = ok("POST", "/caller-ids", {"phone_number": f"+1212555{phone_suffix}", "daily_cap": 50})["id"]
    campaign = {"name": "Seed", "assistant_id": assistant, "caller_ids": [caller]}
    campaign_id = ok("POST", "/campaigns", campaign)["id"]
    empty_campaign = ok("POST", "/campaigns", campaign)["id"]
    phone = f"+1305555{phone_suffix}"
    consent = {
        "type": "express_written",
        "source": "https://example.com/form",
        "granted_at": "2026-01-05T10:00:00Z",
    }
    scrubbed = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()  # fresh: callbacks check it
    lead = {"phone": phone, "state": "FL", "consent": consent, "dnc_scrubbed_at": scrubbed}
    lead_id = ok("POST", f"/campaigns/{campaign_id}/leads", {"leads": [lead]})["lead_ids"][0]
    import_id = ok("POST", f"/campaigns/{campaign_id}/imports", {"filename": "leads.csv"})["import_id"]
    dnc_phone = f"+1415555{phone_suffix}"
    ok("POST", "/dnc", {"phone": dnc_phone, "reason": "asked on a call"})
    number = ok("GET", "/numbers")["data"][0]["id"]
    ok("PUT", f"/numbers/{number}/assignment", {"assistant_id": assistant, "force": True})
    key_id = ok("POST", "/tenants/me/api-keys", {"name": "spare"})["key_id"]
    # A Wednesday at least two days ahead, lead-local (Florida): legal for a scheduled contact.
    wednesday = datetime.now(UTC) + timedelta(days=2)
    while wednesday.weekday() != 2:
        wednesday += timedelta(days=1)
    scheduled_call = {"at": wednesday.strftime("%Y-%m-%dT15:00:00")}
    scheduled_text = {"at": wednesday.strftime("%Y-%m-%dT11:00:00"), "text": "Your renewal is due."}
    event_id = ok("POST", f"/leads/{lead_id}/scheduled-calls", scheduled_call)["event_id"]
    # Webhook endpoints (issue 24): a tenant has at most 20, so each seeding starts from none.
    for endpoint in ok("GET", "/webhook-endpoints")["data"]:
        ok("DELETE", f"/webhook-endpoints/{endpoint['id']}")
    endpoint_id = ok("POST", "/webhook-endpoints", {"url": "https://crm.example.com/hooks"})["id"]
    spare_endpoint = ok("POST", "/webhook-endpoints", {"url": "https://crm.example.com/spare"})["id"]

    ids = {
        "assistant_id": assistant,
        "version_id": version,
        "caller_id_id": caller,
        "campaign_id": campaign_id,
        "import_id": import_id,
        "lead_id": lead_id,
        "number_id": number,
        "key_id": key_id,
        "event_id": event_id,
        "endpoint_id": endpoint_id,
    }
    by_phone = {"phone": phone}
    # Lead-local wall time two days ahead (a callback must be in the future and within 90 days).
    callback_at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT15:00:00")
    examples = {
        "DELETE /assistants/{assistant_id}": Example({"assistant_id": spare_assistant}),
        "PATCH /assistants/{assistant_id}": Example(body={"description": "Seeded"}),
        "PATCH /caller-ids/{caller_id_id}": Example(body={"daily_cap": 60}),
        "POST /caller-ids/{caller_id_id}/rest": Example(body={"reason": "carrier complaint", "hours": 2}),
        "PUT /tenants/me/caller-id-health": Example(body={"window_calls": 60}),
        "DELETE /campaigns/{campaign_id}": Example({"campaign_id": empty_campaign}),
        "PATCH /campaigns/{campaign_id}": Example(body={"name": "Seed, renamed"}),
        "POST /campaigns/{campaign_id}/status": Example(body={"status": "active"}),
        "POST /campaigns/{campaign_id}/imports": Example(body={"filename": "more.csv"}),
        "POST /campaigns/{campaign_id}/leads": Example(
            body={"leads": [{"phone": f"+1786555{phone_suffix}"}]}
        ),
        "PUT /leads/{lead_id}/consent": Example(body=consent),
        "GET /leads/{lead_id}/eligibility": Example(query={"at": "2026-03-04T16:00:00Z"}),
        "POST /leads/{lead_id}/callback": Example(body={"at": callback_at, "note": "after lunch"}),
        "POST /leads/{lead_id}/scheduled-calls": Example(body=scheduled_call),
        "POST /leads/{lead_id}/scheduled-texts": Example(body=scheduled_text),
        "GET /leads": Example(query=by_phone),
        "GET /dnc/check": Example(query={"phone": dnc_phone}),
        "GET /dnc/audit": Example(query={"phone": dnc_phone}),
        "POST /dnc": Example(body={"phone": f"+1505555{phone_suffix}", "reason": "asked by email"}),
        "POST /dnc/remove": Example(body={"phone": dnc_phone, "reason": "consent renewed in writing"}),
        "POST /dnc/bulk": Example(body={"phones": [f"+1602555{phone_suffix}"], "reason": "bulk"}),
        "POST /assistants": Example(body={"name": "Another", "instructions": "Be kind."}),
        "POST /caller-ids": Example(body={"phone_number": f"+1646555{phone_suffix}"}),
        "POST /campaigns": Example(body=campaign),
        "PUT /numbers/{number_id}/assignment": Example(body={"assistant_id": assistant, "force": True}),
        "POST /tenants/me/api-keys": Example(body={"name": "another"}),
        "POST /tenants/me/insight-group": Example(body={}),
        "POST /webhook-endpoints": Example(body={"url": "https://crm.example.com/another"}),
        "PATCH /webhook-endpoints/{endpoint_id}": Example(body={"description": "Seeded"}),
        "DELETE /webhook-endpoints/{endpoint_id}": Example({"endpoint_id": spare_endpoint}),
        "POST /webhook-endpoints/{endpoint_id}/rotate-secret": Example(body={"overlap_hours": 1}),
        "POST /webhook-endpoints/{endpoint_id}/replay": Example(body={"since": "2026-01-01T00:00:00Z"}),
    }
    return Seeds(ids, phone, examples)


def assert_operation_conforms(
    operation: Any, api_key: str, *, max_examples: int, seeds: Seeds | None = None
) -> None:
    """With ``seeds``, call the operation's known-good request (it must answer 2xx); then generate
    cases, call them authenticated, and check every response against the document."""
    headers = {"Authorization": f"Bearer {api_key}"}
    if seeds is not None:
        example = seeds.examples.get(operation.label, Example())
        params = {name: seeds.ids[name] for name in _path_names(operation)}
        case = operation.Case(
            path_parameters={**params, **example.path_parameters},
            query=example.query,
            **({} if example.body is NO_BODY else {"body": example.body, "media_type": "application/json"}),
        )
        response = case.call(headers=headers)
        assert 200 <= response.status_code < 300, (operation.label, response.status_code, response.text)
        case.validate_response(response, checks=CHECKS)
        _report(operation.label, response.status_code, seeded=True)

    @given(case=operation.as_strategy(), seeded=st.booleans())
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        # Seeded: the same examples every run, so a CI failure reproduces and a green run means
        # the same thing twice (issue 22's "seeded, in CI").
        derandomize=True,
    )
    def run(case: Any, seeded: bool) -> None:
        if seeds is not None and seeded:
            for name in case.path_parameters or {}:
                case.path_parameters[name] = seeds.ids.get(name, case.path_parameters[name])
            if case.query and "phone" in case.query:
                case.query["phone"] = seeds.phone
        response = case.call(headers=headers)
        assert response.status_code < 500, (
            case.method,
            case.formatted_path,
            response.status_code,
            response.text,
        )
        case.validate_response(response, checks=CHECKS)
        _report(operation.label, response.status_code, seeded=seeds is not None and seeded)

    run()


def _path_names(operation: Any) -> list[str]:
    return [p["name"] for p in operation.definition.raw.get("parameters", []) if p.get("in") == "path"]


def _report(label: str, status: int, *, seeded: bool) -> None:
    out = os.environ.get("CONFORMANCE_REPORT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps([label, status, seeded]) + "\n")
