"""Unit tests for support_core.chains: transaction hashes and wallet addresses per chain.

Every address is generated at test time: EVM addresses get their EIP-55
checksum from Keccak-256 (``eth_hash``), TRON and Bitcoin legacy addresses are
Base58Check-encoded random payloads, segwit addresses come from the ``bech32``
reference implementation.
"""

from __future__ import annotations

import secrets

import base58
import bech32
import pytest
from eth_hash.auto import keccak

from support_core.chains import (
    Checked,
    InvalidValue,
    check_address,
    check_tx_hash,
    evm_checksum_ok,
)

TRIES = 5  # fresh addresses per shape
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def eip55(body: str) -> str:
    """The EIP-55 checksummed form of a 40-hex-digit address body."""
    body = body.lower()
    digest = keccak(body.encode()).hex()
    return "0x" + "".join(
        ch.upper() if int(digest[i], 16) >= 8 else ch for i, ch in enumerate(body)
    )


def checksummed_evm_address() -> str:
    """A random address whose checksum shows (it has upper and lower case letters)."""
    while True:
        address = eip55(secrets.token_hex(20))
        body = address[2:]
        if body != body.lower() and body != body.upper():
            return address


def break_case(address: str) -> str:
    """Flip the case of one letter: a typo EIP-55 must catch."""
    for i, ch in enumerate(address[2:], start=2):
        if ch.isalpha():
            return address[:i] + ch.swapcase() + address[i + 1 :]
    raise AssertionError("address without letters")


def tron_address() -> str:
    return base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


def btc_legacy_address(version: bytes) -> str:
    return base58.b58encode_check(version + secrets.token_bytes(20)).decode()


def btc_bech32_address() -> str:
    address = bech32.encode("bc", 0, list(secrets.token_bytes(20)))
    assert address is not None
    return address


def bech32m_address(witver: int, program: bytes, hrp: str = "bc") -> str:
    """A BIP-350 (bech32m) address, e.g. taproot (version 1, 32 bytes)."""
    data = [witver, *bech32.convertbits(list(program), 8, 5)]
    polymod = bech32.bech32_polymod(bech32.bech32_hrp_expand(hrp) + data + [0] * 6) ^ 0x2BC830A3
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(bech32.CHARSET[d] for d in data + checksum)


def bech32_raw_address(witver: int, program: bytes) -> str:
    """A bech32 string with a correct checksum, whatever the program length."""
    return bech32.bech32_encode("bc", [witver, *bech32.convertbits(list(program), 8, 5)])


def change_one_char(value: str, index: int, alphabet: str) -> str:
    """Replace one character by another of the same alphabet (a typo)."""
    replacement = next(c for c in alphabet if c != value[index])
    return value[:index] + replacement + value[index + 1 :]


def reason(check, value: str) -> str:
    with pytest.raises(InvalidValue) as caught:
        check(value)
    return caught.value.reason


# --------------------------------------------------------------------------- EVM addresses


def test_checksummed_evm_addresses_are_accepted():
    for _ in range(TRIES):
        address = checksummed_evm_address()
        assert evm_checksum_ok(address)
        assert check_address(address) == Checked(address, "evm")


def test_evm_address_with_a_broken_checksum_is_refused():
    for _ in range(TRIES):
        broken = break_case(checksummed_evm_address())
        assert not evm_checksum_ok(broken)
        assert reason(check_address, broken) == "evm_checksum"


def test_all_lowercase_and_all_uppercase_evm_addresses_carry_no_checksum():
    for _ in range(TRIES):
        body = secrets.token_hex(20)
        assert check_address("0x" + body.lower()) == Checked("0x" + body.lower(), "evm")
        assert check_address("0x" + body.upper()).chain == "evm"


def test_known_eip55_vector():
    # From the EIP-55 specification.
    assert check_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").chain == "evm"
    assert reason(check_address, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD") == "evm_checksum"


def test_surrounding_spaces_are_ignored():
    address = checksummed_evm_address()
    assert check_address(f"  {address} \n") == Checked(address, "evm")


@pytest.mark.parametrize(
    "value",
    [
        "0x" + "ab" * 19,  # 38 hex digits
        "0x" + "ab" * 21,  # 42 hex digits
        "0x" + "g" * 40,
        "my address",
        "",
    ],
)
def test_malformed_addresses_have_an_unknown_format(value):
    assert reason(check_address, value) == "unknown_format"


# --------------------------------------------------------------------------- TRON


def test_tron_addresses_are_accepted():
    for _ in range(TRIES):
        address = tron_address()
        assert address.startswith("T") and len(address) == 34
        assert check_address(address) == Checked(address, "tron")


def test_tron_address_with_a_typo_is_refused():
    for _ in range(TRIES):
        broken = change_one_char(tron_address(), 10, _BASE58_ALPHABET)
        assert reason(check_address, broken) == "tron_checksum"


def test_tron_shaped_string_with_another_version_byte_is_refused():
    # A valid Base58Check string of TRON length whose payload is not 0x41 + 20 bytes.
    while True:
        value = base58.b58encode_check(b"\x42" + secrets.token_bytes(20)).decode()
        if value.startswith("T") and len(value) == 34:
            break
    assert reason(check_address, value) == "tron_checksum"


# --------------------------------------------------------------------------- Bitcoin


@pytest.mark.parametrize(("version", "first"), [(b"\x00", "1"), (b"\x05", "3")])
def test_bitcoin_legacy_and_p2sh_addresses_are_accepted(version, first):
    for _ in range(TRIES):
        address = btc_legacy_address(version)
        assert address.startswith(first)
        assert check_address(address) == Checked(address, "bitcoin")


@pytest.mark.parametrize("version", [b"\x00", b"\x05"])
def test_bitcoin_legacy_address_with_a_typo_is_refused(version):
    for _ in range(TRIES):
        broken = change_one_char(btc_legacy_address(version), 12, _BASE58_ALPHABET)
        assert reason(check_address, broken) == "bitcoin_checksum"


def test_bech32_addresses_are_accepted_in_either_case():
    for _ in range(TRIES):
        address = btc_bech32_address()
        assert check_address(address) == Checked(address, "bitcoin")
        assert check_address(address.upper()).chain == "bitcoin"


def test_bech32_p2wsh_address_is_accepted():
    address = bech32.encode("bc", 0, list(secrets.token_bytes(32)))
    assert address is not None
    assert check_address(address).chain == "bitcoin"


def test_bech32_address_with_a_typo_is_refused():
    for _ in range(TRIES):
        address = btc_bech32_address()
        broken = change_one_char(address, 15, bech32.CHARSET)
        assert reason(check_address, broken) == "bitcoin_bech32"


def test_testnet_bech32_address_is_not_a_mainnet_address():
    address = bech32.encode("tb", 0, list(secrets.token_bytes(20)))
    assert address is not None
    with pytest.raises(InvalidValue):
        check_address(address)


def test_taproot_address_is_accepted():
    for _ in range(TRIES):
        address = bech32m_address(1, secrets.token_bytes(32))
        assert address.startswith("bc1p")
        assert check_address(address) == Checked(address, "bitcoin")


def test_taproot_address_with_a_typo_is_refused():
    # BUG: bc1p addresses are accepted on their shape alone, so a typo in a
    # taproot address passes; the bech32m checksum (BIP-350) is never checked.
    for _ in range(TRIES):
        broken = change_one_char(bech32m_address(1, secrets.token_bytes(32)), 20, bech32.CHARSET)
        assert reason(check_address, broken) == "bitcoin_bech32"


def test_witness_v0_program_must_be_20_or_32_bytes():
    # BUG: BIP-173 allows only 20 (P2WPKH) or 32 (P2WSH) bytes for version 0;
    # a 25-byte version-0 program with a valid checksum is accepted.
    address = bech32_raw_address(0, secrets.token_bytes(25))
    assert reason(check_address, address) == "bitcoin_bech32"


# --------------------------------------------------------------------------- transaction hashes


def test_evm_transaction_hash_is_accepted():
    for _ in range(TRIES):
        value = "0x" + secrets.token_hex(32)
        assert check_tx_hash(value) == Checked(value, "evm")
        assert check_tx_hash(value.upper().replace("0X", "0x")).chain == "evm"


def test_bare_64_hex_hash_is_accepted_for_bitcoin_or_tron():
    for _ in range(TRIES):
        value = secrets.token_hex(32)
        assert check_tx_hash(f" {value} ") == Checked(value, "bitcoin_or_tron")


def test_an_evm_address_given_as_a_transaction_hash_is_recognised():
    for address in (checksummed_evm_address(), "0x" + secrets.token_hex(20)):
        assert reason(check_tx_hash, address) == "looks_like_address"


@pytest.mark.parametrize(
    "value",
    [
        "0x" + "a" * 63,
        "a" * 65,
        "0x" + "a" * 63 + "g",
        "txid please",
        "",
    ],
)
def test_malformed_hashes_have_an_unknown_format(value):
    assert reason(check_tx_hash, value) == "unknown_format"


def test_a_tron_address_is_not_a_transaction_hash():
    assert reason(check_tx_hash, tron_address()) == "unknown_format"


def test_a_transaction_hash_is_not_an_address():
    assert reason(check_address, "0x" + secrets.token_hex(32)) == "unknown_format"
