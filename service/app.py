"""The application factory: the one place where the service's parts are assembled.

``create_app(settings)`` builds nothing at import time. Its lifespan opens the database, starts
the embedded model when no server is configured, installs the local trace store as the only
trace processor, builds both pipelines from ``agents_config/`` and, on shutdown, undoes all of
it in reverse (rounds still running are stored as cancelled; the model process is stopped).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agents import set_trace_processors
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .agent_specs import AgentSpec, load_agents_config
from .api import comparisons, games, meta, rounds, traces
from .api.access import RateLimiter, current_player
from .api.deps import ServiceState
from .api.limits import RequestBodyGuard
from .comparisons import ComparisonRunner
from .embedded.process import EmbeddedModelProcess
from .llm_client import build_client
from .pipelines.agents_sdk import AgentsPipeline, ModelFactory
from .pipelines.base import Pipeline, PipelineSetup
from .pipelines.chat_baseline import ChatPipeline
from .questions.source import QuestionSource
from .retry import RetryPolicy
from .rounds.runner import RoundRunner
from .rounds.tools import build_tools
from .settings import Settings, get_settings
from .storage.db import Database
from .storage.games import GameStore
from .storage.rounds import RoundStore
from .storage.traces import TraceStore
from .tracing.otlp import build_otlp_processor
from .tracing.store_processor import StoreTracingProcessor
from .web.pages import include_web

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, model_factory: ModelFactory | None = None
) -> FastAPI:
    """Build the FastAPI app.

    ``model_factory`` replaces the models of the ``agents`` pipeline (tests pass scripted
    models); by default each role gets an ``OpenAIChatCompletionsModel`` on the shared client.
    """
    settings = settings or get_settings()
    config = load_agents_config(settings.agents_config_dir)  # fail fast on a bad config

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        await asyncio.to_thread(database.create_tables)
        round_store = RoundStore(database)
        game_store = GameStore(database)
        await asyncio.to_thread(game_store.fail_unfinished_comparisons)
        interrupted = await asyncio.to_thread(round_store.fail_unfinished_rounds)
        if interrupted:
            logger.warning(
                "%d round(s) left running by a previous process marked failed", interrupted
            )
        trace_store = TraceStore(database)
        processor = StoreTracingProcessor(trace_store, secrets=settings.secrets())
        otlp = build_otlp_processor(
            include_content=settings.trace_include_content, secrets=settings.secrets()
        )
        set_trace_processors([processor] if otlp is None else [processor, otlp.processor])

        model_process: EmbeddedModelProcess | None = None
        try:
            if settings.uses_embedded_model:
                model_process = EmbeddedModelProcess(settings)
                base_url = await model_process.start()
            else:
                assert settings.llm_base_url is not None
                base_url = settings.llm_base_url
            client = build_client(settings, base_url)
            setup = PipelineSetup(
                config=config,
                tools=build_tools(config),
                profile=settings.profile(),
                default_model=settings.model_name,
                include_content_in_traces=settings.trace_include_content,
                retry=RetryPolicy(
                    max_retries=settings.llm_max_retries, base_delay=settings.llm_retry_base_delay
                ),
                call_timeout=settings.llm_timeout,
            )

            def openai_model(role: str, spec: AgentSpec) -> OpenAIChatCompletionsModel:
                return OpenAIChatCompletionsModel(
                    model=spec.model or settings.model_name, openai_client=client
                )

            pipelines: dict[str, Pipeline] = {
                "agents": AgentsPipeline(setup, model_factory or openai_model),
                "chat": ChatPipeline(setup, client),
            }
            questions = QuestionSource(config.questions)
            runner = RoundRunner(
                pipelines=pipelines,
                questions=questions,
                store=round_store,
                model_name=settings.model_name,
                round_timeout=settings.round_timeout,
                answer_timeout=settings.answer_timeout,
                secrets=settings.secrets(),
                on_outcome=lambda trace_id, error, role: processor.record_outcome(
                    trace_id, error=error, role=role
                ),
                on_disconnect=settings.on_disconnect,
                disconnect_grace=settings.disconnect_grace,
            )
            comparisons_runner = ComparisonRunner(
                runner=runner,
                rounds=round_store,
                games=game_store,
                traces=trace_store,
                flush_traces=processor.flush,
                prices=config.prices,
            )
            app.state.service = ServiceState(
                settings=settings,
                setup=setup,
                questions=questions,
                rounds=round_store,
                games=game_store,
                traces=trace_store,
                runner=runner,
                tracing=processor,
                comparisons=comparisons_runner,
                limiter=RateLimiter(settings.rate_limit_rounds_per_minute),
                model_server="embedded" if model_process else "remote",
            )
            retention = asyncio.create_task(
                _enforce_retention(settings, trace_store), name="trace retention"
            )
            warm_up = asyncio.create_task(
                asyncio.to_thread(questions.warm_up), name="question warm-up"
            )
            yield
            retention.cancel()
            warm_up.cancel()
            for comparison in list(comparisons_runner.live.values()):
                if comparison.task is not None:
                    comparison.task.cancel()
            await runner.shutdown()
            await client.close()
        finally:
            if model_process is not None:
                await model_process.stop()
            processor.force_flush()
            processor.shutdown()
            if otlp is not None:
                await asyncio.to_thread(otlp.shutdown, 5.0)
            database.close()

    app = FastAPI(
        title="quizrelay",
        version="0.1.0",
        summary="Multi-agent quiz rounds, streamed, traced and compared.",
        lifespan=lifespan,
    )
    authenticated = [Depends(current_player)]  # every /api route, when tokens are configured
    app.include_router(meta.router)
    app.include_router(rounds.router, dependencies=authenticated)
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


RETENTION_INTERVAL_SECONDS = 60.0


async def _enforce_retention(settings: Settings, store: TraceStore) -> None:
    """Apply the trace retention caps at start-up and then every minute."""
    if settings.trace_retention_max_traces is None and settings.trace_retention_days is None:
        return
    while True:
        try:
            removed = await asyncio.to_thread(
                store.prune,
                max_traces=settings.trace_retention_max_traces,
                max_age_days=settings.trace_retention_days,
            )
            if removed:
                logger.info("trace retention removed %d trace(s)", removed)
        except Exception:
            logger.exception("trace retention failed; will retry")
        await asyncio.sleep(RETENTION_INTERVAL_SECONDS)
