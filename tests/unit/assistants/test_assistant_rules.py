"""Defaults, merges and diffs of assistant settings (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialer.domain.assistants import (
    DEPLOYMENT_TOOLS,
    DeploymentDefaults,
    apply_create_defaults,
    deep_merge,
    merged_changes,
)

DEFAULTS = DeploymentDefaults("https://api.example/prod", "acme", 3000, "s3cret")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10,
)


def test_defaults_fill_only_what_is_missing() -> None:
    body = apply_create_defaults({"name": "n", "instructions": "i"}, DEFAULTS, deployment_tools=True)
    assert body["dynamic_variables_webhook_url"] == "https://api.example/prod/webhooks/telnyx/acme/init"
    assert body["dynamic_variables_webhook_timeout_ms"] == 3000
    assert body["privacy_settings"] == {"data_retention": True}
    names = [t["webhook"]["name"] for t in body["tools"]]
    assert names == list(DEPLOYMENT_TOOLS)
    assert body["tools"][0]["webhook"]["headers"] == [{"name": "X-Tool-Secret", "value": "s3cret"}]

    mine = {"type": "webhook", "webhook": {"name": "opt_out", "description": "mine", "url": "https://x"}}
    kept = apply_create_defaults(
        {"tools": [mine], "privacy_settings": {"data_retention": False}}, DEFAULTS, deployment_tools=True
    )
    assert kept["tools"][0] is not mine
    assert kept["tools"][0] == mine
    assert len(kept["tools"]) == len(DEPLOYMENT_TOOLS)
    assert kept["privacy_settings"] == {"data_retention": False}


def test_merged_changes_keep_untouched_siblings_and_drop_no_ops() -> None:
    current = {
        "name": "a",
        "telephony_settings": {"time_limit_secs": 600, "voicemail_detection": {"x": 1}},
        "tags": ["t"],
    }
    changes = merged_changes(
        current, {"name": "a", "telephony_settings": {"time_limit_secs": 900}, "tags": ["t"]}
    )
    assert changes == {"telephony_settings": {"time_limit_secs": 900, "voicemail_detection": {"x": 1}}}


@given(json_values, json_values)
def test_deep_merge_patch_wins_and_base_survives(base: object, patch: object) -> None:
    merged = deep_merge(base, patch)
    if isinstance(base, dict) and isinstance(patch, dict):
        assert isinstance(merged, dict)
        assert set(merged) == set(base) | set(patch)
        for key in set(base) - set(patch):
            assert merged[key] == base[key]
    else:
        assert merged == patch


@given(st.dictionaries(st.sampled_from(["name", "greeting", "voice_settings"]), json_values))
def test_applying_the_same_patch_twice_changes_nothing_the_second_time(patch: dict[str, object]) -> None:
    current = {"name": "x", "voice_settings": {"voice": "v"}}
    first = merged_changes(current, patch)
    assert merged_changes({**current, **first}, patch) == {}
