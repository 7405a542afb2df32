"""The application factory: the one place where the service's parts are assembled.

``create_app(settings)`` builds nothing at import time. Its lifespan migrates and opens the
database, picks the backends once (in-process, or Redis when ``QUIZRELAY_REDIS_URL`` is set;
:mod:`.backends`), and — when this process plays rounds — starts the model, the pipelines and a
worker (:mod:`.assembly`). On shutdown it undoes all of it in reverse: the worker drains (rounds
still running are handed back to the queue, to be resumed), the model process is stopped.

A process is an API, a worker, or both. The embedded mode is always both (its queue lives in
the process). In the distributed mode ``quizrelay serve`` is an API only unless started with
``--with-worker``, and ``quizrelay worker`` is a worker that serves only health and metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .agent_specs import load_agents_config
from .api import agui, comparisons, games, meta, rounds, traces
from .api.access import current_player
from .api.deps import ServiceState
from .api.limits import RequestBodyGuard
from .assembly import playing
from .backends import build_backends
from .comparisons.service import ComparisonService
from .execution.service import RoundService
from .metrics import Metrics
from .named_models import load_models
from .pipelines.sdk_agents import ModelFactory
from .questions.source import QuestionSource
from .rounds.planning import Planner
from .settings import Settings, get_settings
from .storage.comparisons import ComparisonStore
from .storage.db import Database
from .storage.games import GameStore
from .storage.rounds import RoundStore
from .storage.traces import TraceStore
from .storage.urls import async_url
from .web.pages import include_web

logger = logging.getLogger(__name__)

PIPELINES = ["agents", "agents-tools", "chat"]

Role = Literal["api", "worker", "both"]


def create_app(
    settings: Settings | None = None,
    *,
    model_factory: ModelFactory | None = None,
    role: Role | None = None,
    concurrency: int | None = None,
) -> FastAPI:
    """Build the FastAPI app.

    ``role``: ``api`` (routes only), ``worker`` (plays rounds; serves health and metrics) or
    ``both``; by default ``both`` in the embedded mode and ``api`` in the distributed one.
    ``model_factory`` replaces the models of the ``agents`` pipeline (tests pass scripted
    models); by default each role gets an ``OpenAIChatCompletionsModel`` on the shared client.
    """
    settings = settings or get_settings()
    config = load_agents_config(settings.agents_config_dir)  # fail fast on a bad config
    async_url(settings.database_url)  # and on a database driver that is not installed
    models = load_models(settings)  # and on a bad models file
    if role is None:
        role = "both" if settings.redis_url is None else "api"
    if role == "api" and settings.redis_url is None:
        role = "both"  # nothing else could play its rounds: the queue is in this process
    plays = role in ("worker", "both")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = Database(
                settings.database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
            )
            stack.push_async_callback(database.close)
            if settings.migrate_on_start:
                await database.migrate()
            backends = build_backends(
                settings,
                concurrency=(concurrency or settings.worker_concurrency) if plays else None,
            )
            stack.push_async_callback(backends.close)
            metrics = Metrics()
            questions = QuestionSource(config.questions)
            planner = Planner(
                questions=questions,
                pipelines=PIPELINES,
                models=list(models),
                default_model=settings.model_name,
            )
            round_store = RoundStore(database)
            round_service = RoundService(
                database=database,
                rounds=round_store,
                queue=backends.queue,
                log=backends.log,
                signals=backends.signals,
                metrics=metrics,
                on_disconnect=settings.on_disconnect,
                disconnect_grace=settings.disconnect_grace,
            )
            comparison_service = ComparisonService(
                database=database,
                store=ComparisonStore(database),
                queue=backends.queue,
                log=backends.log,
                signals=backends.signals,
            )
            state = ServiceState(
                settings=settings,
                config=config,
                database=database,
                backends=backends,
                metrics=metrics,
                questions=questions,
                planner=planner,
                rounds=round_service,
                round_store=round_store,
                games=GameStore(database),
                comparisons=comparison_service,
                traces=TraceStore(database),
                model_server="none",
                profile=settings.profile(),
                pipelines=PIPELINES,
                models=models,
            )
            if plays:
                played = await stack.enter_async_context(
                    playing(
                        settings=settings,
                        config=config,
                        database=database,
                        backends=backends,
                        metrics=metrics,
                        questions=questions,
                        planner=planner,
                        round_service=round_service,
                        model_factory=model_factory,
                        concurrency=concurrency or settings.worker_concurrency,
                    )
                )
                state.worker = played.worker
                state.tracing = played.tracing
                state.profile = played.profile
                state.model_server = played.model_server  # type: ignore[assignment]
            app.state.service = state
            app.state.loop = asyncio.get_running_loop()  # for callers in other threads (tests)
            yield

    app = FastAPI(
        title="quizrelay",
        version="0.1.0",
        summary="Multi-agent quiz rounds, streamed, traced and compared.",
        lifespan=lifespan,
    )
    app.add_exception_handler(OperationalError, _dependency_down)
    app.add_exception_handler(DBAPIError, _dependency_down)
    app.add_exception_handler(PoolTimeout, _dependency_down)
    app.add_exception_handler(RedisError, _dependency_down)
    app.include_router(meta.router)
    if role != "worker":
        authenticated = [Depends(current_player)]  # every /api route, when tokens are set
        app.include_router(rounds.router, dependencies=authenticated)
        app.include_router(agui.router, dependencies=authenticated)
        app.include_router(traces.router, dependencies=authenticated)
        app.include_router(games.router, dependencies=authenticated)
        app.include_router(comparisons.router, dependencies=authenticated)
        include_web(app)
    app.add_middleware(RequestBodyGuard, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list(),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    return app


async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
    """A database or Redis that does not answer is a 503 with a reason, never a 500."""
    which = "Redis" if isinstance(exc, RedisError) else "the database"
    logger.warning("%s %s: %s unavailable (%s)", request.method, request.url.path, which, exc)
    return JSONResponse(
        {"detail": f"{which} is unavailable right now; retry in a few seconds"},
        status_code=503,
        headers={"Retry-After": "5"},
    )
