"""`landscape --infer-nexus`: incidents nobody attributed, counted at their inferred nexus.

An incident in the window (and the victim filters) with no stated nexus — its initiators are
unattributed (category unknown) or of a counted category with no country or actor to say which
state; an incident a source put down to hacktivists or criminals is not re-guessed — is given to
the attribution engine with what the incident itself records: victim sectors and countries, initial
access techniques, exploited CVEs and its date. The engine's nexus probabilities are summed into
expected counts. They are reported beside, never mixed into, the stated shares: an inference from
victimology is a prior, not an attribution.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from threatscope.days import date_of, day_of
from threatscope.landscape.selection import Filters, victim_filter
from threatscope.landscape.window import Window
from threatscope.store.queries import Analytics

__all__ = ["inferred_nexus"]


def _unattributed(db: Analytics, window: Window, filters: Filters) -> dict[int, dict[str, Any]]:
    rows = db.unattributed_incidents(
        day_of(window.start),
        day_of(window.end),
        victim_filter(filters),
        ["unknown", *filters.actor_categories],
    )
    incidents: dict[int, dict[str, Any]] = {
        fact: {"day": day, "sectors": set(), "countries": set(), "techniques": set(), "cves": set()}
        for fact, day in rows
    }
    if not incidents:
        return incidents
    victims, labels = db.incident_victims_and_labels(list(incidents))
    for fact, sector, country in victims:
        if sector:
            incidents[fact]["sectors"].add(sector)
        if country:
            incidents[fact]["countries"].add(country)
    for fact, kind, value in labels:
        incidents[fact]["techniques" if kind == "technique" else "cves"].add(value)
    return incidents


def inferred_nexus(store: Any, db: Analytics, window: Window, filters: Filters) -> dict[str, Any]:
    from threatscope.attribution import attribute, make_evidence

    incidents = _unattributed(db, window, filters)
    expected: dict[str, float] = defaultdict(float)
    unknown = 0.0
    cache: dict[tuple, dict[str, Any]] = {}
    for facts in incidents.values():
        month = date_of(facts["day"]).strftime("%Y-%m")
        key = (
            tuple(sorted(facts["sectors"])),
            tuple(sorted(facts["countries"])),
            tuple(sorted(facts["techniques"])),
            tuple(sorted(facts["cves"])),
            month[:4],
        )
        if key not in cache:
            evidence = make_evidence(
                techniques=list(key[2]),
                cves=list(key[3]),
                sectors=list(key[0]),
                victim_countries=list(key[1]),
                first_seen=month,
            )
            cache[key] = attribute(store, evidence, top=1)
        result = cache[key]
        for row in result["nexus"]:
            expected[row["nexus"]] += row["probability"]
        unknown += 1 - sum(row["probability"] for row in result["nexus"])
    total = len(incidents)
    return {
        "incidents": total,
        "distinct_evidence": len(cache),
        "expected_by_nexus": [
            {
                "nexus": nexus,
                "expected": round(count, 3),
                "share": round(count / total, 6) if total else 0.0,
            }
            for nexus, count in sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))
            if count >= 0.05
        ],
        "expected_unknown": round(unknown, 3),
        "method": "expected counts: each unattributed incident adds the attribution engine's"
        " nexus probabilities given its victim sectors and countries, access techniques, CVEs"
        " and year; shown separately from stated attribution",
    }
