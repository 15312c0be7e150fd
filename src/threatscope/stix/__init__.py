"""STIX 2.0/2.1 parsing, validation and upgrade to 2.1, on plain dicts for speed."""

from threatscope.stix.parse import Bundle, parse_bundle, parse_file
from threatscope.stix.validate import (
    SCO_TYPES,
    is_identifier,
    normalise_timestamp,
    validate_object,
)

__all__ = [
    "SCO_TYPES",
    "Bundle",
    "is_identifier",
    "normalise_timestamp",
    "parse_bundle",
    "parse_file",
    "validate_object",
]
