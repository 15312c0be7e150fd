"""`landscape()`: every figure of a landscape report as one JSON-ready dict.

Counting unit is the incident. Shares are of the incidents in the window that pass the filters
(victim sector/region/country, actor category); with `count="any"` an incident with two nexuses
counts fully under each (shares can sum past 100%), with `count="fractional"` it counts 1/k under
each. Intervals are 95% Wilson; the change against the previous window is a Fisher exact test per
nexus and an exact binomial test for the incident count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from threatscope.actors.cves import links_by_actor
from threatscope.countries import country_name
from threatscope.days import date_of, day_of
from threatscope.landscape.checks import data_warnings
from threatscope.landscape.dates import latest_valid_day, source_dates
from threatscope.landscape.selection import Filters, check_sources, select
from threatscope.landscape.stats import compare_counts, compare_shares, holm, wilson_interval
from threatscope.landscape.window import Window, comparison_windows, parse_window
from threatscope.nexus import nexus_label
from threatscope.store.queries import Analytics
from threatscope.taxonomy import country_regions, region_label, sectors

__all__ = ["landscape"]

_TOP = 10


def landscape(
    db: Analytics,
    filters: Filters | None = None,
    window: str | None = None,
    ending: str | None = None,
    months: int = 12,
    trend_quarters: int = 8,
    infer_nexus_with: Any = None,
    min_n: int = 10,
) -> dict[str, Any]:
    """Every figure of the landscape of `db` (a store). `infer_nexus_with`: the store to
    attribute unattributed incidents against (adds "inferred"; see landscape.inferred). Below
    `min_n` incidents no headline is written."""
    filters = filters or Filters()
    check_sources(db, filters)
    dates = source_dates(db)
    # Placeholder and after-the-export dates never choose the default window.
    current = parse_window(window, ending, months, latest_valid_day(dates))
    previous, quarters = comparison_windows(current, trend_quarters)
    select(db, min(previous.start, quarters[0].start), current.end, filters)
    _prepare_lookups(db)
    db.landscape_window(*_range(current))
    try:
        weighted = filters.count == "fractional"
        total, by_nexus = _nexus_counts(db, current, weighted)
        before_total, before = _nexus_counts(db, previous, weighted)
        result: dict[str, Any] = {
            "window": current.as_dict(),
            "window_label": current.describe(),
            "filters": filters.as_dict(),
            "incidents": total,
            "by_nexus": _shares(by_nexus, total),
            "previous_window": _previous(previous, before_total, before, total, by_nexus),
            "trend": _trend(db, quarters, weighted),
            "sectors": _breakdown(db, "sector"),
            "victim_regions": _breakdown(db, "region"),
            "incident_types": _labels(db, "type", "type"),
            "initial_access": _techniques(db),
            "exploited_cves": _cves(db),
            "coverage": _coverage(db, total),
            "unmapped": _unmapped(db),
            "sources": _sources(db),
        }
        if infer_nexus_with is not None:
            from threatscope.landscape.inferred import inferred_nexus

            result["inferred"] = inferred_nexus(infer_nexus_with, db, current, filters)
        result["warnings"] = data_warnings(
            db, filters, current, result["window_label"], total, min_n, dates
        )
        result["headline"] = headline(result)
        return result
    finally:
        db.end_landscape()


def _range(window: Window) -> tuple[int, int]:
    return day_of(window.start), day_of(window.end)


def _nexus_counts(db: Analytics, window: Window, weighted: bool) -> tuple[int, dict[str, float]]:
    total, rows = db.landscape_nexus_counts(*_range(window), weighted)
    return total, {nexus: (round(n, 6) if weighted else n) for nexus, n in rows}


def _order(counts: dict[str, float]) -> list[str]:
    # Largest first; `unknown` last whatever its size, since it is missing data, not a nexus.
    return sorted(counts, key=lambda n: (n == "unknown", -counts[n], n))


def _shares(counts: dict[str, float], total: int) -> list[dict[str, Any]]:
    rows = []
    for nexus in _order(counts):
        count = counts[nexus]
        low, high = wilson_interval(count, total)
        rows.append(
            {
                "nexus": nexus,
                "label": nexus_label(nexus),
                "count": count,
                "share": round(count / total, 6) if total else 0.0,
                "ci95": [round(low, 6), round(high, 6)],
            }
        )
    return rows


def _previous(
    window: Window,
    total: int,
    counts: dict[str, float],
    now_total: int,
    now_counts: dict[str, float],
) -> dict[str, Any]:
    changes: list[dict[str, Any]] = []
    p_values: list[float | None] = []
    for nexus in _order({**counts, **now_counts}):
        now, before = now_counts.get(nexus, 0), counts.get(nexus, 0)
        p_value = compare_shares(now, now_total, before, total)
        p_values.append(p_value)
        now_share = now / now_total if now_total else 0.0
        before_share = before / total if total else 0.0
        changes.append(
            {
                "nexus": nexus,
                "count": now,
                "previous_count": before,
                "share": round(now_share, 6),
                "previous_share": round(before_share, 6),
                "change_pp": round(100 * (now_share - before_share), 2),
                "p_value": None if p_value is None else round(p_value, 6),
            }
        )
    # One test per nexus: Holm keeps the chance of any false "significant" among them at 5%.
    for change, adjusted in zip(changes, holm(p_values), strict=True):
        change["p_holm"] = None if adjusted is None else round(adjusted, 6)
        change["significant"] = adjusted is not None and adjusted < 0.05
    p_total = compare_counts(now_total, total)
    return {
        "window": window.as_dict(),
        "incidents": total,
        "by_nexus": _shares(counts, total),
        "incidents_change": now_total - total,
        "incidents_p_value": None if p_total is None else round(p_total, 6),
        "changes": changes,
        "test": "Fisher exact test per nexus share, p_value raw and p_holm adjusted for the"
        " number of nexuses tested (Holm); significant at p_holm < 0.05; exact binomial test for"
        " the incident count",
    }


def _trend(db: Analytics, quarters: list[Window], weighted: bool) -> list[dict]:
    lo, hi = day_of(quarters[0].start), day_of(quarters[-1].end)
    by_day, facts_by_day = db.landscape_day_counts(lo, hi, weighted)
    trend = []
    for quarter in quarters:
        q_lo, q_hi = _range(quarter)
        counts: dict[str, float] = defaultdict(float)
        for day, nexus, n in by_day:
            if q_lo <= day <= q_hi:
                counts[nexus] += n
        total = sum(n for day, n in facts_by_day.items() if q_lo <= day <= q_hi)
        trend.append(
            {
                "quarter": f"{quarter.start.year}-Q{(quarter.start.month - 1) // 3 + 1}",
                "start": quarter.start.isoformat(),
                "end": quarter.end.isoformat(),
                "incidents": total,
                "by_nexus": {
                    nexus: {
                        "count": round(counts[nexus], 6),
                        "share": round(counts[nexus] / total, 6) if total else 0.0,
                    }
                    for nexus in _order(counts)
                },
            }
        )
    return trend


def _prepare_lookups(db: Analytics) -> None:
    """Each sector's top-level sector and each country's continent, so breakdowns count
    distinct incidents per group where the data is."""
    taxonomy = sectors()
    rows = []
    for sector_id, sector in taxonomy.by_id.items():
        root = sector
        while root.parent:
            root = taxonomy.by_id[root.parent]
        rows.append((sector_id, root.id))
    db.landscape_lookups(
        rows, [(c, regions[0]) for c, regions in country_regions().items() if regions]
    )


def _breakdown(db: Analytics, key: Literal["sector", "region"]) -> dict[str, Any]:
    per_nexus, overall, nexus_totals = db.landscape_group_counts(key)
    label = sectors().label if key == "sector" else _region_label
    by_nexus: dict[str, list[dict[str, Any]]] = {}
    for (nexus, value), count in sorted(per_nexus.items(), key=lambda kv: (kv[0][0], -kv[1])):
        top = by_nexus.setdefault(nexus, [])
        if len(top) < _TOP:
            top.append(
                {
                    key: value,
                    "label": label(value),
                    "count": count,
                    "share": round(count / nexus_totals[nexus], 6),
                }
            )
    return {
        "overall": [
            {key: v, "label": label(v), "count": n}
            for v, n in sorted(overall.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "by_nexus": by_nexus,
    }


def _region_label(region: str) -> str:
    return region_label(region)


def _labels(db: Analytics, kind: str, key: str) -> dict[str, Any]:
    overall, per_nexus = db.landscape_label_counts(kind)
    by_nexus: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for nexus, value, count in per_nexus:
        by_nexus[nexus].append({key: value, "count": count})
    return {
        "overall": [{key: v, "count": n} for v, n in overall],
        "by_nexus": dict(by_nexus),
    }


def _techniques(db: Analytics) -> dict[str, Any]:
    figures = _labels(db, "technique", "technique")
    if not figures["overall"]:
        return figures
    # Facts hold the ATT&CK id wherever the knowledge base knew the technique.
    names = db.attack_technique_names()
    for row in [*figures["overall"], *(r for rows in figures["by_nexus"].values() for r in rows)]:
        known = row["technique"] in names
        row["attack_id"] = row["technique"] if known else None
        row["name"] = names[row["technique"]] if known else row["technique"]
    return figures


def _cves(db: Analytics) -> dict[str, Any]:
    figures = _labels(db, "cve", "cve")
    for row in figures["overall"]:
        kev = db.vulnerability_by_name(row["cve"]) or {}
        row["in_kev"] = "x_kev_date_added" in kev
        row["kev_date_added"] = kev.get("x_kev_date_added")
        row["kev_product"] = (
            " ".join(p for p in (kev.get("x_kev_vendor_project"), kev.get("x_kev_product")) if p)
            or None
        )
        row["known_ransomware_use"] = kev.get("x_kev_known_ransomware_campaign_use")
    _known_exploiters(db, figures["overall"])
    return figures


def _known_exploiters(db: Analytics, rows: list[dict[str, Any]]) -> None:
    """`known_actors` of each CVE row: the actors the knowledge base links to it, in any incident
    or none (ATT&CK, MISP, incidents, reports; actors/cves.py), most-cited first."""
    if not rows:
        return
    sources: dict[str, dict[str, int]] = defaultdict(dict)
    for actor, links in links_by_actor(db).items():
        for link in links:
            sources[link.cve][actor] = sources[link.cve].get(actor, 0) + 1
    actors = {actor_id: (name, nexus) for actor_id, name, nexus in db.actor_rows()}
    for row in rows:
        held = sources.get(row["cve"], {})
        row["known_actors"] = [
            {"id": a, "name": actors[a][0], "nexus": actors[a][1], "sources": n}
            for a, n in sorted(held.items(), key=lambda kv: (-kv[1], actors[kv[0]][0]))
            if a in actors
        ]


def _coverage(db: Analytics, total: int) -> dict[str, Any]:
    lacking = db.landscape_lacking()
    return {
        "incidents": total,
        "lacking": {
            "nexus": lacking["nexus"],
            "victim_sector": lacking["victim_sector"],
            "victim_country": lacking["victim_country"],
            "incident_type": lacking["type"],
            "initial_access": lacking["technique"],
            "exploited_cves": lacking["cve"],
        },
    }


def _unmapped(db: Analytics) -> dict[str, list[dict[str, Any]]]:
    """Source values no mapping placed, over the whole knowledge base (not just the window):
    victim sectors, victim countries and actor countries."""
    keys = {
        "unmapped-sector": "sectors",
        "unmapped-country": "countries",
        "unmapped-actor-country": "actor_countries",
    }
    rows = db.label_value_counts(list(keys))
    result: dict[str, list[dict[str, Any]]] = {key: [] for key in keys.values()}
    for kind, value, count in rows:
        result[keys[kind]].append({"value": value, "incidents": count})
    return result


def _sources(db: Analytics) -> list[dict[str, Any]]:
    rows = db.incident_source_summaries()
    files = {source: path for source, path, _ in db.changing_imports()}
    for source, *_ in rows:
        if source not in files:
            # A table's source is its mapping's `source =`, not the importer: ask an incident.
            found = db.incident_import_path(source)
            if found:
                files[source] = found

    def iso(day: int | None) -> str | None:
        return None if day is None else date_of(day).isoformat()

    return [
        {
            "source": source,
            "incidents": count,
            "dated": dated,
            "first": iso(first),
            "last": iso(last),
            "latest_file": files.get(source),
        }
        for source, count, dated, first, last in rows
    ]


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def headline(result: dict[str, Any]) -> list[str]:
    """Sentences a reader can quote, generated from the numbers; none when the warnings say
    the data cannot carry them (too few incidents), and no "there were none" when a filter
    asks for what the sources do not code."""
    kinds = {w["kind"] for w in result.get("warnings", ())}
    if "small-n" in kinds:
        return []
    filters = result["filters"]
    categories = filters["actor_categories"]
    who = (
        "state-sponsored"
        if set(categories) <= {"state", "state-affiliated"}
        else "/".join(categories)
    )
    target = ""
    if filters["sector"]:
        target = f" against {sectors().label(filters['sector']).lower()} targets"
    if filters["victim_country"]:
        target += f" in {country_name(filters['victim_country'])}"
    elif filters["victim_region"]:
        target += f" in {_region_label(filters['victim_region'])}"
    n = result["incidents"]
    sentences = []
    for row in [r for r in result["by_nexus"] if r["nexus"] != "unknown"][:3]:
        low, high = row["ci95"]
        sentences.append(
            f"{row['label'].replace('-nexus', '')}-nexus actors accounted for "
            f"{_percent(row['share'])} (95% CI {100 * low:.0f}–{100 * high:.0f}%) of {who} "
            f"incidents{target} in {result['window_label']}, n = {n}."
        )
    if not sentences and "granularity" not in kinds:
        sentences.append(
            f"No {who} incidents{target} with a known nexus in {result['window_label']} (n = {n})."
        )
    previous = result["previous_window"]
    moved = [c for c in previous["changes"] if c["significant"] and c["nexus"] != "unknown"]
    for change in moved[:2]:
        direction = "rose" if change["change_pp"] > 0 else "fell"
        sentences.append(
            f"The {nexus_label(change['nexus'])} share {direction} from "
            f"{_percent(change['previous_share'])} to {_percent(change['share'])} against the "
            f"window before ({previous['window']['start']} to {previous['window']['end']}; "
            f"Fisher exact p = {change['p_value']:.3f}, Holm-adjusted {change['p_holm']:.3f})."
        )
    return sentences
