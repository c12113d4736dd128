"""The campaign report's figures and page, from data alone (the browser test opens the page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dialer_cli.report import metrics
from dialer_cli.report.model import ReportData
from dialer_cli.report.render import render
from tests.support.report_data import CHANNELS, DIAL_LIMIT_PER_MINUTE, report_data

T0 = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def data_with_calls(*spans: tuple[float, float | None], **progress: object) -> ReportData:
    leads = [
        {
            "id": f"l{i}",
            "status": "exhausted",
            "history": [
                {"n": 1, "state": "ended", "accepted_at": at(s), "ended_at": None if e is None else at(e)}
            ],
        }
        for i, (s, e) in enumerate(spans)
    ]
    return ReportData(
        campaign={"id": "c"}, progress={"lead_count": len(leads), **progress}, leads=leads, generated_at="now"
    )


def test_dial_rate_counts_accepted_dials_per_second_against_the_limit() -> None:
    data = data_with_calls((0, 5), (0.5, 5), (1.2, 2), (3.9, 4), dial_limit_per_minute=120)
    series = metrics.dial_rate(data)
    assert series.step == 1
    assert series.values == [2, 1, 0, 1, 0, 0]
    assert series.limit == 2


def test_concurrency_carries_calls_across_quiet_buckets() -> None:
    # one long call from 0 to 100 s, and two short ones at 50 s: the count never drops to 0 mid-call
    data = data_with_calls((0, 100), (50, 52), (50.5, 51), slot_limit=5)
    series = metrics.concurrency(data)
    assert series.values[0] == 1
    assert series.values[25] == 1  # no event in this bucket, the long call still counts
    assert series.values[50] == 3
    assert series.values[60] == 1
    assert series.limit == 5


def test_an_end_frees_its_channel_before_a_start_at_the_same_instant() -> None:
    assert metrics.concurrency(data_with_calls((0, 10), (10, 20))).peak == 1


def test_two_proportion_test_matches_a_known_value() -> None:
    # 60/100 vs 45/100: pooled p = 0.525, se = sqrt(0.525 * 0.475 * 2/100) = 0.07062, z = 0.15 / se = 2.1240;
    # two-sided p = 2 * (1 - Phi(2.124)) = 0.0337
    test = metrics.two_proportion_test(metrics.Variant("a", "A", 100, 60), metrics.Variant("b", "B", 100, 45))
    assert round(test.z or 0, 4) == 2.1240
    assert round(test.p_value or 0, 4) == 0.0337
    assert not test.too_small
    assert "significant at 5%" in test.note


def test_small_samples_are_called_small() -> None:
    test = metrics.two_proportion_test(metrics.Variant("a", "A", 12, 6), metrics.Variant("b", "B", 10, 2))
    assert test.too_small
    assert "too small" in test.note
    # 20 leads a side with 10 expected reached: the expected counts pass, the group size does not
    assert metrics.two_proportion_test(
        metrics.Variant("a", "A", 20, 14), metrics.Variant("b", "B", 20, 6)
    ).too_small
    assert not metrics.two_proportion_test(
        metrics.Variant("a", "A", 30, 20), metrics.Variant("b", "B", 30, 10)
    ).too_small
    nothing = metrics.two_proportion_test(metrics.Variant("a", "A", 0, 0), metrics.Variant("b", "B", 5, 1))
    assert nothing.z is None


def test_variants_follow_the_first_call_of_each_lead() -> None:
    data = report_data()
    found = {v.assistant_id: v for v in metrics.variants(data)}
    called = [lead for lead in data.leads if lead["history"]]
    assert sum(v.leads for v in found.values()) == len(called)
    assert sum(v.reached for v in found.values()) == sum(lead["status"] == "reached" for lead in data.leads)


def test_the_fixture_respects_its_limits() -> None:
    data = report_data()
    assert metrics.concurrency(data).peak <= CHANNELS
    assert metrics.dial_rate(data).peak <= DIAL_LIMIT_PER_MINUTE / 60 + 1e-9


def test_every_section_renders_and_text_is_escaped() -> None:
    page = render(report_data())
    charts = re.findall(r'data-expect-chart="([\w-]+)"', page)
    assert charts == [
        "dials-per-second",
        "concurrent-calls",
        "outcomes",
        "dispositions",
        "compliance",
        "cost-by-outcome",
        "variants",
    ]
    assert "Renewals &lt;November&gt; &amp; co" in page
    assert "<November>" not in page
    assert "Every lead accounted for: 400 of 400." in page
    assert "<h2>Calls per hour</h2>" in page
    assert "2026-11-24 21:00 UTC" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "").replace(
        "http://127.0.0.1:3000", ""
    )
    assert "src=" not in page  # nothing to load: the page is whole


def test_without_stats_the_sections_say_not_available() -> None:
    page = render(report_data(with_stats=False))
    assert page.count("not available") == 2  # dispositions, cost
    assert 'data-expect-chart="dispositions"' not in page
    assert 'data-expect-chart="cost-by-outcome"' not in page
    assert 'data-expect-chart="outcomes"' in page


def test_missing_leads_are_flagged() -> None:
    data = report_data(leads=40)
    data.leads.pop()
    assert "39 leads listed, the campaign counts 40." in render(data)


def test_an_empty_campaign_renders() -> None:
    page = render(
        ReportData(
            campaign={"id": "c", "name": "Empty"}, progress={"lead_count": 0}, leads=[], generated_at="now"
        )
    )
    assert page.count("no dials yet") == 2
    assert "Every lead accounted for: 0 of 0." in page


def test_rendering_is_pure() -> None:
    assert render(report_data()) == render(report_data())


def test_a_value_at_the_limit_is_drawn_on_the_limit_line() -> None:
    from dialer_cli.report.svg import time_chart

    series = metrics.Series(T0, 1, [1, 5, 3, 0], 5, "calls", "calls")
    chart = time_chart("c", series)
    limit_y = float(re.search(r'class="limit"[^>]* y1="([\d.]+)"', chart).group(1))  # type: ignore[union-attr]
    points = re.search(r'points="([^"]+)"', chart).group(1)  # type: ignore[union-attr]
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert min(ys) == limit_y  # the peak (5) sits exactly on the limit (5)
    assert max(ys) > limit_y


def test_the_caller_id_table_shows_each_numbers_dials_health_and_rest() -> None:
    data = report_data()
    rows = {r.phone_number: r for r in metrics.caller_ids(data)}
    dials = sum(1 for lead in data.leads for a in lead["history"] if a.get("accepted_at"))
    assert rows["+12125550100"].campaign_dials + rows["+12125550101"].campaign_dials == dials
    assert (rows["+12125550100"].state, rows["+12125550100"].answer_rate) == ("active", 0.4521)
    assert rows["+12125550101"].state == "rested"
    assert "answer rate 4% over its last 50 calls" in rows["+12125550101"].rest
    page = render(data)
    section = page[page.index("<h2>Caller IDs</h2>") : page.index("<h2>Leads accounted for</h2>")]
    assert "45.2%" in section  # answer rate
    assert "6.1%" in section  # very short share
    assert "until 2026-11-25T21:05:00.000000Z (health: answer rate 4%" in section
    empty = render(ReportData(campaign={"id": "c"}, progress={}, leads=[], generated_at="now"))
    assert "no caller IDs" in empty
