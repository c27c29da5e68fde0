"""Small rules the bot, the handoff service and the console must agree on, written once.

Each was once copied where it was needed and the copies drifted (a looser
e-mail check in the service, four ranges for "a Chinese character"). Everyone
imports them from here; the console receives the lists in its served
configuration; ``tests/unit/test_shared_patterns.py`` fails when a copy that
cannot import Python (a database enum, the console's script) disagrees.
"""

from __future__ import annotations

import re

# -- e-mail: what the ticket form accepts is what the service stores.

EMAIL_MAX_CHARS = 254
_EMAIL_BODY = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
EMAIL_RE = re.compile(rf"^{_EMAIL_BODY}$")
EMAIL_IN_TEXT_RE = re.compile(_EMAIL_BODY)


def is_email(text: str) -> bool:
    """Whether ``text`` (stripped) is one plausible e-mail address of at most 254 characters."""
    value = (text or "").strip()
    return len(value) <= EMAIL_MAX_CHARS and bool(EMAIL_RE.match(value))


# -- Chinese script: CJK unified ideographs, extension A, compatibility
# ideographs and the supplementary planes' extensions.

HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
HAN_RE = re.compile(f"[{HAN_RANGES}]")
HAN_RUN_RE = re.compile(f"[{HAN_RANGES}]+")


def is_han(char: str) -> bool:
    """Whether ``char`` is a Chinese character."""
    return bool(HAN_RE.fullmatch(char))


def count_han(text: str) -> int:
    """How many Chinese characters ``text`` holds."""
    return len(HAN_RE.findall(text or ""))


# -- wallet addresses: the shape of an address on each chain family, as typed.
# Shape only: whether the checksum holds is support_core.chains' job. Case is
# part of the shape (hex after a lower-case 0x, base58 is case-sensitive, bech32
# is all lower or all upper case), so no pattern here ignores case.

BASE58_CHAR = "[1-9A-HJ-NP-Za-km-z]"
EVM_ADDRESS = r"0x[0-9a-fA-F]{40}"
TRON_ADDRESS = rf"T{BASE58_CHAR}{{33}}"
BITCOIN_BASE58_ADDRESS = rf"[13]{BASE58_CHAR}{{25,34}}"
BITCOIN_BECH32_ADDRESS = r"bc1[02-9ac-hj-np-z]{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71}"
# A whole token that has an address's shape; a string (not compiled) as well, since
# spaCy's REGEX token patterns take one.
ADDRESS_PATTERN = (
    rf"^(?:{EVM_ADDRESS}|{TRON_ADDRESS}|{BITCOIN_BASE58_ADDRESS}|{BITCOIN_BECH32_ADDRESS})$"
)
ADDRESS_RE = re.compile(ADDRESS_PATTERN)


def looks_like_address(text: str) -> bool:
    """Whether ``text`` has the shape of an EVM, TRON or Bitcoin address."""
    return bool(ADDRESS_RE.match(text))


# -- tickets: the support guide's categories and why the bot hands over.

CATEGORIES: tuple[str, ...] = ("account", "assets", "trading", "technical", "security", "policy")

REASON_REQUESTED_HUMAN = "requested_human"
REASON_SELF_HELP_FAILED = "self_help_failed"
REASON_FALLBACK = "fallback"
REASON_SECURITY = "security"
ESCALATION_REASONS: tuple[str, ...] = (
    REASON_REQUESTED_HUMAN, REASON_SELF_HELP_FAILED, REASON_FALLBACK, REASON_SECURITY,
)
