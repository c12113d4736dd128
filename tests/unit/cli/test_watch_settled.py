"""``dialer campaigns watch --until-settled``: stop once no lead falls due within the horizon of
the progress answer's own clock (the campaign's, which may be shifted on a local stack)."""

from __future__ import annotations

from dialer_cli.campaigns import waits_past

NOW = "2026-12-08T21:00:00.000000Z"


def test_nothing_waiting_is_settled() -> None:
    assert waits_past({"evaluated_at": NOW, "next_due_at": None}, 600)


def test_a_lead_due_inside_the_horizon_is_waited_for() -> None:
    assert not waits_past({"evaluated_at": NOW, "next_due_at": "2026-12-08T21:09:59.000000Z"}, 600)


def test_a_lead_due_past_the_horizon_is_left_for_later() -> None:
    assert waits_past({"evaluated_at": NOW, "next_due_at": "2026-12-08T21:10:01.000000Z"}, 600)


def test_an_answer_without_a_clock_never_settles() -> None:
    assert not waits_past({"next_due_at": "2026-12-10T21:00:00.000000Z"}, 600)
