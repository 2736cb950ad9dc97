"""Each project's data-protection settings, and redaction applied on the write path.

Every write of a conversation, feedback or event passes through the store's upsert
functions, which call ``redact_conversation``/``redact_feedback``/``redact_event`` first:
whatever face the data came in by (the Inkeep API, an import, OTLP spans), it is
redacted before its first byte is written.

The settings are read on the write path from a per-process memory kept for
``SETTINGS_CACHE_SECONDS`` (a primary-key read per write would cost a round trip on
PostgreSQL); a change made in this process is seen at once, one made by another process
(the CLI) within that time.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from convoscope.errors import InvalidInput
from convoscope.redaction import (
    DEFAULT_KINDS,
    NAMED_ENTITY_KINDS,
    Kind,
    RedactionPolicy,
    Redactor,
    named_entity_recognizers,
)
from convoscope.store.prepared import Prepared
from convoscope.store.records import ConversationIn, EventIn, FeedbackIn, MessageIn
from convoscope.store.tables import project_settings

SETTINGS_CACHE_SECONDS = 5.0
# userProperties keys that always identify a person.
BUILTIN_USER_IDENTIFIERS = ("id", "userId")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RedactionSettings:
    """What a project redacts; stored as the ``redaction`` JSON of its settings."""

    kinds: frozenset[Kind]
    hash: bool = False
    allow_keys: tuple[str, ...] = ()
    deny_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PrivacySettings:
    """A project's data-protection settings. The defaults: nothing redacted, all kept."""

    redaction: RedactionSettings | None = None
    retention_days: int | None = None
    # userProperties keys that name a person, besides id and userId (e.g. email).
    user_identifiers: tuple[str, ...] = ()


_LOAD = Prepared(
    select(
        project_settings.c.redaction,
        project_settings.c.redaction_key,
        project_settings.c.retention_days,
        project_settings.c.user_identifiers,
    ).where(project_settings.c.project_id == bindparam("project_id"))
)


def load_privacy(conn: Connection, project_id: str) -> PrivacySettings:
    row = _LOAD.first(conn, {"project_id": project_id})
    if row is None:
        return PrivacySettings()
    return _settings_from(row[0], row[2], row[3])


def save_privacy(conn: Connection, project_id: str, settings: PrivacySettings) -> None:
    """Store the settings; a hash key is made the first time hashing is turned on."""
    _check(settings)
    row = conn.execute(
        select(project_settings.c.redaction_key).where(project_settings.c.project_id == project_id)
    ).first()
    values: dict[str, Any] = {
        "redaction": _redaction_json(settings.redaction),
        "retention_days": settings.retention_days,
        "user_identifiers": list(settings.user_identifiers) or None,
        "updated_at": datetime.now(UTC),
    }
    key = row[0] if row is not None else None
    if settings.redaction is not None and settings.redaction.hash and key is None:
        values["redaction_key"] = secrets.token_hex(32)
    if row is None:
        conn.execute(insert(project_settings).values(project_id=project_id, **values))
    else:
        conn.execute(
            update(project_settings)
            .where(project_settings.c.project_id == project_id)
            .values(**values)
        )
    _forget_cached(conn.engine, project_id)


def projects_with_retention(conn: Connection) -> list[tuple[str, int]]:
    """(project id, retention days) of every project that keeps data for a limited time."""
    rows = conn.execute(
        select(project_settings.c.project_id, project_settings.c.retention_days)
        .where(project_settings.c.retention_days.is_not(None))
        .order_by(project_settings.c.project_id)
    )
    return [(str(p), int(d)) for p, d in rows]


def make_redactor(conn: Connection, project_id: str) -> Redactor | None:
    """A fresh redactor for the project's policy (its counts start at zero), or None."""
    row = _LOAD.first(conn, {"project_id": project_id})
    if row is None or row[0] is None:
        return None
    settings = _settings_from(row[0], row[2], row[3])
    assert settings.redaction is not None
    return _redactor(settings.redaction, row[1])


# Per engine (each database), per project: (good until, redactor or None).
_cache: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, Redactor | None]]] = (
    weakref.WeakKeyDictionary()
)


def redactor_for(conn: Connection, project_id: str) -> Redactor | None:
    """The project's redactor as the write path uses it, remembered for a few seconds."""
    per_project = _cache.get(conn.engine)
    if per_project is None:
        per_project = _cache.setdefault(conn.engine, {})
    now = time.monotonic()
    cached = per_project.get(project_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    redactor = make_redactor(conn, project_id)
    per_project[project_id] = (now + SETTINGS_CACHE_SECONDS, redactor)
    return redactor


def _forget_cached(engine: Engine, project_id: str) -> None:
    per_project = _cache.get(engine)
    if per_project is not None:
        per_project.pop(project_id, None)


def redact_conversation(conn: Connection, project_id: str, data: ConversationIn) -> ConversationIn:
    redactor = redactor_for(conn, project_id)
    return data if redactor is None else redact_conversation_with(redactor, data)


def redact_feedback(conn: Connection, project_id: str, data: FeedbackIn) -> FeedbackIn:
    redactor = redactor_for(conn, project_id)
    return data if redactor is None else redact_feedback_with(redactor, data)


def redact_event(conn: Connection, project_id: str, data: EventIn) -> EventIn:
    redactor = redactor_for(conn, project_id)
    return data if redactor is None else redact_event_with(redactor, data)


def redact_conversation_with(r: Redactor, data: ConversationIn) -> ConversationIn:
    return dataclasses.replace(
        data,
        properties=r.json(data.properties),
        user_properties=r.json(data.user_properties),
        messages=[_redact_message(r, m) for m in data.messages],
    )


def _redact_message(r: Redactor, m: MessageIn) -> MessageIn:
    return dataclasses.replace(
        m,
        content=r.content(m.content),
        tool_calls=r.json(m.tool_calls),
        properties=r.json(m.properties),
        user_properties=r.json(m.user_properties),
    )


def redact_feedback_with(r: Redactor, data: FeedbackIn) -> FeedbackIn:
    return dataclasses.replace(
        data,
        details=r.text(data.details) if data.details is not None else None,
        reasons=r.json(data.reasons),
        properties=r.json(data.properties),
        user_properties=r.json(data.user_properties),
    )


def redact_event_with(r: Redactor, data: EventIn) -> EventIn:
    return dataclasses.replace(
        data,
        search_query=r.text(data.search_query) if data.search_query is not None else None,
        properties=r.json(data.properties),
        user_properties=r.json(data.user_properties),
    )


def identifier_forms(conn: Connection, project_id: str, user_id: str) -> list[str]:
    """The ways a user id may be stored: as sent, and as the project's redaction writes it."""
    forms = [user_id]
    redactor = make_redactor(conn, project_id)
    if redactor is not None:
        redacted = redactor.json({"id": user_id})["id"]
        if redacted != user_id:
            forms.append(redacted)
    return forms


def _redactor(settings: RedactionSettings, key: str | None) -> Redactor:
    policy = RedactionPolicy(
        kinds=settings.kinds,
        hash_key=bytes.fromhex(key) if settings.hash and key else None,
        allow_keys=frozenset(settings.allow_keys),
        deny_keys=frozenset(settings.deny_keys),
    )
    recognizers = named_entity_recognizers() if settings.kinds & NAMED_ENTITY_KINDS else ()
    if settings.kinds & NAMED_ENTITY_KINDS and not recognizers:
        log.warning(
            "redaction of %s needs the named-entity recognizer (convoscope[pii] and "
            "CONVOSCOPE_PII_MODEL); they are not redacted",
            ", ".join(sorted(k.value for k in settings.kinds & NAMED_ENTITY_KINDS)),
        )
    return Redactor(policy, recognizers=recognizers)


def _check(settings: PrivacySettings) -> None:
    if settings.retention_days is not None and settings.retention_days < 1:
        raise InvalidInput(
            f"retention days must be at least 1 (or none, to keep everything); "
            f"got {settings.retention_days}",
            field="retentionDays",
        )
    if settings.redaction is not None and not settings.redaction.kinds:
        raise InvalidInput("name at least one kind to redact, or turn redaction off", field="kinds")


def parse_kinds(names: Iterable[str]) -> frozenset[Kind]:
    """Kind names as a user writes them; ``default`` stands for the default set."""
    kinds: set[Kind] = set()
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name == "default":
            kinds |= DEFAULT_KINDS
            continue
        try:
            kinds.add(Kind(name))
        except ValueError:
            known = ", ".join(k.value for k in Kind)
            raise InvalidInput(
                f"unknown kind {raw!r}; the kinds are default, {known}", field="kinds"
            ) from None
    return frozenset(kinds)


def _redaction_json(settings: RedactionSettings | None) -> dict[str, Any] | None:
    if settings is None:
        return None
    return {
        "kinds": sorted(k.value for k in settings.kinds),
        "hash": settings.hash,
        "allowKeys": list(settings.allow_keys),
        "denyKeys": list(settings.deny_keys),
    }


def _settings_from(
    redaction: dict[str, Any] | None, retention_days: int | None, identifiers: list[str] | None
) -> PrivacySettings:
    parsed = None
    if redaction is not None:
        parsed = RedactionSettings(
            kinds=frozenset(Kind(k) for k in redaction.get("kinds", [])),
            hash=bool(redaction.get("hash", False)),
            allow_keys=tuple(redaction.get("allowKeys", [])),
            deny_keys=tuple(redaction.get("denyKeys", [])),
        )
    return PrivacySettings(
        redaction=parsed,
        retention_days=retention_days,
        user_identifiers=tuple(identifiers or ()),
    )
