"""Turning an ``Authorization`` header into a ``Caller``."""

from __future__ import annotations

import time

from sqlalchemy import Connection

from convoscope.auth.access import Caller, KeyType
from convoscope.auth.keys import hash_key, parse_authorization
from convoscope.errors import Unauthorized
from convoscope.store import Database, Scope
from convoscope.store import keys as key_store


class KeyVerifier:
    """Verifies keys against the database, remembering good ones for a few seconds.

    The memory saves a database round trip on every request; its length bounds how long
    a revoked key keeps working (``CONVOSCOPE_KEY_CACHE_SECONDS``).
    """

    def __init__(self, db: Database, *, cache_seconds: float) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Caller]] = {}

    async def verify(self, authorization: str | None) -> Caller:
        key = parse_authorization(authorization)
        if key is None:
            raise Unauthorized(
                "send an API key as 'Authorization: Bearer <key>'"
                if not authorization
                else "the Authorization header must be 'Bearer <key>'"
            )
        digest = hash_key(key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        caller = await self._db.read(lambda conn: _lookup(conn, digest))
        if caller is None:
            self._cache.pop(digest, None)
            raise Unauthorized("the API key is unknown or has been revoked")
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._cache_seconds, caller)
        return caller


def _lookup(conn: Connection, digest: str) -> Caller | None:
    record = key_store.find_key_by_hash(conn, digest)
    if record is None or record.revoked_at is not None:
        return None
    return Caller(
        key_id=record.id,
        key_type=KeyType(record.key_type),
        scope=Scope(
            organization_id=record.organization_id,
            project_id=record.project_id,
            integration_id=record.integration_id,
        ),
    )
