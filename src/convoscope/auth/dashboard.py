"""Dashboard sign-in: passwords, one-time links, signed session cookies, and what a
signed-in person may see.

A person reaches a project's data only through a membership of that project; any other
project is reported as not found, so a page or data call cannot even tell that it exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection

from convoscope.auth.keys import hash_key
from convoscope.errors import Forbidden, NotFound, TooManyRequests
from convoscope.store import Membership, Scope, User
from convoscope.store import users as user_store

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(days=14)
SIGNIN_PATH = "/dashboard/signin/"
SESSION_COOKIE = "convoscope_session"
COOKIE_SECRET = "session_cookie"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if stored is None:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hash_key(token)


def sign(secret: str, token: str) -> str:
    """``token.signature``: the cookie value."""
    mac = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    return f"{token}.{mac}"


def unsign(secret: str, value: str | None) -> str | None:
    """The token of a cookie value signed with ``secret``, or None."""
    if not value or "." not in value:
        return None
    token, _, mac = value.rpartition(".")
    expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    return token if hmac.compare_digest(mac, expected) else None


def issue_link(conn: Connection, user: User, base_url: str, *, now: datetime) -> str:
    """A one-time sign-in URL for ``user``, valid for ``LINK_LIFETIME``."""
    token = new_token()
    user_store.create_link(
        conn, user.id, hash_token(token), now=now, expires_at=now + LINK_LIFETIME
    )
    return base_url.rstrip("/") + SIGNIN_PATH + token


@dataclass(slots=True, frozen=True)
class Viewer:
    """A signed-in person and the projects they are a member of."""

    user: User
    memberships: tuple[Membership, ...]
    csrf_token: str

    def membership(self, project_id: str | None) -> Membership:
        """The membership of ``project_id`` (the first project when None); NotFound for a
        project the person is not a member of."""
        if project_id is None and self.memberships:
            return self.memberships[0]
        for member in self.memberships:
            if member.project_id == project_id:
                return member
        raise NotFound(f"no project {project_id!r}")

    def scope(self, project_id: str | None) -> Scope:
        """Where the project's data lives, as an API key of the project would see it."""
        member = self.membership(project_id)
        return Scope(member.organization_id, member.project_id)

    def require_admin(self, project_id: str | None) -> Membership:
        member = self.membership(project_id)
        if not member.is_admin:
            raise Forbidden("only an admin of this project may change its settings")
        return member


@dataclass
class LoginLimiter:
    """At most ``attempts`` failed sign-ins per email and per client address in
    ``window`` seconds; in memory, which is enough for one server process."""

    attempts: int = 5
    window: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            failures = self._failures.get(key)
            while failures and failures[0] < now - self.window:
                failures.popleft()
            if failures is not None and len(failures) >= self.attempts:
                wait = int(failures[0] + self.window - now) + 1
                raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s")

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 10_000:
            self._failures.clear()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)
