"""A project's data-protection settings in their wire shape, read and replaced through the
server's database: what the API's ``/convoscope/privacy/settings`` and the dashboard's
settings page both call."""

from __future__ import annotations

from convoscope.redaction import Kind
from convoscope.schemas import PrivacySettings, Redaction
from convoscope.store import Database
from convoscope.store import privacy as store


async def read_privacy(db: Database, project_id: str) -> PrivacySettings:
    return to_wire(await db.read(lambda conn: store.load_privacy(conn, project_id)))


async def replace_privacy(db: Database, project_id: str, body: PrivacySettings) -> PrivacySettings:
    """Store the settings; the server's next write follows them."""
    settings = from_wire(body)
    await db.write(lambda conn: store.save_privacy(conn, project_id, settings))
    return to_wire(settings)


def to_wire(settings: store.PrivacySettings) -> PrivacySettings:
    r = settings.redaction
    return PrivacySettings(
        redaction=None
        if r is None
        else Redaction(
            kinds=sorted(k.value for k in r.kinds),
            hash=r.hash,
            allowKeys=list(r.allow_keys),
            denyKeys=list(r.deny_keys),
        ),
        retentionDays=settings.retention_days,
        userIdentifiers=list(settings.user_identifiers),
    )


def from_wire(body: PrivacySettings) -> store.PrivacySettings:
    r = body.redaction
    return store.PrivacySettings(
        redaction=None
        if r is None
        else store.RedactionSettings(
            kinds=frozenset(Kind(k) for k in r.kinds),
            hash=r.hash,
            allow_keys=tuple(r.allowKeys),
            deny_keys=tuple(r.denyKeys),
        ),
        retention_days=body.retentionDays,
        user_identifiers=tuple(body.userIdentifiers),
    )
