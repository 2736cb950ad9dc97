"""The dashboard's pages: server-rendered shells whose numbers come from the data calls
(``web/data.py``), and the sign-in pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection
from starlette.responses import RedirectResponse
from starlette.templating import Jinja2Templates

from convoscope.auth import Viewer, hash_password, hash_token, new_token, verify_password
from convoscope.errors import ConvoscopeError
from convoscope.query import CONVERSATIONS
from convoscope.store import Database, Membership
from convoscope.store import keys as key_store
from convoscope.store import users as user_store
from convoscope.web import listing
from convoscope.web.context import dashboard_auth
from convoscope.web.markdown import render_markdown
from convoscope.web.session import (
    CSRF_FIELD,
    SIGNIN_CSRF_COOKIE,
    check_csrf,
    read_form,
)
from convoscope.web.state import RANGES, ViewState, parse_state
from convoscope.web.window import run

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["markdown"] = render_markdown

NAV = (
    ("overview", "Overview", "/"),
    ("conversations", "Conversations", "/dashboard/conversations"),
    ("topics", "Topics", "/dashboard/topics"),
    ("gaps", "Gaps", "/dashboard/gaps"),
    ("search", "Search", "/dashboard/search"),
)


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> Response:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    # Pages hold a session's data: never cached, never framed by another site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    return response


def error_page(request: Request, err: ConvoscopeError, viewer: Viewer | None) -> Response:
    return render(
        request,
        "error.html",
        {"viewer": viewer, "status": err.status, "title": err.title, "detail": err.detail},
        status=err.status,
    )


def _signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/signin?next={quote(target)}", status_code=303)


PageBody = Callable[[Request, dict[str, Any]], Awaitable[dict[str, Any]]]


async def page(
    request: Request, name: str, template: str, more: PageBody | None = None
) -> Response:
    """A page of a project's view: the signed-in person, the project and the view's
    choices; sign-in first, 404 for a project that is not theirs."""
    viewer = await dashboard_auth(request).viewer(request)
    if viewer is None:
        return _signin_redirect(request)
    try:
        state = parse_state(request.query_params)
        member = viewer.membership(state.project)
        state = state.with_project(member.project_id)
        db: Database = request.app.state.db
        integrations, has_data = await db.read(
            lambda conn: (
                key_store.list_integrations(conn, member.project_id),
                _has_conversations(conn, member.project_id),
            )
        )
        context = page_context(request, viewer, member, state, name)
        context.update(integrations=integrations, has_data=has_data)
        if more is not None:
            context.update(await more(request, context))
    except ConvoscopeError as err:
        return error_page(request, err, viewer)
    return render(request, template, context)


def _has_conversations(conn: Connection, project_id: str) -> bool:
    return bool(run(conn, CONVERSATIONS, {"select": [{"type": "field", "field": "id"}]},
                    project_id, limit=1))  # fmt: skip


def page_context(
    request: Request, viewer: Viewer, member: Membership, state: ViewState, name: str
) -> dict[str, Any]:
    """What every dashboard page's template reads: the viewer, the view, the navigation."""
    window = state.window()
    return {
        "viewer": viewer,
        "member": member,
        "state": state,
        "page": name,
        "nav": NAV,
        "ranges": (*RANGES, "custom"),
        "window_start": window.start,
        "window_end": window.end,
        "csrf": viewer.csrf_token,
        "csrf_field": CSRF_FIELD,
        "base_url": request.app.state.settings.base_url,
        "path": request.url.path,
    }


@router.get("/")
async def overview(request: Request) -> Response:
    return await page(request, "overview", "overview.html")


@router.get("/dashboard/conversations")
async def conversations(request: Request) -> Response:
    return await page(request, "conversations", "conversations.html")


@router.get("/dashboard/conversations/{conversation_id}")
async def conversation(request: Request, conversation_id: str) -> Response:
    async def detail(request: Request, context: dict[str, Any]) -> dict[str, Any]:
        db: Database = request.app.state.db
        scope = context["viewer"].scope(context["member"].project_id)
        found = await db.read(
            lambda conn: listing.conversation_detail(conn, scope, conversation_id)
        )
        return {"conversation": found}

    return await page(request, "conversations", "conversation.html", detail)


@router.get("/dashboard/topics")
async def topics(request: Request) -> Response:
    return await page(request, "topics", "topics.html")


@router.get("/dashboard/gaps")
async def gaps(request: Request) -> Response:
    return await page(request, "gaps", "gaps.html")


@router.get("/dashboard/search")
async def search(request: Request) -> Response:
    return await page(request, "search", "search.html")


# --- Sign-in ----------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (``//evil`` or ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _signin_form(
    request: Request, *, error: str | None = None, status: int = 200, next_url: str = "/"
) -> Response:
    # The token already set is kept, so that two open sign-in forms both work.
    token = request.cookies.get(SIGNIN_CSRF_COOKIE) or new_token()
    response = render(
        request,
        "signin.html",
        {"viewer": None, "error": error, "csrf": token, "csrf_field": CSRF_FIELD,
         "next": next_url},
        status=status,
    )  # fmt: skip
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=dashboard_auth(request).secure_cookie,
        path="/dashboard/signin",
    )
    return response


@router.get("/dashboard/signin")
async def signin_page(request: Request) -> Response:
    return _signin_form(request, next_url=_safe_next(request.query_params.get("next")))


@router.post("/dashboard/signin")
async def signin(request: Request) -> Response:
    auth = dashboard_auth(request)
    db: Database = request.app.state.db
    try:
        form = await read_form(request)
        check_csrf(request.cookies.get(SIGNIN_CSRF_COOKIE), form)
        email = user_store.normalize_email(form.get("email", ""))
        address = request.client.host if request.client else "?"
        keys = (f"email:{email}", f"address:{address}")
        auth.limiter.check(*keys)
        found = await db.read(lambda conn: _user_and_hash(conn, email))
        # The hash is verified even for an unknown email, so timing tells nothing.
        user, stored = found if found else (None, None)
        ok = verify_password(stored or _dummy_hash(), form.get("password", ""))
        if user is None or stored is None or not ok:
            auth.limiter.fail(*keys)
            return _signin_form(
                request, error="That email and password do not match.", status=401,
                next_url=_safe_next(form.get("next")),
            )  # fmt: skip
    except ConvoscopeError as err:
        return error_page(request, err, None)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    await auth.start(request, response, user.id)
    return response


def _user_and_hash(conn: Connection, email: str) -> tuple[user_store.User, str | None] | None:
    user = user_store.find_user(conn, email)
    return None if user is None else (user, user_store.password_hash(conn, user.id))


@cache
def _dummy_hash() -> str:
    return hash_password(new_token())


@router.get("/dashboard/signin/{token}")
async def signin_by_link(request: Request, token: str) -> Response:
    db: Database = request.app.state.db
    now = datetime.now(UTC)
    digest = hash_token(token)
    user_id = await db.write(lambda conn: user_store.spend_link(conn, digest, now=now))
    if user_id is None:
        return _signin_form(
            request,
            error="This sign-in link has expired or was used already; ask for a new one "
            "(convoscope users link EMAIL).",
            status=401,
        )
    response = RedirectResponse("/", status_code=303)
    await dashboard_auth(request).start(request, response, user_id)
    return response


@router.post("/dashboard/signout")
async def signout(request: Request) -> Response:
    auth = dashboard_auth(request)
    viewer = await auth.viewer(request)
    try:
        check_csrf(viewer.csrf_token if viewer else None, await read_form(request))
    except ConvoscopeError as err:
        return error_page(request, err, viewer)
    response = RedirectResponse("/dashboard/signin", status_code=303)
    await auth.end(request, response)
    return response
