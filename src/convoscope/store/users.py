"""Dashboard users, their project memberships, one-time sign-in links and sessions.

Links and sessions are stored by the hash of their token; the caller hashes. A link is
spent by one conditional UPDATE, so two clicks on it cannot both sign in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from convoscope.errors import Conflict, NotFound
from convoscope.store.ids import new_id
from convoscope.store.tables import (
    dashboard_sessions,
    dashboard_users,
    project_members,
    projects,
    server_secrets,
    signin_links,
)

ROLES = ("admin", "viewer")


@dataclass(slots=True, frozen=True)
class User:
    id: str
    email: str
    has_password: bool


@dataclass(slots=True, frozen=True)
class Membership:
    project_id: str
    project_name: str
    role: str
    organization_id: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(slots=True, frozen=True)
class SessionRecord:
    user_id: str
    csrf_token: str
    expires_at: datetime


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _user(row: object) -> User:
    return User(row.id, row.email, row.password_hash is not None)  # type: ignore[attr-defined]


_USER_COLUMNS = (dashboard_users.c.id, dashboard_users.c.email, dashboard_users.c.password_hash)


def create_user(conn: Connection, email: str, *, now: datetime) -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise Conflict(f"{email!r} is not an email address", field="email")
    if find_user(conn, email) is not None:
        raise Conflict(f"a user {email!r} already exists", field="email")
    user = User(new_id("usr"), email, False)
    conn.execute(insert(dashboard_users).values(id=user.id, email=email, created_at=now))
    return user


def find_user(conn: Connection, email: str) -> User | None:
    row = conn.execute(
        select(*_USER_COLUMNS).where(dashboard_users.c.email == normalize_email(email))
    ).first()
    return _user(row) if row else None


def get_user(conn: Connection, email: str) -> User:
    user = find_user(conn, email)
    if user is None:
        raise NotFound(f"no dashboard user {normalize_email(email)!r}")
    return user


def find_user_by_id(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(select(*_USER_COLUMNS).where(dashboard_users.c.id == user_id)).first()
    return _user(row) if row else None


def password_hash(conn: Connection, user_id: str) -> str | None:
    value = conn.execute(
        select(dashboard_users.c.password_hash).where(dashboard_users.c.id == user_id)
    ).scalar()
    return None if value is None else str(value)


def set_password_hash(conn: Connection, user_id: str, value: str | None) -> None:
    conn.execute(
        update(dashboard_users).where(dashboard_users.c.id == user_id).values(password_hash=value)
    )


def list_users(conn: Connection) -> list[tuple[User, list[Membership]]]:
    users = [_user(r) for r in conn.execute(select(*_USER_COLUMNS).order_by("email"))]
    return [(user, memberships(conn, user.id)) for user in users]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(dashboard_users)).scalar_one())


def remove_user(conn: Connection, user_id: str) -> None:
    """The user, their memberships, links and sessions (signed out at once)."""
    conn.execute(delete(project_members).where(project_members.c.user_id == user_id))
    conn.execute(delete(signin_links).where(signin_links.c.user_id == user_id))
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.user_id == user_id))
    conn.execute(delete(dashboard_users).where(dashboard_users.c.id == user_id))


def set_membership(
    conn: Connection, project_id: str, user_id: str, role: str, *, now: datetime
) -> None:
    """Make the user a member of the project with ``role``, replacing an earlier role."""
    if role not in ROLES:
        raise Conflict(f"role must be admin or viewer; got {role!r}", field="role")
    remove_membership(conn, project_id, user_id)
    conn.execute(
        insert(project_members).values(
            project_id=project_id, user_id=user_id, role=role, created_at=now
        )
    )


def remove_membership(conn: Connection, project_id: str, user_id: str) -> None:
    conn.execute(
        delete(project_members).where(
            project_members.c.project_id == project_id, project_members.c.user_id == user_id
        )
    )


def memberships(conn: Connection, user_id: str) -> list[Membership]:
    """The user's projects, oldest project first."""
    rows = conn.execute(
        select(
            project_members.c.project_id,
            projects.c.name,
            project_members.c.role,
            projects.c.organization_id,
        )
        .join(projects, projects.c.id == project_members.c.project_id)
        .where(project_members.c.user_id == user_id)
        .order_by(projects.c.created_at, projects.c.id)
    )
    return [Membership(r.project_id, r.name, r.role, r.organization_id) for r in rows]


def project_users(conn: Connection, project_id: str) -> list[tuple[User, str]]:
    """The project's members and their roles, by email."""
    rows = conn.execute(
        select(*_USER_COLUMNS, project_members.c.role)
        .join(project_members, project_members.c.user_id == dashboard_users.c.id)
        .where(project_members.c.project_id == project_id)
        .order_by(dashboard_users.c.email)
    )
    return [(_user(r), str(r.role)) for r in rows]


def create_link(
    conn: Connection, user_id: str, token_hash: str, *, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(signin_links).values(
            token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )


def spend_link(conn: Connection, token_hash: str, *, now: datetime) -> str | None:
    """The user of an unused, unexpired link, marking it used; None for any other link."""
    spent = conn.execute(
        update(signin_links)
        .where(
            signin_links.c.token_hash == token_hash,
            signin_links.c.used_at.is_(None),
            signin_links.c.expires_at > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        return None
    user_id = conn.execute(
        select(signin_links.c.user_id).where(signin_links.c.token_hash == token_hash)
    ).scalar_one()
    # Expired links of anyone are of no further use; dropping them keeps the table small.
    conn.execute(delete(signin_links).where(signin_links.c.expires_at <= now))
    return str(user_id)


def create_session(
    conn: Connection,
    token_hash: str,
    user_id: str,
    csrf_token: str,
    *,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.expires_at <= now))
    conn.execute(
        insert(dashboard_sessions).values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=expires_at,
        )
    )


def find_session(conn: Connection, token_hash: str, *, now: datetime) -> SessionRecord | None:
    row = conn.execute(
        select(
            dashboard_sessions.c.user_id,
            dashboard_sessions.c.csrf_token,
            dashboard_sessions.c.expires_at,
        ).where(
            dashboard_sessions.c.token_hash == token_hash, dashboard_sessions.c.expires_at > now
        )
    ).first()
    return SessionRecord(row.user_id, row.csrf_token, row.expires_at) if row else None


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash))


def server_secret(conn: Connection, name: str, *, now: datetime) -> str:
    """The server's secret called ``name``, made (32 random bytes) on first use."""
    found = conn.execute(select(server_secrets.c.value).where(server_secrets.c.name == name))
    value = found.scalar()
    if value is not None:
        return str(value)
    made = secrets.token_urlsafe(32)
    conn.execute(insert(server_secrets).values(name=name, value=made, created_at=now))
    return made
