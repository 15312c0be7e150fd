"""The landscape as rich tables in a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from threatscope.console import styled

__all__ = ["print_attribution", "print_evaluation", "print_extraction", "print_landscape"]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def print_landscape(console: Console, result: dict[str, Any]) -> None:
    filters = result["filters"]
    shown = {k: v for k, v in filters.items() if v and k not in ("sources",)}
    console.print(
        styled(
            "[bold]Landscape[/] {} .. {}  ({}), {} incidents; {}",
            result["window"]["start"],
            result["window"]["end"],
            result["window_label"],
            result["incidents"],
            ", ".join(f"{k}={'+'.join(v) if isinstance(v, list) else v}" for k, v in shown.items()),
        )
    )
    warnings = result.get("warnings", [])
    for warning in warnings:
        console.print(
            styled("[yellow]! {}:[/] {}", warning["kind"], warning["message"]), highlight=False
        )
    for sentence in result["headline"]:
        console.print(f"  • {sentence}", highlight=False)
    too_few = any(w["kind"] == "small-n" for w in warnings)
    table = Table(title="Share by nexus", title_justify="left")
    for column in ("nexus", "incidents", "share", "95% CI", "before", "change", "p", "p (Holm)"):
        table.add_column(column, justify="left" if column == "nexus" else "right")
    changes = {c["nexus"]: c for c in result["previous_window"]["changes"]}
    for row in result["by_nexus"]:
        change = changes.get(row["nexus"], {})
        p_value, p_holm = change.get("p_value"), change.get("p_holm")
        table.add_row(
            row["label"],
            f"{row['count']:g}",
            "too few to estimate" if too_few else _pct(row["share"]),
            "" if too_few else f"{_pct(row['ci95'][0])}–{_pct(row['ci95'][1])}",
            _pct(change.get("previous_share", 0.0)),
            f"{change.get('change_pp', 0.0):+.1f} pp" + (" *" if change.get("significant") else ""),
            "" if p_value is None else f"{p_value:.3f}",
            "" if p_holm is None else f"{p_holm:.3f}",
        )
    console.print(table)
    previous = result["previous_window"]
    console.print(
        f"Previous window {previous['window']['start']} .. {previous['window']['end']}: "
        f"{previous['incidents']} incidents (p = {previous['incidents_p_value']}); "
        "* = significant at Holm-adjusted p < 0.05"
    )
    trend = Table(title="Quarterly trend (incidents; top nexuses)", title_justify="left")
    trend.add_column("quarter")
    trend.add_column("incidents", justify="right")
    trend.add_column("by nexus")
    for quarter in result["trend"]:
        top = list(quarter["by_nexus"].items())[:4]
        trend.add_row(
            quarter["quarter"],
            str(quarter["incidents"]),
            ", ".join(f"{n} {v['count']:g}" for n, v in top),
        )
    console.print(trend)
    for title, key, field in (
        ("Top victim sectors", "sectors", "label"),
        ("Victim regions", "victim_regions", "label"),
        ("Incident types", "incident_types", "type"),
        ("Initial access", "initial_access", "name"),
        ("Exploited CVEs", "exploited_cves", "cve"),
    ):
        rows = result[key]["overall"][:8]
        if rows:
            console.print(
                styled(
                    "[bold]{}:[/] {}", title, ", ".join(f"{r[field]} {r['count']}" for r in rows)
                ),
                highlight=False,
            )
    exploited = [r for r in result["exploited_cves"]["overall"][:8] if r.get("known_actors")]
    if exploited:
        console.print(
            styled(
                "[bold]Known exploiters:[/] {}",
                "; ".join(
                    f"{r['cve']} {', '.join(a['name'] for a in r['known_actors'][:3])}"
                    for r in exploited
                ),
            ),
            highlight=False,
        )
    inferred = result.get("inferred")
    if inferred:
        console.print(
            styled(
                "[bold]Inferred nexus[/] of {} unattributed incidents"
                " (expected counts, not in the shares above): {}; unknown {}",
                inferred["incidents"],
                ", ".join(
                    f"{row['nexus']} {row['expected']:.1f}"
                    for row in inferred["expected_by_nexus"][:8]
                ),
                f"{inferred['expected_unknown']:.1f}",
            ),
            highlight=False,
        )
    lacking = result["coverage"]["lacking"]
    console.print(
        styled(
            "[dim]Lacking data (of {}): {}[/]",
            result["incidents"],
            ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in lacking.items()),
        )
    )


def print_extraction(console: Console, summary: dict[str, Any]) -> None:
    characters = f"{summary['characters']:,}"
    console.print(styled("[bold]{}[/] ({} characters)", summary["file"], characters))
    iocs = Table(title=f"{len(summary['iocs'])} indicators", title_justify="left")
    for column in ("type", "value", "warning lists"):
        # An indicator is shown whole, folded rather than cut: an ellipsis can hide the part
        # that tells two values apart.
        iocs.add_column(column, overflow="fold" if column == "value" else "ellipsis")
    for ioc in summary["iocs"][:40]:
        lists = ioc["warninglists"]
        flag = f"{lists[0]}" + (f" (+{len(lists) - 1})" if len(lists) > 1 else "") if lists else ""
        iocs.add_row(ioc["type"], ioc["value"], flag)
    if summary["iocs"]:
        console.print(iocs)
    if len(summary["iocs"]) > 40:
        console.print(f"… and {len(summary['iocs']) - 40} more (--json lists all)")
    if summary["cves"]:
        console.print(styled("[bold]CVEs:[/] {}", ", ".join(summary["cves"])), highlight=False)
    if not summary.get("prose_analysed", True):
        console.print(
            styled(
                "[bold]ATT&CK techniques:[/] the prose was not analysed for techniques (no trained"
                " model: run `threatscope train`); only ATT&CK ids written in the text are listed."
            ),
            highlight=False,
        )
    if summary["techniques"]:
        console.print(
            styled(
                "[bold]ATT&CK techniques[/] ({}): {}",
                summary["technique_model"],
                ", ".join(
                    f"{t['id']} {t.get('name') or ''} {t['confidence']:.2f}".replace("  ", " ")
                    for t in summary["techniques"][:25]
                ),
            ),
            highlight=False,
        )
    for key, title in (
        ("actors", "Actors"),
        ("malware", "Malware"),
        ("tools", "Tools"),
        ("sectors", "Victim sectors"),
        ("countries", "Countries"),
    ):
        if summary.get(key):
            console.print(
                styled(
                    "[bold]{}:[/] {}",
                    title,
                    ", ".join(f"{e['name']} ({e['count']})" for e in summary[key][:20]),
                ),
                highlight=False,
            )
    if summary.get("stored"):
        stored = summary["stored"]
        console.print(f"stored: {stored['added']} added, {stored['updated']} updated")


def print_attribution(console: Console, result: dict[str, Any]) -> None:
    term = result["estimative"]
    suffix = "" if result["verdict"].startswith(term) else f" ({term})"
    console.print(styled("[bold]{}[/]{}", result["verdict"], suffix), highlight=False)
    used = result.get("evidence_used", {})
    for named in result.get("named_actors") or ():
        shown = named["as_written"]
        also = f" ({named['name']})" if named["name"] != shown else ""
        console.print(f"the report attributes this to {shown}{also}", highlight=False)
    for kind, values in (used.get("unresolved") or {}).items():
        console.print(f"not in the knowledge base ({kind}): {', '.join(values)}", highlight=False)
    if not result["candidates"]:
        sources = result.get("knowledge_base") or {}
        lacking = [
            label
            for key, label in (("attack", "ATT&CK"), ("misp_galaxy", "the MISP galaxy"))
            if not sources.get(key, False)
        ]
        hint = (
            f" (the knowledge base lacks {' and '.join(lacking)}: `threatscope sync`)"
            if lacking
            else ": no actor is known to use, target or hold any of it"
        )
        console.print(f"No actor in the knowledge base can be assessed on this evidence{hint}.")
        return
    nexus = ", ".join(f"{n['nexus']} {_pct(n['probability'])}" for n in result["nexus"][:6])
    nexus = nexus or "no candidate has a known nexus"
    console.print(f"nexus: {nexus}; unknown/other {_pct(result['unknown'])}", highlight=False)
    table = Table(title="Candidates", title_justify="left")
    for column in ("actor", "nexus", "probability", "strongest evidence"):
        table.add_column(column, justify="right" if column == "probability" else "left")
    for candidate in result["candidates"]:
        # Only what the user (or the report) gave: implied items explain, they are not evidence.
        given = [e for e in candidate["evidence"] if e.get("given", True)]
        evidence = sorted(given, key=lambda e: -e["weight"])[:3]
        table.add_row(
            candidate["name"],
            candidate["nexus"] or "?",
            _pct(candidate["probability"]),
            "; ".join(_evidence_cell(e) for e in evidence),
        )
    console.print(table)


def _evidence_cell(evidence: dict[str, Any]) -> str:
    if evidence["kind"] == "named":
        return f"{evidence['why']} ({evidence['weight']:+.1f})"
    return f"{evidence['kind']} {evidence['value']} ({evidence['weight']:+.1f})"


def print_evaluation(console: Console, result: dict[str, Any]) -> None:
    keys = ("n", "top1", "top3", "nexus_accuracy", "ece", "brier")
    table = Table(title=f"Evaluation: {result['dataset']}", title_justify="left")
    table.add_column("")
    for key in keys:
        table.add_column(key, justify="right")

    def cells(row: dict[str, Any]) -> list[str]:
        return [str(row[k]) if k == "n" else f"{row[k]:.3f}" for k in keys]

    table.add_row("all", *cells(result))
    for seed in result.get("per_seed", ()):
        if len(result.get("per_seed", ())) > 1:
            table.add_row(f"seed {seed['seed']}", *cells(seed))
    console.print(table)
    baseline = result.get("baseline_jaccard")
    if baseline:
        console.print(
            "baseline (Jaccard overlap): "
            + ", ".join(f"{k} {v:.3f}" for k, v in baseline.items() if isinstance(v, float)),
            highlight=False,
        )
    majority = result.get("baseline_majority_nexus")
    if majority and majority["nexus"]:
        console.print(
            f"baseline (always {majority['nexus']}): nexus_accuracy"
            f" {majority['nexus_accuracy']:.3f}",
            highlight=False,
        )
