"""Each kind is found where it is, and not in the look-alikes around it (dates, order
numbers, version strings, card numbers whose check digit is wrong)."""

from __future__ import annotations

import pytest

from convoscope.redaction import DEFAULT_KINDS, REDACTED, Kind, RedactionPolicy, Redactor
from convoscope.redaction.detectors import passes_iban_checksum, passes_luhn


def redact(text: str, **policy: object) -> str:
    return Redactor(RedactionPolicy(kinds=DEFAULT_KINDS, **policy)).text(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("mail jane.doe+x@mail.example.co.uk now", "mail <EMAIL> now", id="email"),
        pytest.param("call +1 (415) 555-2671 today", "call <PHONE> today", id="phone-us-intl"),
        pytest.param("or 020 7946 0958", "or <PHONE>", id="phone-uk-national"),
        pytest.param("card 4111 1111 1111 1111.", "card <CARD>.", id="card-visa-spaced"),
        pytest.param("amex 378282246310005", "amex <CARD>", id="card-amex"),
        pytest.param("to DE89 3704 0044 0532 0130 00", "to <IBAN>", id="iban-spaced"),
        pytest.param("to GB82WEST12345698765432", "to <IBAN>", id="iban-compact"),
        pytest.param("from 203.0.113.7 and", "from <IP> and", id="ipv4"),
        pytest.param("via 2001:db8::8a2e:370:7334", "via <IP>", id="ipv6"),
        pytest.param("key AKIAIOSFODNN7EXAMPLE", "key <SECRET>", id="aws-key"),
        pytest.param("sk-proj-abcdefghijklmnopqrstuvwx12", "<SECRET>", id="openai-key"),
        pytest.param("ghp_" + "a1B2" * 9 + " leaked", "<SECRET> leaked", id="github-token"),
        pytest.param(
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0",
            "jwt <SECRET>",
            id="jwt",
        ),
        pytest.param(
            "postgres://admin:hunter2@db.internal:5432/app",
            "postgres://admin:<SECRET>@db.internal:5432/app",
            id="password-in-url",
        ),
        pytest.param(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n"
            "-----END OPENSSH PRIVATE KEY----- done",
            "<SECRET> done",
            id="private-key-block",
        ),
    ],
)
def test_each_kind_is_replaced_by_its_placeholder(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("card 4111 1111 1111 1112", id="card-bad-luhn"),
        pytest.param("order 1234567890123 shipped", id="order-number"),
        pytest.param("released 2024-05-01 at 12:30:45", id="date-and-time"),
        pytest.param("version 1.2.3 of the SDK", id="version"),
        pytest.param("IBAN DE89370400440532013001", id="iban-bad-checksum"),
        pytest.param("use std::vector and a::b", id="cpp-scope"),
        pytest.param("ticket #123456 costs $1,299.00", id="ticket-and-price"),
        pytest.param("ISBN 978-3-16-148410-0", id="isbn"),
    ],
)
def test_look_alikes_are_left_as_they_are(text: str) -> None:
    assert redact(text) == text


def test_hashed_placeholders_are_the_same_for_the_same_value_in_any_spelling() -> None:
    redactor = Redactor(RedactionPolicy(kinds=DEFAULT_KINDS, hash_key=b"k" * 32))
    first = redactor.text("Jane@Example.com / +1 415 555 2671")
    second = redactor.text("jane@example.com / +1-415-555-2671")
    assert first == second
    assert first.startswith("<EMAIL:") and "jane" not in first.lower()
    other_key = Redactor(RedactionPolicy(kinds=DEFAULT_KINDS, hash_key=b"x" * 32))
    assert other_key.text("jane@example.com") != redactor.text("jane@example.com")


def test_only_the_kinds_asked_for_are_redacted() -> None:
    redactor = Redactor(RedactionPolicy(kinds=frozenset({Kind.EMAIL})))
    assert redactor.text("a@b.example 203.0.113.7") == "<EMAIL> 203.0.113.7"
    assert dict(redactor.counts) == {"email": 1}


def test_json_values_follow_the_allow_and_deny_lists_at_any_depth() -> None:
    redactor = Redactor(
        RedactionPolicy(
            kinds=DEFAULT_KINDS,
            allow_keys=frozenset({"supportEmail"}),
            deny_keys=frozenset({"Address"}),
        )
    )
    value = {
        "supportEmail": "help@acme.example",
        "user": {"email": "jane@example.com", "address": {"street": "1 Main St"}, "age": 41},
        "notes": ["ip 203.0.113.7", 3, None],
    }
    assert redactor.json(value) == {
        "supportEmail": "help@acme.example",
        "user": {"email": "<EMAIL>", "address": REDACTED, "age": 41},
        "notes": ["ip <IP>", 3, None],
    }


def test_message_content_parts_have_only_their_texts_redacted() -> None:
    redactor = Redactor(RedactionPolicy(kinds=DEFAULT_KINDS))
    parts = [
        {"type": "text", "text": "I am jane@example.com"},
        {"type": "image_url", "image_url": {"url": "https://img.example/a.png"}},
    ]
    assert redactor.content(parts) == [
        {"type": "text", "text": "I am <EMAIL>"},
        {"type": "image_url", "image_url": {"url": "https://img.example/a.png"}},
    ]


def test_redacting_twice_changes_nothing_more() -> None:
    redactor = Redactor(RedactionPolicy(kinds=DEFAULT_KINDS, hash_key=b"k" * 32))
    once = redactor.text("jane@example.com 4111111111111111 DE89370400440532013000 fe80::1:2")
    assert redactor.text(once) == once


def test_checksums() -> None:
    assert passes_luhn("4111111111111111") and not passes_luhn("4111111111111112")
    assert passes_iban_checksum("DE89 3704 0044 0532 0130 00")
    assert not passes_iban_checksum("DE89 3704 0044 0532 0130 01")
