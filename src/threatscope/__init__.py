"""ThreatScope: adversary intelligence from STIX knowledge."""

__version__ = "0.1.0"
