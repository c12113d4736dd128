"""docs/configuration.md is what scripts/config_reference.py generates (CI fails when it is stale),
and it covers every deployment parameter and every setting a function reads."""

from __future__ import annotations

from scripts.config_reference import OUT, render, settings_fields, template


def test_checked_in_reference_is_current() -> None:
    assert OUT.read_text() == render(), "docs/configuration.md is stale: run `make config-reference`"


def test_every_parameter_and_setting_is_documented() -> None:
    text = OUT.read_text()
    for name in template()["Parameters"]:
        assert f"| `{name}` |" in text, name
    variables = [var for var, *_ in settings_fields()]
    assert "TABLE_NAME" in variables
    assert "CLOCK_OFFSET_SECONDS" in variables
    for var in variables:
        assert f"| `{var}` |" in text, var
