"""STIX 2.1 indicator patterns for extracted indicators.

CVE identifiers get no pattern: they become vulnerability objects, not indicators. Wallet
addresses use `cryptocurrency-wallet:value`, the custom observable OpenCTI reads and writes,
since STIX 2.1 defines none.
"""

from __future__ import annotations

from threatscope.extract.iocs import Ioc, IocType

__all__ = ["stix_pattern"]

_VALUE_PATHS = {
    IocType.IPV4: "ipv4-addr:value",
    IocType.IPV6: "ipv6-addr:value",
    IocType.DOMAIN: "domain-name:value",
    IocType.URL: "url:value",
    IocType.EMAIL: "email-addr:value",
    IocType.MD5: "file:hashes.'MD5'",
    IocType.SHA1: "file:hashes.'SHA-1'",
    IocType.SHA256: "file:hashes.'SHA-256'",
    IocType.SHA512: "file:hashes.'SHA-512'",
    IocType.REGISTRY_KEY: "windows-registry-key:key",
    IocType.FILE_NAME: "file:name",
    IocType.BITCOIN: "cryptocurrency-wallet:value",
    IocType.ETHEREUM: "cryptocurrency-wallet:value",
    IocType.MONERO: "cryptocurrency-wallet:value",
}


def stix_pattern(ioc: Ioc) -> str | None:
    """The pattern matching `ioc`'s value, or None for types that are not observables."""
    if ioc.type is IocType.ASN:
        return f"[autonomous-system:number = {int(ioc.value.removeprefix('AS'))}]"
    if ioc.type is IocType.FILE_PATH:
        return _path_pattern(ioc.value)
    path = _VALUE_PATHS.get(ioc.type)
    if path is None:
        return None
    return f"[{path} = {_quote(ioc.value)}]"


def _path_pattern(path: str) -> str:
    separator = "\\" if "\\" in path else "/"
    if path.endswith(separator):
        return f"[directory:path = {_quote(path.rstrip(separator))}]"
    parent, _, name = path.rpartition(separator)
    if not parent:  # "/etc"-style parents are never empty; "\\name" alone would be
        return f"[file:name = {_quote(name)}]"
    return f"[file:name = {_quote(name)} AND file:parent_directory_ref.path = {_quote(parent)}]"


def _quote(value: str) -> str:
    """A STIX pattern string literal: backslash and quote escaped, in that order."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
