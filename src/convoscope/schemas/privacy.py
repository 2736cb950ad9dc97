"""Our own additions, outside the Inkeep paths: a project's data-protection settings, and
forgetting a user."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

RedactedKind = Literal["email", "phone", "card", "iban", "ip", "secret", "person", "location"]
PropertyKey = Annotated[str, Field(min_length=1, max_length=200)]


class Redaction(BaseModel):
    """What is replaced by a typed placeholder (``<EMAIL>``) before anything is stored."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[RedactedKind] = Field(
        min_length=1,
        description="The kinds to redact; person and location need the convoscope[pii] extra.",
    )
    hash: bool = Field(
        False,
        description="Placeholders carry a keyed hash of the value (<EMAIL:5f0c1e9a2b7d>), "
        "so the same value can still be counted.",
    )
    allowKeys: list[PropertyKey] = Field(
        default_factory=list, description="Property keys whose values are stored as sent."
    )
    denyKeys: list[PropertyKey] = Field(
        default_factory=list,
        description="Property keys whose values are always replaced by <REDACTED>.",
    )


class PrivacySettings(BaseModel):
    """A project's redaction, retention and user identifiers."""

    model_config = ConfigDict(extra="forbid")

    redaction: Redaction | None = Field(None, description="null: nothing is redacted.")
    retentionDays: int | None = Field(
        None, ge=1, le=36500, description="Delete conversations older than this; null: never."
    )
    userIdentifiers: list[PropertyKey] = Field(
        default_factory=list,
        description="userProperties keys that identify a person besides id and userId, "
        "used when forgetting a user.",
    )


class ForgetRequest(BaseModel):
    """Whom to forget."""

    model_config = ConfigDict(extra="forbid")

    userId: str = Field(
        min_length=1,
        max_length=512,
        description="The user's userProperties.id or userId (or a value of one of the "
        "project's userIdentifiers).",
    )
    dryRun: bool = Field(False, description="Count what would be deleted; delete nothing.")


class Forgotten(BaseModel):
    """What was deleted (or, in a dry run, would be). The audit record keeps these counts
    and no personal data."""

    dryRun: bool
    erasureId: str | None = Field(description="The audit record's id; null for a dry run.")
    conversations: int
    messages: int
    feedback: int
    events: int
    semanticThreads: int
