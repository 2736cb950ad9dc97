"""Organizations, projects, integrations and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, update

from convoscope.errors import Conflict, NotFound
from convoscope.store.ids import new_id
from convoscope.store.tables import api_keys, integrations, organizations, projects

DEFAULT_ORGANIZATION = "default"


@dataclass(slots=True, frozen=True)
class Project:
    id: str
    organization_id: str
    name: str


@dataclass(slots=True, frozen=True)
class KeyRecord:
    id: str
    project_id: str
    organization_id: str
    integration_id: str
    key_type: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None
    project_name: str = ""


def ensure_organization(conn: Connection) -> str:
    """The id of the one organization, created on first use."""
    existing = conn.execute(select(organizations.c.id).limit(1)).scalar()
    if existing is not None:
        return str(existing)
    org_id = new_id("org")
    conn.execute(
        insert(organizations).values(
            id=org_id, name=DEFAULT_ORGANIZATION, created_at=datetime.now(UTC)
        )
    )
    return org_id


def create_project(conn: Connection, name: str) -> Project:
    org_id = ensure_organization(conn)
    if find_project(conn, name) is not None:
        raise Conflict(f"a project named {name!r} already exists", field="name")
    project = Project(id=new_id("proj"), organization_id=org_id, name=name)
    conn.execute(
        insert(projects).values(
            id=project.id, organization_id=org_id, name=name, created_at=datetime.now(UTC)
        )
    )
    return project


def find_project(conn: Connection, name_or_id: str) -> Project | None:
    row = conn.execute(
        select(projects.c.id, projects.c.organization_id, projects.c.name).where(
            (projects.c.name == name_or_id) | (projects.c.id == name_or_id)
        )
    ).first()
    return Project(row.id, row.organization_id, row.name) if row else None


def get_project(conn: Connection, name_or_id: str) -> Project:
    project = find_project(conn, name_or_id)
    if project is None:
        raise NotFound(f"no project named {name_or_id!r}")
    return project


def list_projects(conn: Connection) -> list[Project]:
    rows = conn.execute(
        select(projects.c.id, projects.c.organization_id, projects.c.name).order_by(
            projects.c.created_at, projects.c.id
        )
    )
    return [Project(r.id, r.organization_id, r.name) for r in rows]


def count_projects(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(projects)).scalar_one())


def create_key(
    conn: Connection,
    project: Project,
    key_type: str,
    key_hash: str,
    key_prefix: str,
    integration_name: str | None = None,
) -> KeyRecord:
    """A new key, in a new integration of the key's type (one integration per key)."""
    now = datetime.now(UTC)
    integration_id = new_id("int")
    conn.execute(
        insert(integrations).values(
            project_id=project.id,
            id=integration_id,
            name=integration_name or f"{key_type} integration",
            type=key_type,
            created_at=now,
        )
    )
    key_id = new_id("key")
    conn.execute(
        insert(api_keys).values(
            project_id=project.id,
            id=key_id,
            integration_id=integration_id,
            key_hash=key_hash,
            key_prefix=key_prefix,
            created_at=now,
        )
    )
    return KeyRecord(
        key_id,
        project.id,
        project.organization_id,
        integration_id,
        key_type,
        key_prefix,
        now,
        None,
        project.name,
    )


def _key_query() -> Select[Any]:
    return (
        select(
            api_keys.c.id,
            api_keys.c.project_id,
            projects.c.organization_id,
            api_keys.c.integration_id,
            integrations.c.type.label("key_type"),
            api_keys.c.key_prefix,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
            projects.c.name.label("project_name"),
        )
        .join(projects, projects.c.id == api_keys.c.project_id)
        .join(
            integrations,
            (integrations.c.project_id == api_keys.c.project_id)
            & (integrations.c.id == api_keys.c.integration_id),
        )
    )


def find_key_by_hash(conn: Connection, key_hash: str) -> KeyRecord | None:
    row = conn.execute(_key_query().where(api_keys.c.key_hash == key_hash)).first()
    return KeyRecord(*row) if row else None


def list_keys(conn: Connection, project: Project | None = None) -> list[KeyRecord]:
    query = _key_query().order_by(api_keys.c.created_at, api_keys.c.id)
    if project is not None:
        query = query.where(api_keys.c.project_id == project.id)
    return [KeyRecord(*row) for row in conn.execute(query)]


def revoke_key(conn: Connection, key_id_or_prefix: str) -> KeyRecord:
    matches = [
        k for k in list_keys(conn) if k.id == key_id_or_prefix or k.key_prefix == key_id_or_prefix
    ]
    if not matches:
        raise NotFound(f"no key with id or prefix {key_id_or_prefix!r}")
    if len(matches) > 1:
        raise Conflict(f"{key_id_or_prefix!r} matches {len(matches)} keys; give the key id")
    key = matches[0]
    if key.revoked_at is None:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.project_id == key.project_id, api_keys.c.id == key.id)
            .values(revoked_at=datetime.now(UTC))
        )
    return key


@dataclass(slots=True, frozen=True)
class Integration:
    id: str
    name: str
    type: str


def list_integrations(conn: Connection, project_id: str) -> list[Integration]:
    rows = conn.execute(
        select(integrations.c.id, integrations.c.name, integrations.c.type)
        .where(integrations.c.project_id == project_id)
        .order_by(integrations.c.created_at, integrations.c.id)
    )
    return [Integration(r.id, r.name, r.type) for r in rows]
