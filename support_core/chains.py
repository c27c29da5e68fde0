"""Validate transaction hashes and wallet addresses per chain.

Used by the ticket form: an agent must be able to paste what the user gave
into a block explorer, so a malformed value is caught while the user is
still there to correct it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import base58
from bech32 import CHARSET, bech32_hrp_expand, bech32_polymod, convertbits
from eth_hash.auto import keccak

from support_core.patterns import BASE58_CHAR, EVM_ADDRESS

_EVM_ADDRESS = re.compile(rf"^{EVM_ADDRESS}$")
_EVM_TX = re.compile(r"^0x[0-9a-fA-F]{64}$")
_BARE_TX = re.compile(r"^[0-9a-fA-F]{64}$")
_BASE58 = re.compile(rf"^{BASE58_CHAR}+$")


@dataclass(frozen=True)
class Checked:
    """A value that passed validation, with the chain family it belongs to."""

    value: str
    chain: str


class InvalidValue(ValueError):
    """The value is not a valid hash or address; ``reason`` says why, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def evm_checksum_ok(address: str) -> bool:
    """EIP-55: mixed-case addresses carry a checksum; all-lower/upper ones do not."""
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return True
    digest = keccak(body.lower().encode()).hex()
    return all(
        (ch.upper() if int(digest[i], 16) >= 8 else ch.lower()) == ch
        for i, ch in enumerate(body)
    )


def _base58check_payload(value: str) -> bytes | None:
    if not _BASE58.match(value):
        return None
    try:
        raw = base58.b58decode(value)
    except ValueError:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    if len(raw) < 5 or hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    return payload


_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3


def _bitcoin_bech32_ok(value: str) -> bool:
    """BIP-173/BIP-350: v0 uses bech32 with a 20/32-byte program, v1+ bech32m."""
    if value.lower() != value and value.upper() != value:
        return False
    value = value.lower()
    hrp, _, data_part = value.rpartition("1")
    if hrp != "bc" or len(data_part) < 7 or any(c not in CHARSET for c in data_part):
        return False
    data = [CHARSET.find(c) for c in data_part]
    constant = bech32_polymod(bech32_hrp_expand(hrp) + data)
    version, words = data[0], data[1:-6]
    if version > 16:
        return False
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if constant != expected:
        return False
    program = convertbits(words, 5, 8, False)
    if program is None or not 2 <= len(program) <= 40:
        return False
    return version != 0 or len(program) in (20, 32)


def check_address(value: str) -> Checked:
    """Validate a wallet address (EVM, TRON, Bitcoin) and name its chain family.

    Raises:
        InvalidValue: with a reason the bot can show the user.
    """
    value = value.strip()
    if _EVM_ADDRESS.match(value):
        if not evm_checksum_ok(value):
            raise InvalidValue("evm_checksum")
        return Checked(value, "evm")
    if value.lower().startswith("bc1"):
        if _bitcoin_bech32_ok(value):
            return Checked(value, "bitcoin")
        raise InvalidValue("bitcoin_bech32")
    if value.startswith("T") and len(value) == 34:
        payload = _base58check_payload(value)
        if payload is not None and payload[:1] == b"\x41" and len(payload) == 21:
            return Checked(value, "tron")
        raise InvalidValue("tron_checksum")
    if value[:1] in ("1", "3") and 26 <= len(value) <= 35:
        payload = _base58check_payload(value)
        if payload is not None and payload[:1] in (b"\x00", b"\x05") and len(payload) == 21:
            return Checked(value, "bitcoin")
        raise InvalidValue("bitcoin_checksum")
    raise InvalidValue("unknown_format")


def check_tx_hash(value: str) -> Checked:
    """Validate a transaction hash: 0x + 64 hex (EVM) or 64 hex (Bitcoin, TRON, ...).

    Raises:
        InvalidValue: with a reason the bot can show the user.
    """
    value = value.strip()
    if _EVM_TX.match(value):
        return Checked(value, "evm")
    if _BARE_TX.match(value):
        return Checked(value, "bitcoin_or_tron")
    if re.fullmatch(EVM_ADDRESS, value):
        raise InvalidValue("looks_like_address")
    raise InvalidValue("unknown_format")
