"""The dashboard: pages and their data calls, served by the same app as the API.

The pages, FastAPI and Jinja load when the dashboard is mounted, not when a part that
shares its reports (``listing``, ``reports``, ``window``; the MCP tools) is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convoscope.lazy import lazy_exports

if TYPE_CHECKING:
    from fastapi import FastAPI

    from convoscope.settings import Settings
    from convoscope.web.window import Window

__all__ = ["Window", "mount_dashboard"]


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    from pathlib import Path

    from starlette.staticfiles import StaticFiles

    from convoscope.web import admin, data, pages
    from convoscope.web.session import DashboardAuth

    static = Path(__file__).parent / "static"
    app.state.dashboard_auth = DashboardAuth(secure_cookie=settings.base_url.startswith("https://"))
    app.include_router(data.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.mount("/dashboard/static", StaticFiles(directory=static), name="dashboard-static")


if not TYPE_CHECKING:
    __getattr__ = lazy_exports(__name__, {"window": ("Window",)})
