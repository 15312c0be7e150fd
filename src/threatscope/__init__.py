"""ThreatScope: adversary intelligence from STIX knowledge.

    from threatscope import KnowledgeBase

    with KnowledgeBase("kb.db") as kb:
        print(kb.landscape().headline)

`__all__` is the public API (pinned by tests/test_knowledge_base.py); everything else is internal.
"""

from threatscope.errors import (
    ConfigError,
    ExternalToolError,
    InputError,
    NetworkError,
    NotFoundError,
    StoreError,
    ThreatScopeError,
)
from threatscope.frames import PandasMissingError
from threatscope.knowledge_base import KnowledgeBase, NoEvidenceError
from threatscope.results import (
    Actor,
    ActorList,
    ActorSummary,
    Attribution,
    Candidate,
    Export,
    Extraction,
    ImportHistory,
    ImportResult,
    Landscape,
    NexusShare,
    ReportFiles,
    Stats,
)

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "ActorList",
    "ActorSummary",
    "Attribution",
    "Candidate",
    "ConfigError",
    "Export",
    "ExternalToolError",
    "Extraction",
    "ImportHistory",
    "ImportResult",
    "InputError",
    "KnowledgeBase",
    "Landscape",
    "NetworkError",
    "NexusShare",
    "NoEvidenceError",
    "NotFoundError",
    "PandasMissingError",
    "ReportFiles",
    "Stats",
    "StoreError",
    "ThreatScopeError",
    "__version__",
]
