"""``ReportData`` → one HTML page: a pure function (no I/O), so it is unit-tested and browser-tested
on a fixture. The page is self-contained: styles and charts inline, a Content-Security-Policy that
forbids loading anything, and a few lines of script that only mark the charts as laid out (the
browser test reads the marker; the charts need no script to show)."""

from __future__ import annotations

from html import escape

from dialer_cli.report import metrics, svg
from dialer_cli.report.model import ReportData

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#0f172a;background:#f8fafc}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#475569}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}
figure{background:#fff;border:1px solid #e2e8f0;border-radius:8px;margin:0;padding:12px;overflow-x:auto}
figcaption{color:#475569;margin-bottom:6px}
table{border-collapse:collapse;background:#fff;min-width:50%}
td,th{border:1px solid #e2e8f0;padding:4px 10px;text-align:left}td.n{text-align:right}
.na{color:#64748b;font-style:italic}.ok{color:#15803d}.bad{color:#b91c1c}
svg text{font-size:12px;fill:#0f172a}svg .tick{fill:#64748b;font-size:11px}svg .axis{stroke:#94a3b8}
svg .limit-label{fill:#dc2626}
"""

# Marks each chart that the browser laid out (an SVG with marks and a non-empty box); the browser
# test waits for data-report-ready and compares the two counts.
SCRIPT = """
(function () {
  var figures = document.querySelectorAll("figure[data-expect-chart]");
  var drawn = 0;
  figures.forEach(function (figure) {
    var chart = figure.querySelector("svg.chart-svg");
    if (chart && chart.querySelectorAll(".mark").length > 0 && chart.getBBox().width > 0) {
      figure.setAttribute("data-drawn", "1");
      drawn += 1;
    }
  });
  document.body.setAttribute("data-charts-expected", String(figures.length));
  document.body.setAttribute("data-charts-drawn", String(drawn));
  document.body.setAttribute("data-report-ready", "1");
})();
"""


def _figure(name: str, caption: str, chart: str) -> str:
    return f'<figure data-expect-chart="{escape(name)}"><figcaption>{escape(caption)}</figcaption>{chart}</figure>'


def _na(text: str) -> str:
    return f'<p class="na">{escape(text)}</p>'


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(c)}</td>' if i >= numeric_from else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _time_section(name: str, title: str, series: metrics.Series, limit_name: str) -> str:
    if not any(series.values):
        return f"<h2>{escape(title)}</h2>" + _na("no dials yet")
    limit = f"{series.limit:g} {series.unit}" if series.limit is not None else "not set"
    caption = (
        f"{series.label} in {series.step:g}-second buckets; peak {series.peak:.3g} {series.unit}; "
        f"{limit_name} {limit} (dashed)"
    )
    return f"<h2>{escape(title)}</h2>" + _figure(name, caption, svg.time_chart(name, series))


def _bar_section(name: str, title: str, values: dict[str, float] | None, missing: str, unit: str = "") -> str:
    if values is None:
        return f"<h2>{escape(title)}</h2>" + _na(missing)
    if not values:
        return f"<h2>{escape(title)}</h2>" + _na("none")
    caption = f"{sum(values.values()):,.2f} {unit}".strip() if unit else f"{sum(values.values()):,.0f} in all"
    return f"<h2>{escape(title)}</h2>" + _figure(name, caption, svg.bar_chart(name, values, unit))


def _cost_section(data: ReportData) -> str:
    cost = metrics.costs(data)
    if cost is None:
        return "<h2>Cost</h2>" + _na("not available: this API reports no costs (GET /campaigns/{id}/stats)")
    rows = [
        ["total", f"{cost.total:,.4f} {cost.currency}"],
        ["per call", "—" if cost.per_call is None else f"{cost.per_call:,.4f} {cost.currency}"],
        [
            "per connected minute",
            "—" if cost.per_connected_minute is None else f"{cost.per_connected_minute:,.4f} {cost.currency}",
        ],
    ]
    budget = data.campaign.get("budget") or {}
    if budget.get("max_cost") is not None:
        rows.append(["budget", f"{float(budget['max_cost']):,.2f} {budget.get('currency') or cost.currency}"])
    chart = (
        _figure(
            "cost-by-outcome",
            f"cost by outcome ({cost.currency})",
            svg.bar_chart("cost-by-outcome", cost.by_outcome, cost.currency),
        )
        if cost.by_outcome
        else _na("no cost by outcome")
    )
    return "<h2>Cost</h2>" + _table(["", "amount"], rows) + chart


def _variants_section(data: ReportData) -> str:
    found = metrics.variants(data)
    if not found:
        return "<h2>A/B variants</h2>" + _na("no calls placed yet")
    rows = [[v.name, v.assistant_id, f"{v.leads:,}", f"{v.reached:,}", f"{100 * v.rate:.1f}%"] for v in found]
    table = _table(["variant", "assistant", "leads called", "reached", "reach rate"], rows, numeric_from=2)
    if len(found) < 2:
        return "<h2>A/B variants</h2>" + table + _na("one variant: nothing to compare")
    test = metrics.two_proportion_test(found[0], found[1])
    z = "" if test.z is None else f" z = {test.z:.2f};"
    verdict = f"{escape(found[0].name)} vs {escape(found[1].name)}:{z} {escape(test.note)}"
    chart = _figure(
        "variants",
        "reach rate by variant (%)",
        svg.bar_chart("variants", {v.name: round(100 * v.rate, 1) for v in found}, "%"),
    )
    return f'<h2>A/B variants</h2>{table}<p class="{"na" if test.too_small else ""}">{verdict}</p>{chart}'


def _accounting_section(data: ReportData) -> str:
    acc = metrics.accounting(data)
    rows = [
        [status, f"{count:,}", f"{100 * count / max(acc.listed, 1):.1f}%"]
        for status, count in sorted(acc.by_status.items(), key=lambda kv: -kv[1])
    ]
    rows.append(["total", f"{acc.listed:,}", "100%"])
    verdict = (
        f'<p class="ok">Every lead accounted for: {acc.listed:,} of {acc.expected:,}.</p>'
        if acc.complete
        else f'<p class="bad">{acc.listed:,} leads listed, the campaign counts {acc.expected:,}.</p>'
    )
    return "<h2>Leads accounted for</h2>" + verdict + _table(["status", "leads", "share"], rows)


def _timeline_section(data: ReportData) -> str:
    """Calls per UTC hour, from the stats API's timeline (counters, not the calls)."""
    hours = (data.stats or {}).get("timeline") or []
    if not hours:
        return "<h2>Calls per hour</h2>" + _na("no ended calls yet (or this API reports no timeline)")
    rows = [
        [
            str(h.get("hour", ""))[:16].replace("T", " ") + " UTC",
            f"{int(h.get('calls', 0)):,}",
            f"{int(h.get('connected', 0)):,}",
            f"{int(h.get('answered_human', 0)):,}",
            f"{int(h.get('converted', 0)):,}",
            str(h.get("cost", "0")),
        ]
        for h in hours
    ]
    return "<h2>Calls per hour</h2>" + _table(
        ["hour", "calls", "connected", "human", "converted", "cost"], rows
    )


def _caller_ids_section(data: ReportData) -> str:
    """The campaign's caller IDs with their health (issue 23)."""
    rows = metrics.caller_ids(data)
    if not rows:
        return "<h2>Caller IDs</h2>" + _na("no caller IDs (or this API reports none)")

    def share(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.1f}%"

    table = _table(
        ["caller ID", "state", "dials here", "calls judged", "answer rate", "very short", "rest"],
        [
            [
                r.phone_number,
                r.state,
                f"{r.campaign_dials:,}",
                "—" if r.window_calls is None else f"{r.window_calls:,}",
                share(r.answer_rate),
                share(r.short_share),
                r.rest,
            ]
            for r in rows
        ],
        numeric_from=2,
    )
    note = (
        '<p class="meta">calls judged, answer rate and very short share: each number\'s current '
        "health window over every campaign (reset when it is rested).</p>"
    )
    return "<h2>Caller IDs</h2>" + table + note


def render(data: ReportData) -> str:
    """The whole report page for ``data``."""
    campaign, progress = data.campaign, data.progress
    title = f"Campaign report — {campaign.get('name', campaign.get('id', ''))}"
    cards = [
        ("status", str(progress.get("status", campaign.get("status", "")))),
        ("leads", f"{int(progress.get('lead_count', len(data.leads))):,}"),
        ("dials", f"{int(progress.get('dials_total', 0)):,}"),
        ("reached", f"{metrics.accounting(data).by_status.get('reached', 0):,}"),
        ("in flight", f"{int(progress.get('in_flight', 0)):,}"),
        ("dial limit", f"{progress.get('dial_limit_per_minute', '—')}/min"),
        ("channel limit", str(progress.get("slot_limit", "—"))),
    ]
    sections = [
        _time_section(
            "dials-per-second",
            "Dials per second against the dial limit",
            metrics.dial_rate(data),
            "dial limit",
        ),
        _time_section(
            "concurrent-calls",
            "Concurrent calls against the channel limit",
            metrics.concurrency(data),
            "channel limit",
        ),
        _bar_section("outcomes", "Outcomes", dict(metrics.outcomes(data)), "no calls yet"),
        _bar_section(
            "dispositions",
            "Dispositions",
            None if (d := metrics.dispositions(data)) is None else dict(d),
            "not available: this API reports no dispositions (GET /campaigns/{id}/stats)",
        ),
        _bar_section(
            "compliance",
            "Deferrals and blocks by compliance reason",
            dict(metrics.compliance_reasons(data)),
            "",
        ),
        _cost_section(data),
        _timeline_section(data),
        _variants_section(data),
        _caller_ids_section(data),
        _accounting_section(data),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">campaign {escape(str(campaign.get("id", "")))} · generated {escape(data.generated_at)}'
        f"{' · ' + escape(data.api_url) if data.api_url else ''}</p>"
        '<div class="cards">'
        + "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards)
        + "</div>"
        + "".join(sections)
        + f"</main><script>{SCRIPT}</script></body></html>\n"
    )
