"""Actors a report itself holds responsible ("linked to UNC5221"), as attribution evidence.

`extract` finds every actor a report names. Most are named in passing ("unlike APT28, …",
"as APT41 did in 2020"): that is no evidence. A mention counts only when it stands in an
attribution phrase: "linked to X", "attributed to X", "tied to X", "tracked as X", "we assess
(with moderate confidence) that X …", "carried out by X", "X is (likely) behind/responsible",
and no negation or contrast comes right before it ("not linked to X", "unlike X"). A rule, not
a model: like the victim rule, it errs towards leaving a name out.

Weight. A report's own attribution is an analyst's judgement made on more than the report
shows (telemetry, infrastructure, history), so it is strong evidence, but not proof: vendors
disagree and err, and a vendor's cluster name maps onto our resolved actors imperfectly. It
enters as a likelihood ratio set a priori for the named actor (1 for every other one), not
tempered by the calibration, as IOC matches are not (`calibrate.posterior`):

    NAMED_LR = P(phrase names X | X did it) / P(phrase names X | X did not) = 200

The numerator is near 1 for a report that attributes at all; the denominator is a vendor's
error rate (a few per cent) shared among the few actors it could have confused X with. 200 is
"very strong" on Kass and Raftery's scale of Bayes factors (> 150), and four times an exact
infrastructure match (`Params.ioc_match` = 50), which one shared server can produce. With the
shipped calibration (unknown/other logit 4.38) a named actor and no other evidence comes out
at 0.71, "likely", not "almost certain": the knowledge base has not confirmed anything yet,
and evidence that points clearly at another actor can still outweigh the report's word. On
AnnoCTR train+dev the phrase rule fires in 5 of 48 reports that link a group; 3 of its 7
names are the group the annotators linked most, and the other 4 are attributions the reports
do make (GC01/GC02 against Cobalt Group, TA543) that ATT&CK files under another name or none.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["NAMED_LLR", "NAMED_LR", "STATED_NEXUS_LLR", "STATED_NEXUS_LR", "named_actors"]

NAMED_LR = 200.0
NAMED_LLR = math.log(NAMED_LR)
# The nexus a report states for its actor ("a China-based group", extract/stated_nexus.py):
# P(the report says China | a China-nexus actor did it) / P(it says so | another did it). Set
# a priori like NAMED_LR, an order of magnitude below it: a stated nexus is the same kind of
# vendor judgement, but it is coarser (it picks out dozens of actors, not one) and it is said
# in passing more often. 20 is "strong" on Kass and Raftery's scale (20 to 150).
STATED_NEXUS_LR = 20.0
STATED_NEXUS_LLR = math.log(STATED_NEXUS_LR)

_GROUP_NOUN = (
    r"(?:(?:the|a)\s+)?(?:(?:threat|apt|ransomware|espionage)\s+)?"
    r"(?:actor|group|cluster|operators?|gang)?\s*"
)
# Right before the mention: "linked to (the group) X", "tracked as X", "we assess that X".
_BEFORE = re.compile(
    r"(?:\b(?:linked|link|links|attribut\w*|tied|ties|connected|assigned|credited|associated)"
    r"\s+(?:\w+\s+){0,4}?(?:to|with)"
    r"|\btrack(?:s|ed|ing)?\s+(?:\w+\s+){0,3}?as"
    r"|\b(?:conducted|carried\s+out|perpetrated|orchestrated|operated|launched)\s+by"
    r"|\bwe\s+(?:\w+\s+)?(?:assess|believe|judge|attribute|conclude)\w*"
    r"(?:\s+with\s+\w+\s+confidence)?(?:\s+that)?)\s+" + _GROUP_NOUN + r"$",
    re.IGNORECASE,
)
# Right after it: "X is (likely) behind", "X was responsible".
_AFTER = re.compile(
    r"^[\s,]*(?:(?:is|was|are|were)\s+(?:\w+\s+){0,2}?(?:behind|responsible)|claimed)\b",
    re.IGNORECASE,
)
# Before it, in the same clause: the phrase is denied or contrasted.
_DENIED = re.compile(
    r"\b(?:not|no|never|n't|unlike|rather\s+than|instead\s+of|unrelated|distinct|"
    r"different|ruled\s+out|neither|nor|mistaken\w*|wrongly|falsely|erroneously)\b[^.;:]*$",
    re.IGNORECASE,
)


def named_actors(actors: list[dict[str, Any]]) -> dict[str, str]:
    """Actor id -> the name as the report wrote it, for the `extract` summary's actors with a
    mention in an attribution phrase."""
    found: dict[str, str] = {}
    for actor in actors:
        code = actor.get("id")
        if not isinstance(code, str):
            continue
        for mention in actor.get("mentions") or ():
            if isinstance(mention, dict) and _attributes(mention):
                found.setdefault(code, str(mention.get("text") or actor.get("name") or code))
    return found


def _attributes(mention: dict[str, Any]) -> bool:
    sentence, text = str(mention.get("sentence") or ""), str(mention.get("text") or "")
    at = sentence.find(text) if text else -1
    if at < 0:
        return False
    before = sentence[max(0, at - 80) : at]
    after = sentence[at + len(text) : at + len(text) + 60]
    if not (_BEFORE.search(before) or _AFTER.match(after)):
        return False
    return not _DENIED.search(before)
