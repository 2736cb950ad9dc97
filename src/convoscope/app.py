"""The ASGI application: ``create_app(settings)`` wires everything; nothing runs at import."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine
from starlette.routing import Route

from convoscope import __version__
from convoscope.annotate import (
    AnnotationWorker,
    SubprocessRunner,
    WorkerSettings,
    configured_analyzer,
)
from convoscope.api import (
    RequestContextMiddleware,
    build_api_routers,
    install_openapi,
    install_problem_handlers,
    refuse_unstorable_input,
)
from convoscope.auth import KeyVerifier
from convoscope.indexing import PathAdvisor, upgrade
from convoscope.mcp import PATH as mcp_path
from convoscope.mcp import McpEndpoint
from convoscope.otlp import router as otlp_router
from convoscope.privacy import RetentionJob
from convoscope.redaction.presidio import use_configured_model
from convoscope.settings import Settings, load_settings
from convoscope.store import Database, Lease, Leased, StatisticsUpkeep, make_engine
from convoscope.web import mount_dashboard


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    """The convoscope server. Migrates the database on start unless told not to."""
    settings = settings or load_settings()
    mcp = McpEndpoint()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine, db = _open_database(stack, settings, migrate=migrate)
            app.state.db = db
            app.state.key_verifier = KeyVerifier(db, cache_seconds=settings.key_cache_seconds)
            advisor = PathAdvisor(
                db, auto=settings.auto_index, slow_seconds=settings.auto_index_seconds, leased=True
            )
            app.state.path_advisor = advisor
            await _start_jobs(stack, engine, db, advisor, settings)
            await stack.enter_async_context(mcp.running())
            if settings.pii_model:
                use_configured_model(settings.pii_model)
            settle_garbage_collector()
            yield

    app = FastAPI(
        title="convoscope",
        version=__version__,
        summary="Self-hosted analytics for AI-assistant conversations "
        "(Inkeep Analytics API compatible).",
        lifespan=lifespan,
        dependencies=[Depends(refuse_unstorable_input)],
    )
    app.state.settings = settings
    _route(app, settings, mcp)
    return app


def _open_database(
    stack: AsyncExitStack, settings: Settings, *, migrate: bool
) -> tuple[Engine, Database]:
    """The engines (migrated first unless told not to) and the database with its writer
    started, each closed by ``stack``: the writer stops after the last request, so queued
    writes still commit."""
    engine = make_engine(settings.database_url)
    stack.callback(engine.dispose)
    if migrate:
        upgrade(engine)
    replicas = [make_engine(url) for url in settings.read_database_urls]
    for replica in replicas:
        stack.callback(replica.dispose)
    db = Database(
        engine,
        write_batch_size=settings.write_batch_size,
        write_queue_limit=settings.write_queue_limit,
        replicas=replicas,
        write_connections=settings.write_connections,
    )
    db.start()
    stack.callback(db.writer.stop)
    return engine, db


async def _start_jobs(
    stack: AsyncExitStack, engine: Engine, db: Database, advisor: PathAdvisor, settings: Settings
) -> None:
    """The background jobs. Each runs in one server process at a time (store/leases.py),
    and each is entered after the writer started, so it stops before the writer does."""
    poll = settings.lease_poll_seconds
    await stack.enter_async_context(
        Leased(Lease(engine, "indexing"), advisor.builds, poll_seconds=poll)
    )
    await stack.enter_async_context(
        Leased(Lease(engine, "statistics"), lambda: StatisticsUpkeep(db), poll_seconds=poll)
    )
    if settings.annotation_worker:
        await stack.enter_async_context(
            Leased(
                Lease(engine, "annotation"), lambda: make_worker(db, settings), poll_seconds=poll
            )
        )
    await stack.enter_async_context(
        Leased(
            Lease(engine, "retention"),
            lambda: RetentionJob(db, interval_seconds=settings.retention_interval_seconds),
            poll_seconds=poll,
        )
    )


def _route(app: FastAPI, settings: Settings, mcp: McpEndpoint) -> None:
    """The API, the OTLP intake, MCP and the dashboard, with the error handlers, the
    OpenAPI document and the request middleware around them."""
    for router in build_api_routers():
        app.include_router(router)
    app.include_router(otlp_router)
    # An ASGI route, not a FastAPI one: the MCP SDK reads and answers the HTTP itself.
    app.router.routes.append(Route(mcp_path, mcp))
    mount_dashboard(app, settings)
    install_problem_handlers(app)
    install_openapi(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_sends_in_progress=settings.write_queue_limit,
    )


def create_served_app() -> FastAPI:
    """The app as ``convoscope serve`` runs it in each server process, migrated before."""
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    return create_app(settings, migrate=False)


def settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the request path.

    Every request allocates a few hundred short-lived containers, so with CPython's
    defaults (a collection every 700 allocations, and a full one every 100 of those)
    the collector took over a quarter of the event loop's time while logging
    conversations, most of it walking the hundreds of thousands of long-lived objects
    that FastAPI, pydantic and SQLAlchemy create at import. Freezing them after start
    takes them out of every later collection, and a larger first generation makes
    collections rarer; request garbage is nearly all freed by reference counting anyway.
    """
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    # Conversations on SQLite from 16 clients: 1,380 req/s before; frozen, 1,553 with the
    # default threshold of 700 and 1,626 with 10,000 (50,000 measured no better).
    gc.set_threshold(10_000, middle, oldest)


def make_worker(db: Database, settings: Settings) -> AnnotationWorker:
    return AnnotationWorker(
        db,
        SubprocessRunner(configured_analyzer),
        WorkerSettings(
            batch_size=settings.annotation_batch_size,
            poll_seconds=settings.annotation_poll_seconds,
        ),
    )
