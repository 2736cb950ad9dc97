"""The settings page (admins of the project): projects, API keys, users, glossary.

Every form is a POST carrying the session's CSRF token; a result that must be shown once
(a new key, a sign-in link) is rendered in the answer and stored nowhere in clear.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection
from starlette.responses import RedirectResponse

from convoscope.auth import KeyType, Viewer, display_prefix, generate_key, hash_key, issue_link
from convoscope.errors import ConvoscopeError, InvalidInput, NotFound
from convoscope.store import Database, Membership
from convoscope.store import annotations as annotation_store
from convoscope.store import keys as key_store
from convoscope.store import users as user_store
from convoscope.web.context import dashboard_auth
from convoscope.web.pages import error_page, page_context, render
from convoscope.web.session import check_csrf, read_form
from convoscope.web.state import parse_state

router = APIRouter(include_in_schema=False)
MAX_GLOSSARY_TERMS = 2000


def _settings_data(conn: Connection, member: Membership) -> dict[str, Any]:
    project = key_store.get_project(conn, member.project_id)
    return {
        "keys": key_store.list_keys(conn, project),
        "members": user_store.project_users(conn, member.project_id),
        "glossary": annotation_store.load_context(conn, member.project_id).glossary,
    }


async def _settings_page(
    request: Request, viewer: Viewer, project_id: str | None, **shown: Any
) -> Response:
    db: Database = request.app.state.db
    member = viewer.require_admin(project_id)
    state = parse_state(request.query_params).with_project(member.project_id)
    data = await db.read(lambda conn: _settings_data(conn, member))
    context = page_context(request, viewer, member, state, "settings")
    context.update(data, integrations=[], has_data=True, key_types=[t.value for t in KeyType])
    context.update(shown)
    return render(request, "settings.html", context)


@router.get("/dashboard/settings")
async def settings_page(request: Request) -> Response:
    viewer = await dashboard_auth(request).viewer(request)
    if viewer is None:
        return RedirectResponse("/dashboard/signin?next=/dashboard/settings", status_code=303)
    try:
        return await _settings_page(request, viewer, request.query_params.get("project"))
    except ConvoscopeError as err:
        return error_page(request, err, viewer)


async def _admin_form(request: Request) -> tuple[Viewer, Membership, dict[str, str]]:
    viewer = await dashboard_auth(request).require_viewer(request)
    form = await read_form(request)
    check_csrf(viewer.csrf_token, form)
    return viewer, viewer.require_admin(form.get("project") or None), form


async def _reload_viewer(request: Request) -> Viewer:
    return await dashboard_auth(request).require_viewer(request)


@router.post("/dashboard/settings/{action}")
async def settings_action(request: Request, action: str) -> Response:
    viewer: Viewer | None = None
    try:
        viewer, member, form = await _admin_form(request)
        handler = _ACTIONS.get(action)
        if handler is None:
            raise NotFound(f"no settings action {action!r}")
        shown, project_id = await handler(request, viewer, member, form)
        return await _settings_page(request, await _reload_viewer(request), project_id, **shown)
    except ConvoscopeError as err:
        return error_page(request, err, viewer)


Shown = tuple[dict[str, Any], str]


async def _create_project(
    request: Request, viewer: Viewer, member: Membership, form: dict[str, str]
) -> Shown:
    name = form.get("name", "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("a project needs a name of 1 to 200 characters", field="name")
    db: Database = request.app.state.db
    now = datetime.now(UTC)

    def create(conn: Connection) -> str:
        project = key_store.create_project(conn, name)
        user_store.set_membership(conn, project.id, viewer.user.id, "admin", now=now)
        return project.id

    project_id = await db.write(create)
    return {"notice": f"Created project {name}; you are its admin."}, project_id


async def _create_key(
    request: Request, viewer: Viewer, member: Membership, form: dict[str, str]
) -> Shown:
    try:
        key_type = KeyType(form.get("type", "api"))
    except ValueError:
        raise InvalidInput("unknown key type", field="type") from None
    name = form.get("name", "").strip()[:200] or None
    key = generate_key()
    db: Database = request.app.state.db

    def create(conn: Connection) -> key_store.KeyRecord:
        project = key_store.get_project(conn, member.project_id)
        return key_store.create_key(
            conn, project, key_type.value, hash_key(key), display_prefix(key), name
        )

    record = await db.write(create)
    return {"new_key": key, "new_key_record": record}, member.project_id


async def _revoke_key(
    request: Request, viewer: Viewer, member: Membership, form: dict[str, str]
) -> Shown:
    key_id = form.get("key_id", "")
    db: Database = request.app.state.db

    def revoke(conn: Connection) -> key_store.KeyRecord:
        project = key_store.get_project(conn, member.project_id)
        # Only a key of this project: the id is looked up among its keys first.
        if key_id not in {k.id for k in key_store.list_keys(conn, project)}:
            raise NotFound(f"no key {key_id!r} in this project")
        return key_store.revoke_key(conn, key_id)

    record = await db.write(revoke)
    return {"notice": f"Revoked key {record.key_prefix}…"}, member.project_id


async def _add_user(
    request: Request, viewer: Viewer, member: Membership, form: dict[str, str]
) -> Shown:
    email = user_store.normalize_email(form.get("email", ""))
    role = form.get("role", "viewer")
    db: Database = request.app.state.db
    now = datetime.now(UTC)
    base_url = request.app.state.settings.base_url

    def add(conn: Connection) -> str:
        user = user_store.find_user(conn, email) or user_store.create_user(conn, email, now=now)
        user_store.set_membership(conn, member.project_id, user.id, role, now=now)
        return issue_link(conn, user, base_url, now=now)

    link = await db.write(add)
    return {"new_link": link, "new_link_email": email}, member.project_id


async def _remove_user(
    request: Request, viewer: Viewer, member: Membership, form: dict[str, str]
) -> Shown:
    user_id = form.get("user_id", "")
    if user_id == viewer.user.id:
        raise InvalidInput("you cannot remove yourself from the project", field="user_id")
    db: Database = request.app.state.db
    await db.write(lambda conn: user_store.remove_membership(conn, member.project_id, user_id))
    return {"notice": "Removed the user from the project."}, member.project_id


async def _set_glossary(
    request: Request, viewer: Viewer, member: Membership, form: dict[str, str]
) -> Shown:
    terms = sorted(
        {t.strip() for t in form.get("terms", "").splitlines() if t.strip()}, key=str.casefold
    )
    if len(terms) > MAX_GLOSSARY_TERMS:
        raise InvalidInput(f"at most {MAX_GLOSSARY_TERMS} glossary terms", field="terms")
    db: Database = request.app.state.db

    def save(conn: Connection) -> None:
        stored = annotation_store.load_context(conn, member.project_id)
        annotation_store.save_context(
            conn,
            member.project_id,
            annotation_store.StoredContext(
                terms, stored.learned_glossary, stored.category_model, stored.fitted_threads
            ),
        )

    await db.write(save)
    return {"notice": f"Saved {len(terms)} glossary terms."}, member.project_id


_ACTIONS = {
    "projects": _create_project,
    "keys": _create_key,
    "keys-revoke": _revoke_key,
    "users": _add_user,
    "users-remove": _remove_user,
    "glossary": _set_glossary,
}
