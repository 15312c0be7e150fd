"""The landscape result turned into what the HTML template prints: formatted rows and labels.

All wording and number formatting lives here, so the template only lays things out and the
same figures read identically in every table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from threatscope import __version__
from threatscope.countries import country_name
from threatscope.landscape.stats import wilson_interval
from threatscope.report import charts
from threatscope.report.marking import LEVELS, Tlp
from threatscope.report.provenance import SourceCredit, registry_credits
from threatscope.taxonomy import CATEGORIES, region_label, sectors

__all__ = ["build_context", "fmt_count", "fmt_p", "fmt_pct", "report_title"]

_TOP = 10
_LACKING = {
    "nexus": "Nexus (no state or actor attribution)",
    "victim_sector": "Victim sector",
    "victim_country": "Victim country",
    "incident_type": "Incident type",
    "initial_access": "Initial access technique",
    "exploited_cves": "Exploited CVEs",
}
# Short names for the first page's list of large gaps.
_GAPS = {
    "nexus": "nexus",
    "victim_sector": "victim sector",
    "victim_country": "victim country",
    "incident_type": "incident type",
    "initial_access": "initial access technique",
    "exploited_cves": "exploited CVEs",
}


# The words a title puts before "cyber threat landscape", per actor category.
_CATEGORY_WORDS = {
    "state": "state-actor",
    "state-affiliated": "state-affiliated",
    "criminal": "criminal",
    "hacktivist": "hacktivist",
    "unknown": "uncategorised-actor",
}
_NOT_DECLARED = "not declared"


def report_title(categories: list[str] | tuple[str, ...]) -> str:
    """The title for the actor categories the figures count: "State-linked …" only when they are
    the state and state-affiliated actors, "Criminal …" for criminal ones, and so on."""
    chosen = [c for c in CATEGORIES if c in set(categories)]
    if not chosen or len(chosen) == len(CATEGORIES):
        return "Cyber threat landscape: all actor categories"
    words = [_CATEGORY_WORDS[c] for c in chosen]
    if "state" in chosen and "state-affiliated" in chosen:
        words[chosen.index("state")] = "state-linked"
        words.remove("state-affiliated")
    phrase = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{phrase[:1].upper()}{phrase[1:]} cyber threat landscape"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def fmt_count(value: float) -> str:
    # Fractional counting yields thirds and halves; whole counts print without a decimal point.
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _signed(value: float, spec: str) -> str:
    # A true minus sign: the hyphen reads as a dash and is narrower than the digits beside it.
    return format(value, "+" + spec).replace("-", "\u2212")


def _share(count: float, total: int) -> str:
    return fmt_pct(count / total if total else None, 0)


def _humanise(value: str) -> str:
    text = value.replace("-", " ").replace("_", " ")
    return text[:1].upper() + text[1:]


def _too_few(result: dict[str, Any]) -> bool:
    return any(w["kind"] == "small-n" for w in result.get("warnings", ()))


def _nexus_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per nexus seen in either window: current figures, the previous share, the test."""
    total = result["incidents"]
    too_few = _too_few(result)
    current = {r["nexus"]: r for r in result["by_nexus"]}
    colours = charts.nexus_colours(result)
    # This window's nexuses in the chart's order, then those seen only before, unknown last.
    position = {r["nexus"]: i for i, r in enumerate(result["by_nexus"])}
    changes = sorted(
        result["previous_window"]["changes"],
        key=lambda c: (
            c["nexus"] == "unknown",
            position.get(c["nexus"], len(position)),
            -c["previous_count"],
        ),
    )
    rows = []
    for change in changes:
        nexus = change["nexus"]
        row = current.get(nexus)
        low, high = row["ci95"] if row else wilson_interval(0, total)
        rows.append(
            {
                "nexus": nexus,
                "name": charts.nexus_name(nexus),
                "colour": colours.get(charts.nexus_name(nexus), colours[charts.OTHER]),
                "count": fmt_count(change["count"]),
                "share": "too few to estimate" if too_few else fmt_pct(change["share"]),
                "ci": f"{fmt_pct(low)}–{fmt_pct(high)}" if total and not too_few else "–",
                "previous_count": fmt_count(change["previous_count"]),
                "previous_share": fmt_pct(change["previous_share"]),
                "change": _signed(change["change_pp"], ".1f") + " pp",
                "direction": "up"
                if change["change_pp"] > 0
                else ("down" if change["change_pp"] < 0 else ""),
                "p_value": fmt_p(change["p_value"]),
                "p_holm": fmt_p(change.get("p_holm")),
                "significant": change["significant"],
            }
        )
    return rows


def _trend_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    colours = charts.nexus_colours(result)
    return [
        {"name": name, "colour": colours[name], "counts": [fmt_count(n) for n in counts]}
        for name, counts in charts.grouped_trend(result).items()
    ]


def _filters(result: dict[str, Any]) -> list[tuple[str, str]]:
    filters = result["filters"]
    shown = [
        ("Actors", ", ".join(_humanise(c) for c in filters["actor_categories"])),
        ("Counting", "fractional (1/k per nexus)" if filters["count"] == "fractional" else "any"),
    ]
    if filters.get("sector"):
        shown.append(("Victim sector", sectors().label(filters["sector"])))
    if filters.get("victim_region"):
        shown.append(("Victim region", region_label(filters["victim_region"])))
    if filters.get("victim_country"):
        shown.append(("Victim country", country_name(filters["victim_country"])))
    if filters.get("sources"):
        shown.append(("Sources", ", ".join(filters["sources"])))
    return shown


def _key_figures(result: dict[str, Any]) -> list[dict[str, str]]:
    total = result["incidents"]
    previous = result["previous_window"]
    known = [r for r in result["by_nexus"] if r["nexus"] != "unknown"]
    change = previous["incidents_change"]
    figures = [
        {"value": str(total), "label": "incidents in the window"},
        {
            "value": _signed(change, "d") if previous["incidents"] else "–",
            "label": f"vs {previous['incidents']} in the previous window "
            f"(p = {fmt_p(previous['incidents_p_value'])})",
        },
    ]
    if known and not _too_few(result):
        top = known[0]
        figures.append(
            {
                "value": fmt_pct(top["share"], 0),
                "label": f"{charts.nexus_name(top['nexus'])}, the largest nexus "
                f"(95% CI {fmt_pct(top['ci95'][0], 0)}–{fmt_pct(top['ci95'][1], 0)})",
            }
        )
    lacking = result["coverage"]["lacking"]["nexus"]
    if total:
        figures.append(
            {
                "value": fmt_pct((total - lacking) / total, 0),
                "label": "of incidents have a known nexus",
            }
        )
    return figures


def _ranked(
    rows: list[dict[str, Any]], total: int, name: str, extra: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    return [
        {
            "name": row[name] or "–",
            "count": fmt_count(row["count"]),
            "share": _share(row["count"], total),
            **{key: row.get(key) for key in extra},
        }
        for row in rows[:_TOP]
    ]


def _scope(result: dict[str, Any]) -> list[str]:
    """What the figures rest on, in sentences for the first page: sources, n, the largest gaps."""
    total = result["incidents"]
    notes = [
        f"{source['source']}: {source['incidents']:,} incidents in the knowledge base, dated "
        f"{source.get('first') or '?'} to {source.get('last') or '?'}."
        for source in result["sources"]
    ]
    if not notes:
        notes.append("No incident source has been imported into this knowledge base.")
    if total:
        gaps = [
            f"{_GAPS.get(key, _humanise(key))} ({_share(n, total)} of incidents)"
            for key, n in result["coverage"]["lacking"].items()
            if n / total >= 0.25
        ]
        if gaps:
            notes.append(
                "Not recorded by the sources: " + "; ".join(gaps) + ". Those figures describe "
                "only the incidents that have them."
            )
    return notes


def _cves(result: dict[str, Any]) -> list[dict[str, Any]]:
    total = result["incidents"]
    return [
        {
            "cve": row["cve"],
            "count": fmt_count(row["count"]),
            "share": _share(row["count"], total),
            "in_kev": row.get("in_kev", False),
            "kev_date_added": row.get("kev_date_added") or "–",
            "product": row.get("kev_product") or "–",
            "ransomware": row.get("known_ransomware_use") or "–",
            "actors": _exploiters(row.get("known_actors") or ()),
        }
        for row in result["exploited_cves"]["overall"][:_TOP]
    ]


def _exploiters(actors: Any, shown: int = 3) -> str:
    """"APT41 (CN), APT29 (RU) +2": the actors the knowledge base links to a CVE."""
    names = [f"{a['name']} ({a['nexus']})" if a.get("nexus") else a["name"] for a in actors]
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more or "–"


def _coverage(result: dict[str, Any]) -> list[dict[str, str]]:
    total = result["incidents"]
    return [
        {
            "figure": _LACKING.get(key, _humanise(key)),
            "lacking": fmt_count(count),
            "share": _share(count, total),
        }
        for key, count in result["coverage"]["lacking"].items()
    ]


def _credits(credits: list[SourceCredit]) -> list[dict[str, Any]]:
    return [
        {
            "name": credit.name,
            "citation": credit.citation or _NOT_DECLARED,
            "licence": credit.licence or _NOT_DECLARED,
            "edition": credit.edition,
            "file": credit.file,
            "imported": credit.imported,
            "public": credit.public,
        }
        for credit in credits
    ]


def _selection(credits: list[SourceCredit]) -> str:
    """What the incident figures can and cannot stand for, given how sources pick incidents."""
    specific = [f"{credit.selection}." for credit in credits if credit.selection]
    return " ".join(
        [
            "These figures count publicly reported incidents only, as the sources selected "
            "them: an incident never detected, never disclosed or outside a source's scope is "
            "not counted, so the shares describe what was reported and recorded, which favours "
            "well-covered victims, regions and actors, not all cyber activity.",
            *specific,
        ]
    )


def _sources(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **source,
            "file": PurePath(source["latest_file"]).name if source.get("latest_file") else "–",
            "first": source.get("first") or "–",
            "last": source.get("last") or "–",
        }
        for source in result["sources"]
    ]


def _inferred(inferred: dict[str, Any] | None) -> dict[str, Any] | None:
    """Unattributed incidents at their inferred nexus (`landscape --infer-nexus`), if asked for."""
    if not inferred:
        return None
    return {
        "incidents": inferred["incidents"],
        "unknown": f"{inferred['expected_unknown']:.1f}",
        "rows": [
            {
                "name": country_name(row["nexus"]),
                "expected": f"{row['expected']:.1f}",
                "share": fmt_pct(row["share"]),
            }
            for row in inferred["expected_by_nexus"][:_TOP]
        ],
    }


def _marking(marking: Tlp) -> dict[str, str]:
    return {
        "key": marking.key,
        "label": marking.label,
        "colour": marking.colour,
        "definition": marking.definition,
    }


def build_context(
    result: dict[str, Any],
    marking: Tlp | None = None,
    credits: list[SourceCredit] | None = None,
) -> dict[str, Any]:
    """`marking` defaults to TLP:CLEAR and `credits` to what the source definitions say about
    the result's incident sources; the CLI passes both as read from the knowledge base."""
    if credits is None:
        credits = registry_credits([source["source"] for source in result["sources"]])
    total = result["incidents"]
    previous = result["previous_window"]
    techniques = [
        {**row, "name": row.get("name") or row["technique"]}
        for row in result["initial_access"]["overall"]
    ]
    return {
        "title": report_title(result["filters"]["actor_categories"]),
        "marking": _marking(marking or LEVELS["clear"]),
        "credits": _credits(credits),
        "selection": _selection(credits),
        "window": result["window"],
        "window_label": result["window_label"],
        "previous": previous,
        "previous_p": fmt_p(previous["incidents_p_value"]),
        "incidents_change": _signed(previous["incidents_change"], "d"),
        "incidents": total,
        "filters": _filters(result),
        "fractional": result["filters"]["count"] == "fractional",
        "headline": result["headline"],
        "warnings": result.get("warnings", []),
        "key_figures": _key_figures(result),
        "scope": _scope(result),
        "nexus_rows": _nexus_rows(result),
        "charts": {
            "nexus_shares": charts.nexus_shares_svg(result),
            "trend": charts.trend_svg(result),
            "sector_heatmap": charts.sector_heatmap_svg(result),
            "regions": charts.regions_svg(result),
        },
        "trend_rows": _trend_rows(result),
        "trend_quarters": [
            {"quarter": q["quarter"], "incidents": q["incidents"]} for q in result["trend"]
        ],
        "sectors": _ranked(result["sectors"]["overall"], total, "label"),
        "incident_types": [
            {**row, "name": _humanise(row["name"])}
            for row in _ranked(result["incident_types"]["overall"], total, "type")
        ],
        "initial_access": _ranked(techniques, total, "name", ("attack_id",)),
        "cves": _cves(result),
        "coverage": _coverage(result),
        "unmapped": {key: values[:_TOP] for key, values in result["unmapped"].items()},
        "unmapped_more": {
            key: max(0, len(values) - _TOP) for key, values in result["unmapped"].items()
        },
        "sources": _sources(result),
        "inferred": _inferred(result.get("inferred")),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
    }
