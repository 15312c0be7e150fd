"""Actor categories: every source's wording -> state, state-affiliated, criminal, hacktivist or
unknown."""

from __future__ import annotations

__all__ = ["CATEGORIES", "STATE_CATEGORIES", "normalise_category"]

CATEGORIES = ("state", "state-affiliated", "criminal", "hacktivist", "unknown")
STATE_CATEGORIES = ("state", "state-affiliated")

_WORDING = {
    "state": "state",
    "state actor": "state",
    "nation-state": "state",
    "nation state": "state",
    "state-sponsored": "state-affiliated",
    "state sponsored": "state-affiliated",
    "state-affiliated": "state-affiliated",
    "state affiliated": "state-affiliated",
    "non-state actor, state-affiliation suggested": "state-affiliated",
    # EuRepoC sub-code: the group is widely held to be state-affiliated though this case's
    # attribution did not say so; analysts count these with the state-affiliated.
    "non-state-group, state-affiliation suggested (widely held view for the attributed "
    "initiator (group), but not invoked in this case)": "state-affiliated",
    "criminal": "criminal",
    "criminal(s)": "criminal",
    "cybercrime": "criminal",
    "cybercriminal": "criminal",
    "financially motivated": "criminal",
    "hacktivist": "hacktivist",
    "hacktivist(s)": "hacktivist",
    "hacktivism": "hacktivist",
    "unknown": "unknown",
    "unknown - not attributed": "unknown",
    "not available": "unknown",
    "other": "unknown",
    "": "unknown",
}


def normalise_category(raw: str | None, subcode: str | None = None) -> str | None:
    """The category for a source's wording (a sub-code refines it); None when the wording is
    not known, so the importer can report it instead of guessing."""
    key = " ".join((raw or "").split()).casefold()
    sub = " ".join((subcode or "").split()).casefold()
    if sub in _WORDING and _WORDING[sub] != "unknown":
        return _WORDING[sub]
    if key in CATEGORIES:
        return key
    if key in _WORDING:
        return _WORDING[key]
    if key in {"non-state-group", "individual hacker(s)", "non-state group"}:
        return "unknown"
    return None
