"""The local-only clock: the offset shifts "now" on the local stage and is refused anywhere else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dialer import clock
from dialer.settings import Settings, get_settings


def test_no_offset_is_the_wall_clock(monkeypatch):
    monkeypatch.delenv(clock.OFFSET_ENV, raising=False)
    monkeypatch.setenv("STAGE", "prod")
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC


def test_offset_shifts_now_on_the_local_stage(monkeypatch):
    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv(clock.OFFSET_ENV, "-7200")
    shifted = clock.now()
    assert abs((datetime.now(UTC) - timedelta(hours=2) - shifted).total_seconds()) < 1


@pytest.mark.parametrize("stage", ["prod", "dev", "", None])
def test_offset_outside_local_is_refused(monkeypatch, stage):
    if stage is None:
        monkeypatch.delenv("STAGE", raising=False)
    else:
        monkeypatch.setenv("STAGE", stage)
    monkeypatch.setenv(clock.OFFSET_ENV, "3600")
    with pytest.raises(clock.ClockOffsetRefused, match="only when STAGE"):
        clock.now()


@pytest.mark.parametrize("raw", ["soon", "nan", "inf"])
def test_offset_must_be_a_finite_number(raw):
    with pytest.raises(clock.ClockOffsetRefused):
        clock.checked_offset("local", raw)


def test_zero_or_blank_offset_is_fine_anywhere():
    assert clock.checked_offset("prod", "0") == 0.0
    assert clock.checked_offset("prod", " ") == 0.0
    assert clock.checked_offset("prod", None) == 0.0


def test_settings_refuse_an_offset_outside_local(monkeypatch):
    with pytest.raises(ValidationError, match="only when STAGE"):
        Settings(table_name="t", stage="prod", clock_offset_seconds=60)
    assert Settings(table_name="t", stage="local", clock_offset_seconds=60).clock_offset_seconds == 60
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("STAGE", "dev")
    monkeypatch.setenv("CLOCK_OFFSET_SECONDS", "60")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError):
            get_settings()
    finally:
        get_settings.cache_clear()
