"""Dashboard sessions: the signed cookie, the person behind it, and CSRF checks."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import Request, Response
from sqlalchemy import Connection

from convoscope.auth import (
    COOKIE_SECRET,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    LoginLimiter,
    Viewer,
    hash_token,
    new_token,
    sign,
    unsign,
)
from convoscope.errors import Forbidden, InvalidInput, Unauthorized
from convoscope.store import Database
from convoscope.store import users as user_store

# The form field and cookie of the CSRF token of the sign-in form, before any session.
CSRF_FIELD = "csrf"
SIGNIN_CSRF_COOKIE = "convoscope_signin_csrf"
MAX_FORM_BYTES = 64 * 1024


class DashboardAuth:
    """Starts, finds and ends sessions; one per app."""

    def __init__(self, *, secure_cookie: bool) -> None:
        self.secure_cookie = secure_cookie
        self.limiter = LoginLimiter()
        self._secret: str | None = None

    async def secret(self, db: Database) -> str:
        if self._secret is None:
            now = datetime.now(UTC)
            self._secret = await db.write(
                lambda conn: user_store.server_secret(conn, COOKIE_SECRET, now=now)
            )
        return self._secret

    async def viewer(self, request: Request) -> Viewer | None:
        """The signed-in person of the request, or None."""
        db: Database = request.app.state.db
        token = unsign(await self.secret(db), request.cookies.get(SESSION_COOKIE))
        if token is None:
            return None
        digest = hash_token(token)
        return await db.read(lambda conn: _load_viewer(conn, digest))

    async def require_viewer(self, request: Request) -> Viewer:
        viewer = await self.viewer(request)
        if viewer is None:
            raise Unauthorized("sign in to the dashboard first")
        return viewer

    async def start(self, request: Request, response: Response, user_id: str) -> None:
        db: Database = request.app.state.db
        token, csrf = new_token(), new_token()
        now = datetime.now(UTC)
        await db.write(
            lambda conn: user_store.create_session(
                conn,
                hash_token(token),
                user_id,
                csrf,
                now=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        response.set_cookie(
            SESSION_COOKIE,
            sign(await self.secret(db), token),
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=self.secure_cookie,
            path="/",
        )
        response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/dashboard/signin")

    async def end(self, request: Request, response: Response) -> None:
        db: Database = request.app.state.db
        token = unsign(await self.secret(db), request.cookies.get(SESSION_COOKIE))
        if token is not None:
            digest = hash_token(token)
            await db.write(lambda conn: user_store.delete_session(conn, digest))
        response.delete_cookie(SESSION_COOKIE, path="/")


def _load_viewer(conn: Connection, digest: str) -> Viewer | None:
    session = user_store.find_session(conn, digest, now=datetime.now(UTC))
    if session is None:
        return None
    user = user_store.find_user_by_id(conn, session.user_id)
    if user is None:
        return None
    members = tuple(user_store.memberships(conn, user.id))
    return Viewer(user, members, session.csrf_token)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the dashboard's forms send nothing else)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput("the form is too large")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidInput("the form could not be read") from err


def check_csrf(expected: str | None, form: dict[str, str]) -> None:
    """Refuse a state-changing form whose token is missing or wrong."""
    sent = form.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and retry")
