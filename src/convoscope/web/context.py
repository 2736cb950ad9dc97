"""What every dashboard request resolves first: who is asking, about which project and view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import Connection

from convoscope.auth import Viewer
from convoscope.query import run_limited
from convoscope.settings import Settings
from convoscope.store import Database, Membership, Scope
from convoscope.web.session import DashboardAuth
from convoscope.web.state import ViewState, parse_state

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ViewContext:
    viewer: Viewer
    member: Membership
    state: ViewState
    db: Database
    settings: Settings

    @property
    def project_id(self) -> str:
        return self.member.project_id

    @property
    def scope(self) -> Scope:
        return self.viewer.scope(self.member.project_id)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on an analytics reader (a replica when there are some), under the query
        time limit."""
        seconds = self.settings.query_timeout_seconds
        return await self.db.read_analytics(lambda conn: run_limited(conn, seconds, fn))


def dashboard_auth(request: Request) -> DashboardAuth:
    auth: DashboardAuth = request.app.state.dashboard_auth
    return auth


async def resolve_view(
    request: Request,
    project: Annotated[str | None, Query(description="Project id.")] = None,
    range: Annotated[str | None, Query(description="24h, 7d, 30d, 90d or custom.")] = None,
    start: Annotated[
        str | None, Query(alias="from", description="First day of a custom range.")
    ] = None,
    to: Annotated[str | None, Query(description="Last day of a custom range.")] = None,
    integration: Annotated[str | None, Query(description="Only this integration.")] = None,
) -> ViewContext:
    """The signed-in person (401 without a session) and the project of the view (404 for
    a project they are not a member of)."""
    viewer = await dashboard_auth(request).require_viewer(request)
    state = parse_state(request.query_params)
    member = viewer.membership(state.project)
    return ViewContext(
        viewer, member, state.with_project(member.project_id), request.app.state.db,
        request.app.state.settings,
    )  # fmt: skip


View = Annotated[ViewContext, Depends(resolve_view)]
