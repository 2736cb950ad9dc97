"""``/healthz``: the server is up and its database answers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from convoscope import __version__
from convoscope.api.deps import Db
from convoscope.api.responses import JSONResponse

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get(
    "/healthz",
    operation_id="healthz",
    summary="Liveness and database check",
    responses={200: {"model": Health}},
)
async def healthz(db: Db) -> JSONResponse:
    if db.writer.failure is not None:  # reads may work, but no write can be stored
        raise db.writer.failure
    await db.read(lambda conn: conn.execute(text("select 1")).scalar_one())
    return JSONResponse({"status": "ok", "version": __version__, "database": db.dialect.value})
