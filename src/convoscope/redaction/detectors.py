"""What counts as personal data or a secret in a text, kind by kind.

Each detector is a regular expression that finds candidates and, where the value has
one, a checksum that must hold (Luhn for payment cards, ISO 7064 mod 97 for IBANs, the
address grammar for IPs). The checksums are what keep precision high: a 16-digit order
number is not a card unless its Luhn digit is right, and most are not.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class Kind(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"
    IBAN = "iban"
    IP = "ip"
    SECRET = "secret"
    # Only found by the optional Presidio recognizer (convoscope[pii]).
    PERSON = "person"
    LOCATION = "location"

    @property
    def placeholder(self) -> str:
        return self.value.upper()


# What one switch turns on: everything a regular expression can find reliably.
DEFAULT_KINDS: frozenset[Kind] = frozenset(
    {Kind.EMAIL, Kind.PHONE, Kind.CARD, Kind.IBAN, Kind.IP, Kind.SECRET}
)
# Kinds that need the optional Presidio recognizer.
NAMED_ENTITY_KINDS: frozenset[Kind] = frozenset({Kind.PERSON, Kind.LOCATION})


@dataclass(frozen=True, slots=True)
class Finding:
    """A span of a text holding a value of one kind; ``value`` is what the span holds."""

    kind: Kind
    start: int
    end: int
    value: str


Validator = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Detector:
    kind: Kind
    pattern: re.Pattern[str]
    is_valid: Validator | None = None
    # The capture group that holds the value (0: the whole match), e.g. only the
    # password of a URL with credentials.
    group: int = 0
    # A cheap test a text must pass for the pattern to have a chance: most texts have
    # no digit, no @, no key prefix, and a substring search costs a fraction of a
    # regular expression tried at every position (360 µs a 250-character text for all
    # detectors without these tests).
    may_match: Callable[[str], bool] | None = None

    def find(self, text: str) -> Iterator[Finding]:
        if self.may_match is not None and not self.may_match(text):
            return
        for match in self.pattern.finditer(text):
            value = match.group(self.group)
            if value and (self.is_valid is None or self.is_valid(value)):
                yield Finding(self.kind, match.start(self.group), match.end(self.group), value)


def passes_luhn(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    # Issuer ranges in use (2 Mastercard 2-series, 3 Amex/Diners/JCB, 4 Visa,
    # 5 Mastercard, 6 Discover/UnionPay), and a single separator style.
    if digits[0] not in "23456" or ("-" in candidate and " " in candidate):
        return False
    return passes_luhn(digits)


def passes_iban_checksum(candidate: str) -> bool:
    iban = candidate.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _is_ip(candidate: str) -> bool:
    if ":" in candidate and sum(1 for group in candidate.split(":") if group) < 3:
        return False  # "a::b", "dead::beef": C++ scopes and words, not addresses in use
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    # "1.0.0.0"-like version numbers are addresses too; unspecified ones carry nothing.
    return not address.is_unspecified


_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _is_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    international = candidate.startswith(("+", "00"))
    if not (9 if not international else 8) <= digits <= 15:
        return False
    if _DATE_LIKE.match(candidate) or passes_luhn(candidate) and digits >= 13:
        return False
    separated = any(c in candidate for c in " -.()")
    # A bare run of digits is an order number as often as a phone number; only an
    # international prefix makes it one.
    return international or separated


_SECRET_PATTERNS = [
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    # JWT: base64url JSON header and payload, then a signature.
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
    r"\bglpat-[A-Za-z0-9_-]{20,}\b",  # GitLab
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",  # Slack
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b",  # Stripe
    r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b",  # OpenAI, Anthropic
    r"\bAIza[0-9A-Za-z_-]{35}\b",  # Google API keys
    r"\bhf_[A-Za-z0-9]{30,}\b",  # Hugging Face
    r"\bcvs_[A-Za-z0-9_-]{40,}",  # convoscope's own keys
]

_SECRET_PREFIXES = (
    "-----BEGIN",
    "eyJ",
    "AKIA",
    "ASIA",
    "gh",
    "glpat-",
    "xox",
    "k_live_",
    "k_test_",
    "sk-",
    "AIza",
    "hf_",
    "cvs_",
)
_has_digit = re.compile(r"\d").search


def _may_hold_secret(text: str) -> bool:
    return any(prefix in text for prefix in _SECRET_PREFIXES)


def _may_hold_ip(text: str) -> bool:
    return ":" in text or _has_digit(text) is not None


def _may_hold_number(text: str) -> bool:
    return _has_digit(text) is not None


DETECTORS: tuple[Detector, ...] = (
    # Secrets first: a key block or token may contain what looks like other kinds.
    Detector(
        Kind.SECRET,
        re.compile("|".join(f"(?:{p})" for p in _SECRET_PATTERNS)),
        may_match=_may_hold_secret,
    ),
    # The password of a URL with credentials (scheme://user:password@host).
    Detector(
        Kind.SECRET,
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@[^\s]"),
        group=1,
        may_match=lambda text: "://" in text,
    ),
    # The token of an Authorization header pasted into a message.
    Detector(
        Kind.SECRET,
        re.compile(r"\b(?:[Bb]earer|[Tt]oken)\s+([A-Za-z0-9._~+/-]{20,}=*)"),
        group=1,
        may_match=lambda text: "earer" in text or "oken" in text,
    ),
    Detector(
        Kind.EMAIL,
        re.compile(
            r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
            r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b"
        ),
        may_match=lambda text: "@" in text,
    ),
    Detector(
        Kind.IBAN,
        re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b"),
        passes_iban_checksum,
        may_match=_may_hold_number,
    ),
    Detector(
        Kind.CARD,
        re.compile(r"(?<![\d.-])\d(?:[ -]?\d){12,18}(?![\d-])"),
        _is_card,
        may_match=_may_hold_number,
    ),
    Detector(
        Kind.IP,
        re.compile(
            r"(?<![\w.:])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
            r"(?![\w.]*\d)"
            # IPv6: a run of hex digits and at least two colons, checked by ipaddress.
            r"|(?<![\w:.])(?:[0-9A-Fa-f]{1,4}|(?=::))(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"
        ),
        _is_ip,
        may_match=_may_hold_ip,
    ),
    Detector(
        Kind.PHONE,
        re.compile(
            r"(?<![\w+/.-])(?:\+|00)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\(\d{1,4}\))?"
            r"(?:[ .-]?\d{2,5}){1,5}(?![\w/-]|\.\d)"
        ),
        _is_phone,
        may_match=_may_hold_number,
    ),
)
