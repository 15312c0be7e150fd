"""The report's charts: Altair (Vega-Lite) specs rendered to inline SVG by vl-convert.

Every chart function takes the landscape result and returns an SVG string, or None when the
section has nothing to draw. Rendering happens in-process (vl-convert embeds the Vega runtime),
so the report needs no JavaScript and no network when opened.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import altair as alt
import vl_convert

from threatscope.nexus import UNKNOWN_NAME, nexus_name

__all__ = [
    "OTHER",
    "UNKNOWN",
    "grouped_trend",
    "nexus_colours",
    "nexus_name",
    "nexus_shares_svg",
    "regions_svg",
    "sector_heatmap_svg",
    "trend_chart",
    "trend_svg",
]

# Metric-compatible with Liberation Sans, so labels vl-convert measured on a machine without Arial
# still fit when a reader's browser draws them in Arial or Helvetica.
FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
WIDTH = 560
# Okabe-Ito: distinguishable under the common colour-vision deficiencies and in greyscale print.
# The four nexuses a reader compares most keep their colour in every report.
_FIXED = {"CN": "#D55E00", "RU": "#0072B2", "IR": "#009E73", "KP": "#CC79A7"}
_SPARE = ("#E69F00", "#56B4E9", "#F0E442", "#000000")
OTHER = "Other"
UNKNOWN = UNKNOWN_NAME
_GREYS = {OTHER: "#7F7F7F", UNKNOWN: "#C8C8C8"}
_FEATURED = 6
# The Vega-Lite that Altair writes specs for, if this vl-convert bundles it; else its newest.
_VL_VERSION: str | None = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
if _VL_VERSION not in vl_convert.get_vegalite_versions():
    _VL_VERSION = None


def _featured(result: dict[str, Any]) -> list[str]:
    """The known nexuses that get their own colour: the largest in the window, then the largest
    of the trend quarters, so a nexus that vanished this year is still drawn in the trend."""
    order = [r["nexus"] for r in result["by_nexus"] if r["nexus"] != "unknown"]
    totals: dict[str, float] = {}
    for quarter in result["trend"]:
        for nexus, figures in quarter["by_nexus"].items():
            totals[nexus] = totals.get(nexus, 0.0) + figures["count"]
    for nexus in sorted(totals, key=lambda n: -totals[n]):
        if nexus != "unknown" and nexus not in order:
            order.append(nexus)
    return order[:_FEATURED]


def nexus_colours(result: dict[str, Any]) -> dict[str, str]:
    """Display name -> colour for the featured nexuses, `Other` and `Unknown nexus`."""
    spare = itertools.cycle(_SPARE)
    colours = {}
    for nexus in _featured(result):
        colours[nexus_name(nexus)] = _FIXED.get(nexus) or next(spare)
    return {**colours, **_GREYS}


def _group(nexus: str, featured: list[str]) -> str:
    if nexus == "unknown":
        return UNKNOWN
    return nexus_name(nexus) if nexus in featured else OTHER


def grouped_trend(result: dict[str, Any]) -> dict[str, list[float]]:
    """Display name -> count per trend quarter, for the featured nexuses, Other and Unknown (in
    colour order; groups never seen are left out)."""
    featured = _featured(result)
    grouped = {name: [0.0] * len(result["trend"]) for name in nexus_colours(result)}
    for i, quarter in enumerate(result["trend"]):
        for nexus, figures in quarter["by_nexus"].items():
            grouped[_group(nexus, featured)][i] += figures["count"]
    return {name: counts for name, counts in grouped.items() if any(counts)}


def _svg(chart: alt.TopLevelMixin, name: str) -> str:
    spec = chart.configure(font=FONT, background="white").configure_view(stroke=None)
    svg = vl_convert.vegalite_to_svg(spec.to_dict(), vl_version=_VL_VERSION, allowed_base_urls=[])
    # Several SVGs share one HTML document: ids (clip paths, gradients) must not collide.
    svg = re.sub(r'id="([^"]+)"', rf'id="{name}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", svg)
    return svg.replace("<svg ", f'<svg data-chart="{name}" role="img" ', 1)


def _axis_percent(title: str | None = None) -> alt.Axis:
    return alt.Axis(
        format="%", title=title, grid=True, tickCount=6, labelFontSize=11, titleFontSize=11
    )


def nexus_shares_svg(result: dict[str, Any]) -> str | None:
    """Share of incidents per nexus, Wilson 95% whiskers, previous window's share as a diamond."""
    if not result["incidents"] or not result["by_nexus"]:
        return None
    previous = {c["nexus"]: c["previous_share"] for c in result["previous_window"]["changes"]}
    colours = nexus_colours(result)
    rows = [
        {
            "name": nexus_name(r["nexus"]),
            "share": r["share"],
            "low": r["ci95"][0],
            "high": r["ci95"][1],
            "previous": previous.get(r["nexus"], 0.0),
            "label": f"{100 * r['share']:.0f}%",
            # Right of whichever ends further right, the whisker or the previous diamond.
            "label_at": max(r["ci95"][1], previous.get(r["nexus"], 0.0)),
            "colour": colours.get(nexus_name(r["nexus"]), _GREYS[OTHER]),
        }
        for r in result["by_nexus"][:12]
    ]
    order = [r["name"] for r in rows]
    top = max(max(r["high"] for r in rows), max(r["previous"] for r in rows))
    x_scale = alt.Scale(domain=[0, min(1.0, top + 0.08)], nice=False)
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y(
            "name:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelFontSize=12, ticks=False, labelPadding=8),
        )
    )
    bars = base.mark_bar(height=16, opacity=0.9).encode(
        x=alt.X("share:Q", scale=x_scale, axis=_axis_percent("Share of incidents")),
        color=alt.Color("colour:N", scale=None),
    )
    whiskers = base.mark_rule(strokeWidth=1.5, color="#222").encode(x="low:Q", x2="high:Q")
    caps = [
        base.mark_tick(thickness=1.5, size=10, color="#222").encode(x=f"{end}:Q")
        for end in ("low", "high")
    ]
    before = base.mark_point(
        shape="diamond", size=60, filled=True, color="#FFFFFF", stroke="#222", strokeWidth=1.2
    ).encode(x="previous:Q")
    labels = base.mark_text(align="left", dx=8, fontSize=11, color="#222").encode(
        x="label_at:Q", text="label:N"
    )
    chart = alt.layer(bars, whiskers, *caps, before, labels).properties(
        width=WIDTH - 90, height=alt.Step(22)
    )
    return _svg(chart, "nexus-shares")


def trend_chart(result: dict[str, Any]) -> alt.Chart | None:
    """Incidents per quarter, stacked by nexus (featured nexuses, the rest as Other). Every trend
    quarter keeps its place on the axis, an empty one too: dropping it would close the gap and
    read as steady activity."""
    trend = result["trend"]
    if not any(q["incidents"] for q in trend):
        return None
    colours = nexus_colours(result)
    grouped = grouped_trend(result)
    used = list(grouped)
    quarters = [q["quarter"] for q in trend]
    rows = [
        {"quarter": q["quarter"], "nexus": name, "count": n, "order": used.index(name)}
        for name, counts in grouped.items()
        for q, n in zip(trend, counts, strict=True)
        if n
    ]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(width=alt.RelativeBandSize(0.7))
        .encode(
            x=alt.X(
                "quarter:O",
                sort=quarters,
                scale=alt.Scale(domain=quarters),
                title=None,
                axis=alt.Axis(labelAngle=0, labelFontSize=11),
            ),
            # Incidents are whole: ticks at whole numbers only, so a stack of 3 never reads
            # against 0.5 steps (fractional counting still stacks to halves between the ticks).
            y=alt.Y(
                "count:Q",
                title="Incidents (per nexus)",
                axis=alt.Axis(titleFontSize=11, format="d", tickMinStep=1),
            ),
            color=alt.Color(
                "nexus:N",
                scale=alt.Scale(domain=used, range=[colours[n] for n in used]),
                legend=alt.Legend(title=None, orient="right", labelFontSize=11),
            ),
            order=alt.Order("order:Q", sort="ascending"),
        )
        .properties(width=WIDTH - 130, height=220)
    )


def trend_svg(result: dict[str, Any]) -> str | None:
    chart = trend_chart(result)
    return None if chart is None else _svg(chart, "trend")


def sector_heatmap_svg(result: dict[str, Any]) -> str | None:
    """Victim sector x nexus: each cell is the share of that nexus's incidents hitting the sector,
    so columns of different size compare; `All` is the share of every incident in the window."""
    overall = result["sectors"]["overall"][:10]
    if not overall or not result["incidents"]:
        return None
    sectors = [s["label"] for s in overall]
    # Column labels carry their n (two lines: name, n) so a 67% over three incidents reads as such.
    sizes = {r["nexus"]: r["count"] for r in result["by_nexus"]}
    columns = [(f"All|n = {result['incidents']}", None)] + [
        (f"{nexus_name(n)}|n = {sizes[n]:g}", n) for n in _featured(result) if n in sizes
    ]
    by_nexus = result["sectors"]["by_nexus"]
    rows = []
    for label, nexus in columns:
        if nexus is None:
            cells = {s["label"]: (s["count"], s["count"] / result["incidents"]) for s in overall}
        else:
            cells = {s["label"]: (s["count"], s["share"]) for s in by_nexus.get(nexus, [])}
        if nexus is not None and not cells:
            continue
        for sector in sectors:
            count, share = cells.get(sector, (0, 0.0))
            rows.append(
                {
                    "sector": sector,
                    "nexus": label,
                    "share": share,
                    "count": count,
                    "text": f"{100 * share:.0f}%" if count else "–",
                }
            )
    order = [label for label, _ in columns]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(
            "nexus:N",
            sort=order,
            title=None,
            axis=alt.Axis(
                orient="top",
                labelAngle=0,
                labelFontSize=11,
                ticks=False,
                domain=False,
                labelExpr="split(datum.label, '|')",
                # Vega anchors the first line of a multi-line label; lift it by one line.
                labelLineHeight=14,
                labelPadding=18,
            ),
        ),
        y=alt.Y(
            "sector:N",
            sort=sectors,
            title=None,
            axis=alt.Axis(
                labelFontSize=11, ticks=False, domain=False, labelLimit=200, labelPadding=6
            ),
        ),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        # An empty cell is "none seen", not "a small share": keep it out of the colour scale.
        color=alt.condition(
            alt.datum.count == 0,
            alt.value("#F3F3F3"),
            alt.Color(
                "share:Q",
                scale=alt.Scale(scheme="blues", domain=[0, 1]),
                legend=alt.Legend(
                    title="Share of the column's incidents",
                    format="%",
                    orient="bottom",
                    gradientLength=220,
                    titleFontSize=10,
                    labelFontSize=10,
                ),
            ),
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="text:N",
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("#222")),
    )
    chart = alt.layer(cells, text).properties(
        width=alt.Step(max(56, min(80, (WIDTH - 200) // len({r["nexus"] for r in rows})))),
        height=alt.Step(24),
    )
    return _svg(chart, "sector-heatmap")


def regions_svg(result: dict[str, Any]) -> str | None:
    """Incidents per victim region (an incident counts once in each region it hit)."""
    regions = result["victim_regions"]["overall"]
    total = result["incidents"]
    if not regions or not total:
        return None
    rows = [
        {
            "region": r["label"],
            "count": r["count"],
            "label": f"{r['count']} ({100 * r['count'] / total:.0f}%)",
        }
        for r in regions
    ]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y(
            "region:N",
            sort=[r["region"] for r in rows],
            title=None,
            axis=alt.Axis(labelFontSize=12, ticks=False, labelPadding=8),
        )
    )
    top = max(r["count"] for r in rows)
    bars = base.mark_bar(height=16, color="#0072B2").encode(
        x=alt.X(
            "count:Q",
            title="Incidents",
            scale=alt.Scale(domain=[0, top * 1.2], nice=False),
            axis=alt.Axis(titleFontSize=11, tickMinStep=1, tickCount=6, format="d"),
        )
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#222").encode(
        x="count:Q", text="label:N"
    )
    chart = alt.layer(bars, labels).properties(width=220, height=alt.Step(24))
    return _svg(chart, "regions")
