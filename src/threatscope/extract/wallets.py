"""Checksums of crypto-currency addresses.

A base58 run of the right length turns up in prose (file names, tokens, identifiers); the
checksum is what makes a bitcoin address an indicator rather than a coincidence. Monero's
checksum needs Keccak, which hashlib lacks, so Monero addresses are matched on shape alone.
"""

from __future__ import annotations

import hashlib

__all__ = ["is_base58check_address", "is_bech32_address"]

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32)}
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def is_base58check_address(address: str) -> bool:
    """A legacy (P2PKH `1…`) or script (P2SH `3…`) bitcoin address with a valid checksum."""
    number = 0
    for char in address:
        digit = _B58_INDEX.get(char)
        if digit is None:
            return False
        number = number * 58 + digit
    leading_zeros = len(address) - len(address.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\x00" * leading_zeros + body
    if len(raw) != 25:
        return False
    payload, checksum = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def is_bech32_address(address: str) -> bool:
    """A segwit address (`bc1…`, bech32 or bech32m) with a valid checksum."""
    if address.lower() != address and address.upper() != address:
        return False  # BIP 173 forbids mixed case
    address = address.lower()
    hrp, _, data = address.rpartition("1")
    if hrp != "bc" or not 14 <= len(address) <= 90 or len(data) < 6:
        return False
    try:
        values = [_BECH32_INDEX[c] for c in data]
    except KeyError:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    constant = _polymod(expanded + values)
    witness_version = values[0]
    if witness_version == 0:
        return constant == _BECH32_CONST
    return witness_version <= 16 and constant == _BECH32M_CONST
