"""The local-only clock: the offset shifts "now" on the local stage and is refused anywhere else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dialer import clock
from dialer.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TABLE_NAME", "t")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_no_offset_is_the_wall_clock(monkeypatch):
    monkeypatch.delenv("CLOCK_OFFSET_SECONDS", raising=False)
    monkeypatch.setenv("STAGE", "prod")
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC


def test_offset_shifts_now_on_the_local_stage(monkeypatch):
    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("CLOCK_OFFSET_SECONDS", "-7200")
    shifted = clock.now()
    assert abs((datetime.now(UTC) - timedelta(hours=2) - shifted).total_seconds()) < 1


@pytest.mark.parametrize("stage", ["prod", "dev", None])
def test_offset_outside_local_is_refused(monkeypatch, stage):
    if stage is None:
        monkeypatch.delenv("STAGE", raising=False)
    else:
        monkeypatch.setenv("STAGE", stage)
    monkeypatch.setenv("CLOCK_OFFSET_SECONDS", "3600")
    with pytest.raises(ValidationError, match="STAGE is local"):
        clock.now()


def test_settings_refuse_an_offset_outside_local():
    with pytest.raises(ValidationError):
        Settings(table_name="t", stage="prod", clock_offset_seconds=60)
    assert Settings(table_name="t", stage="local", clock_offset_seconds=60).clock_offset_seconds == 60
    assert Settings(table_name="t", stage="prod", clock_offset_seconds=0).clock_offset_seconds == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # 0 would loop the dispatcher without a pause; the template's DispatchTickSeconds has the
        # same bounds
        *(("DISPATCH_TICK_SECONDS", tick) for tick in ("0", "0.1", "-1", "11")),
        # below 0 means nothing; above 30 s a lead added to a running campaign would wait too long
        *(("DISPATCH_DUE_STALENESS_SECONDS", staleness) for staleness in ("-1", "31")),
    ],
)
def test_a_dispatcher_timing_outside_its_bounds_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match=variable.lower()):
            get_settings()
    finally:
        get_settings.cache_clear()
