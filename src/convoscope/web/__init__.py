"""The dashboard: pages and their data calls, served by the same app as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from convoscope.settings import Settings
from convoscope.web import admin, data, pages
from convoscope.web.session import DashboardAuth

STATIC = Path(__file__).parent / "static"


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    app.state.dashboard_auth = DashboardAuth(secure_cookie=settings.base_url.startswith("https://"))
    app.include_router(data.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
