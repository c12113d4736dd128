"""A provisioned environment's init does the first-use work ahead of its first request (``wire_ahead``):
the holiday tables a calling window reads and the TLS context Telnyx clients share."""

from __future__ import annotations

import pytest

from dialer import lambda_init
from dialer.policies import compliance


@pytest.fixture
def cold_calendars():
    compliance._holiday_dates.cache_clear()
    yield
    compliance._holiday_dates.cache_clear()


def _holiday_states() -> set[str]:
    return {code for code, rule in compliance.rule_book().states.items() if rule.no_holidays}


def test_a_provisioned_init_computes_this_and_next_years_holidays(monkeypatch, cold_calendars):
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    monkeypatch.setenv("CLOCK_OFFSET_SECONDS", "")
    wired = []
    lambda_init.wire_ahead(lambda: wired.append(1), also=(lambda_init.calling_calendars,))
    from dialer import clock

    year = clock.now().year
    assert wired == [1]
    assert _holiday_states()  # the rule book has holiday-ban states to compute
    assert compliance._holiday_dates.cache_info().currsize == 2 * len(_holiday_states())
    hits = compliance._holiday_dates.cache_info().hits
    for state in _holiday_states():
        compliance.holiday_dates(state, year)
        compliance.holiday_dates(state, year + 1)
    assert compliance._holiday_dates.cache_info().hits == hits + 2 * len(_holiday_states())


def test_an_on_demand_init_leaves_the_work_to_first_use(monkeypatch, cold_calendars):
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    wired = []
    lambda_init.wire_ahead(lambda: wired.append(1), also=(lambda_init.calling_calendars,))
    assert wired == []
    assert compliance._holiday_dates.cache_info().currsize == 0


def test_every_telnyx_client_of_the_process_shares_one_tls_context():
    from telnyx_client._http import tls_context
    from telnyx_client.client import TelnyxClient

    lambda_init.telnyx_tls()
    first = TelnyxClient("KEY_a", "https://api.telnyx.com/v2")
    second = TelnyxClient("KEY_b", "https://api.telnyx.com/v2")
    try:
        contexts = {id(c._core.http._transport._pool._ssl_context) for c in (first, second)}
        assert contexts == {id(tls_context())}
    finally:
        first.close()
        second.close()
