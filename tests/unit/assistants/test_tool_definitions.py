"""The tools the assistant defaults define are exactly the tools assistant_tools serves."""

from __future__ import annotations

from dialer.domain.assistants import (
    DEPLOYMENT_TOOLS,
    PRESET_BODY_FIELDS,
    TOOL_SECRET_HEADER,
    TOOL_TIMEOUT_MS,
    DeploymentDefaults,
    deployment_tool,
)
from dialer.domain.outcomes import Disposition
from dialer.services.assistant_tools import Tool

DEFAULTS = DeploymentDefaults("https://api.example.com/dev/", "acme", 3000, "s3cret")


def test_defined_tools_are_the_served_tools():
    assert set(DEPLOYMENT_TOOLS) == {t.value for t in Tool}


def test_each_definition_points_at_its_route_with_identity_secret_and_tool_level_timeout():
    for name in DEPLOYMENT_TOOLS:
        tool = deployment_tool(name, DEFAULTS)
        webhook = tool["webhook"]
        assert webhook["url"] == f"https://api.example.com/dev/tools/acme/{name}"
        assert webhook["method"] == "POST"
        assert tool["timeout_ms"] == webhook["timeout_ms"] == TOOL_TIMEOUT_MS
        assert webhook["preset_body_fields"] == PRESET_BODY_FIELDS
        assert webhook["headers"] == [{"name": TOOL_SECRET_HEADER, "value": "s3cret"}]
        # the model never sees (or sets) the identity fields
        assert not set(PRESET_BODY_FIELDS) & set(webhook["body_parameters"]["properties"])


def test_disposition_schema_is_the_canonical_enum():
    schema = DEPLOYMENT_TOOLS["set_disposition"]["body_parameters"]["properties"]["disposition"]
    assert schema["enum"] == [d.value for d in Disposition]
