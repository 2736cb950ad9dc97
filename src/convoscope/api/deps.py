"""Request dependencies, as ``Annotated`` aliases handlers can name."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from convoscope.auth import Caller, KeyVerifier, require_read
from convoscope.indexing import PathAdvisor
from convoscope.settings import Settings
from convoscope.sql import INT64_MAX
from convoscope.store import Database


# Async, though they do no I/O: FastAPI runs a plain function dependency on a worker
# thread, a hop that cost more than the rest of the dependency resolution together.
async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_path_advisor(request: Request) -> PathAdvisor:
    advisor: PathAdvisor = request.app.state.path_advisor
    return advisor


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def authenticate(request: Request) -> Caller:
    verifier: KeyVerifier = request.app.state.key_verifier
    return await verifier.verify(request.headers.get("authorization"))


async def authenticate_reader(request: Request) -> Caller:
    caller = await authenticate(request)
    require_read(caller)
    return caller


Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
Advisor = Annotated[PathAdvisor, Depends(get_path_advisor)]
# Any valid key: the write operations, and the reads the SDK offers a web key for.
AnyKey = Annotated[Caller, Depends(authenticate)]
# An api key: everything that returns stored data to the caller.
ReadKey = Annotated[Caller, Depends(authenticate_reader)]

# Rows to skip when paging; the databases take at most a 64-bit integer (a larger one
# was a 500 on SQLite).
Offset = Annotated[int | None, Query(ge=0, le=INT64_MAX)]
