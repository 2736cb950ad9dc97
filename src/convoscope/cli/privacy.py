"""``convoscope projects set/show``: a project's redaction, retention and user identifiers."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from convoscope.cli.context import migrated_engine, out
from convoscope.errors import InvalidInput
from convoscope.store import keys as key_store
from convoscope.store import writer_connection
from convoscope.store.privacy import (
    PrivacySettings,
    RedactionSettings,
    load_privacy,
    parse_kinds,
    save_privacy,
)


def _names(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))


def set_project(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    redact: Annotated[
        str | None,
        typer.Option(
            help="What to redact before it is stored: off, default (email, phone, card, "
            "iban, ip, secret), or kinds separated by commas (person and location need "
            "convoscope[pii]).",
        ),
    ] = None,
    redact_hash: Annotated[
        bool | None,
        typer.Option(
            "--redact-hash/--no-redact-hash",
            help="Placeholders carry a keyed hash of the value (<EMAIL:5f0c1e9a2b7d>), so "
            "the same value can still be counted.",
        ),
    ] = None,
    allow_keys: Annotated[
        str | None,
        typer.Option(help="Property keys whose values are stored as sent (comma-separated)."),
    ] = None,
    deny_keys: Annotated[
        str | None,
        typer.Option(help="Property keys whose values are always replaced (comma-separated)."),
    ] = None,
    retention_days: Annotated[
        str | None,
        typer.Option(help="Delete conversations older than this many days; none keeps all."),
    ] = None,
    user_identifiers: Annotated[
        str | None,
        typer.Option(
            help="userProperties keys that identify a person besides id and userId, for "
            "`convoscope forget` (comma-separated)."
        ),
    ] = None,
) -> None:
    """Change a project's data-protection settings; options left out stay as they are."""
    # The write lock first: the server may be writing too (store/engine.py).
    with migrated_engine() as engine, writer_connection(engine) as conn, conn.begin():
        found = key_store.get_project(conn, project)
        settings = load_privacy(conn, found.id)
        settings = change_settings(
            settings,
            redact=redact,
            redact_hash=redact_hash,
            allow_keys=allow_keys,
            deny_keys=deny_keys,
            retention_days=retention_days,
            user_identifiers=user_identifiers,
        )
        save_privacy(conn, found.id, settings)
    out.print(f"project {found.name}: {describe(settings)}")


def show_project(project: Annotated[str, typer.Argument(help="Project name or id.")]) -> None:
    """Show a project's data-protection settings."""
    with migrated_engine() as engine, engine.connect() as conn:
        found = key_store.get_project(conn, project)
        settings = load_privacy(conn, found.id)
    out.print(f"project {found.name}: {describe(settings)}")


def change_settings(
    settings: PrivacySettings,
    *,
    redact: str | None = None,
    redact_hash: bool | None = None,
    allow_keys: str | None = None,
    deny_keys: str | None = None,
    retention_days: str | None = None,
    user_identifiers: str | None = None,
) -> PrivacySettings:
    redaction = settings.redaction
    if redact is not None:
        if redact.strip().lower() == "off":
            redaction = None
        else:
            kinds = parse_kinds(redact.split(","))
            redaction = dataclasses.replace(
                redaction or RedactionSettings(kinds=kinds), kinds=kinds
            )
    touches_redaction = redact_hash is not None or allow_keys is not None or deny_keys is not None
    if touches_redaction and redaction is None:
        raise InvalidInput("turn redaction on with --redact first", field="redact")
    if redaction is not None:
        if redact_hash is not None:
            redaction = dataclasses.replace(redaction, hash=redact_hash)
        if allow_keys is not None:
            redaction = dataclasses.replace(redaction, allow_keys=_names(allow_keys))
        if deny_keys is not None:
            redaction = dataclasses.replace(redaction, deny_keys=_names(deny_keys))
    days = settings.retention_days
    if retention_days is not None:
        if retention_days.strip().lower() in ("none", ""):
            days = None
        elif retention_days.strip().isdigit():
            days = int(retention_days)
        else:
            raise InvalidInput(
                f"--retention-days takes a number or none; got {retention_days!r}",
                field="retention_days",
            )
    identifiers = settings.user_identifiers
    if user_identifiers is not None:
        identifiers = _names(user_identifiers)
    return PrivacySettings(redaction=redaction, retention_days=days, user_identifiers=identifiers)


def describe(settings: PrivacySettings) -> str:
    r = settings.redaction
    if r is None:
        redaction = "redaction off"
    else:
        redaction = "redacts " + ", ".join(sorted(k.value for k in r.kinds))
        if r.hash:
            redaction += " (hashed placeholders)"
        if r.allow_keys:
            redaction += "; keeps " + ", ".join(r.allow_keys)
        if r.deny_keys:
            redaction += "; always replaces " + ", ".join(r.deny_keys)
    kept = (
        "keeps conversations forever"
        if settings.retention_days is None
        else f"keeps conversations {settings.retention_days} days"
    )
    parts = [redaction, kept]
    if settings.user_identifiers:
        parts.append("identifies users by id, userId, " + ", ".join(settings.user_identifiers))
    return "; ".join(parts)
