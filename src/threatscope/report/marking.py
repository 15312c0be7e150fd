"""The report's Traffic Light Protocol marking (FIRST TLP 2.0): the five labels, their colours and
wording, the TLP markings the knowledge base holds, and the rule that picks the report's level.

The rule (README, "The report"): a level chosen with `--tlp` is never silently changed; if the
knowledge base holds objects marked stricter than it, the report is refused (exit 2), because a
report mixing them could pass on what its sources did not allow. Without `--tlp` the marking is
the strictest of: TLP:CLEAR when every source is public (the shipped importers all are), TLP:AMBER
when a source is not known to be public (a table, STIX bundle or extract import), and the
strictest TLP marking any object in the knowledge base carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from threatscope.errors import ParameterError
from threatscope.report.provenance import SourceCredit, source_credits
from threatscope.stix.tlp import MARKING_LEVELS as _MARKING_IDS
from threatscope.stix.tlp import PRIVATE_DEFAULT as _PRIVATE_DEFAULT
from threatscope.stix.tlp import definition_level as _definition_level
from threatscope.store.queries import Analytics

__all__ = [
    "LEVELS",
    "Tlp",
    "choose_marking",
    "parse_tlp",
    "report_marking",
    "stored_markings",
]


@dataclass(frozen=True)
class Tlp:
    """One TLP 2.0 label. `rank` grows with strictness; `colour` is FIRST's, for the label text
    on black."""

    key: str
    rank: int
    colour: str
    definition: str

    @property
    def label(self) -> str:
        return f"TLP:{self.key.upper()}"


# Wording and colours as FIRST's TLP 2.0 standard gives them (https://www.first.org/tlp/).
LEVELS: dict[str, Tlp] = {
    tlp.key: tlp
    for tlp in (
        Tlp(
            "clear",
            0,
            "#FFFFFF",
            "Recipients can spread this to the world, there is no limit on disclosure.",
        ),
        Tlp(
            "green",
            1,
            "#33FF00",
            "Limited disclosure, recipients can spread this within their community.",
        ),
        Tlp(
            "amber",
            2,
            "#FFC000",
            "Limited disclosure, recipients can only spread this on a need-to-know basis within "
            "their organization and its clients.",
        ),
        Tlp(
            "amber+strict",
            3,
            "#FFC000",
            "Limited disclosure, recipients can only spread this on a need-to-know basis within "
            "their organization. TLP:AMBER+STRICT restricts sharing to the organization only.",
        ),
        Tlp(
            "red",
            4,
            "#FF2B2B",
            "For the eyes and ears of individual recipients only, no further disclosure.",
        ),
    )
}

def parse_tlp(text: str) -> Tlp:
    """`clear`, `TLP:AMBER+STRICT`, … (any case); anything else is a ParameterError naming
    them."""
    key = text.strip().lower().removeprefix("tlp:")
    if key not in LEVELS:
        reason = f"{text!r} is not a TLP 2.0 level; use one of: {', '.join(LEVELS)}"
        raise ParameterError(f"tlp {reason}", f"--tlp {reason}")
    return LEVELS[key]


def stored_markings(db: Analytics) -> dict[str, int]:
    """TLP level -> how many current objects carry it (object or granular marking)."""
    levels = dict(_MARKING_IDS)
    for definition in db.marking_definitions():
        level = _definition_level(definition)
        if level is not None:
            levels.setdefault(definition["id"], "clear" if level == "white" else level)
    counts: dict[str, int] = {}
    for ref, count in db.marking_ref_counts():
        level = levels.get(ref) if ref is not None else None
        if level in LEVELS:
            counts[level] = counts.get(level, 0) + count
    return counts


def choose_marking(
    requested: Tlp | None, markings: dict[str, int], private_sources: list[str]
) -> Tlp:
    """The report's level (module docstring). `markings`: stored_markings(); `private_sources`:
    the sources not known to be public, by name."""
    strictest = max((LEVELS[key] for key in markings), key=lambda t: t.rank, default=None)
    if requested is not None:
        if strictest is not None and strictest.rank > requested.rank:
            held = f"the knowledge base holds {markings[strictest.key]} object(s) marked "
            held += f"{strictest.label}, stricter than"
            looser = "" if strictest.key == "red" else " or stricter"
            raise ParameterError(
                f"{held} tlp={requested.key!r}; pass tlp={strictest.key!r}{looser}",
                f"{held} --tlp {requested.key}; pass --tlp {strictest.key}{looser}",
            )
        return requested
    floor = LEVELS[_PRIVATE_DEFAULT] if private_sources else LEVELS["clear"]
    return max(filter(None, (floor, strictest)), key=lambda t: t.rank)


def report_marking(db: Analytics, requested: Tlp | None) -> tuple[Tlp, list[SourceCredit]]:
    """The marking for a report on the knowledge base `db`, and the sources it credits."""
    credits = source_credits(db)
    private = [credit.name for credit in credits if not credit.public]
    return choose_marking(requested, stored_markings(db), private), credits
