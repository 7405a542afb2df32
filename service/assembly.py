"""Where a process that plays rounds is put together: model, pipelines, tracing, executors.

:func:`playing` is used by the app factory when the process runs a worker (always in the
embedded mode; with ``--with-worker`` or as ``quizrelay worker`` in the distributed one). It
starts the embedded model if no model server is configured, builds both pipelines on one
``openai`` client, routes this process's traces to its own store (and OTLP, if configured), and
starts the worker; leaving the block drains the worker and stops everything in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from .agent_specs import AgentsConfig
from .backends import Backends
from .catalog import PipelineBuilder, PipelineCatalog
from .comparisons.runner import ComparisonExecutor
from .execution.claims import Claims
from .execution.executor import RoundExecutor
from .execution.leases import LeaseKeeper
from .execution.service import RoundService
from .execution.sweeper import Sweeper
from .execution.worker import Worker, new_worker_id
from .metrics import Metrics
from .named_models import load_models, model_secrets
from .pipelines.agents_sdk import AgentsPipeline
from .pipelines.agents_tools import AgentsToolsPipeline
from .pipelines.chat_baseline import ChatPipeline
from .pipelines.sdk_agents import ModelFactory
from .questions.source import QuestionSource
from .rounds.planning import Planner
from .settings import Settings
from .storage.comparisons import ComparisonStore
from .storage.db import Database
from .storage.rounds import RoundStore
from .storage.traces import TraceStore
from .tracing.otlp import build_otlp_processor
from .tracing.router import trace_router
from .tracing.store_processor import StoreTracingProcessor

logger = logging.getLogger(__name__)

RETENTION_INTERVAL_SECONDS = 60.0


@dataclass
class Playing:
    worker: Worker
    executor: RoundExecutor
    model_server: str
    tracing: list[Any]
    profile: str
    """The default model's quirk profile, as its server told us (``auto`` resolved)."""


PIPELINE_BUILDERS: dict[str, PipelineBuilder] = {
    "agents": lambda setup, client, models: AgentsPipeline(setup, models),
    "agents-tools": lambda setup, client, models: AgentsToolsPipeline(setup, models),
    "chat": lambda setup, client, models: ChatPipeline(setup, client),
}
"""The pipelines a worker can play, by name: each gets the model's setup, its ``openai``
client and a factory of SDK models for its roles."""


@asynccontextmanager
async def playing(
    *,
    settings: Settings,
    config: AgentsConfig,
    database: Database,
    backends: Backends,
    metrics: Metrics,
    questions: QuestionSource,
    planner: Planner,
    round_service: RoundService,
    concurrency: int,
    model_factory: ModelFactory | None = None,
) -> AsyncIterator[Playing]:
    models = load_models(settings)
    secrets = settings.secrets() + model_secrets(settings, models)
    traces = TraceStore(database)
    store = StoreTracingProcessor(traces, secrets=secrets)
    otlp = build_otlp_processor(include_content=settings.trace_include_content, secrets=secrets)
    processors = [store] if otlp is None else [store, otlp.processor]
    router = trace_router()
    catalog = PipelineCatalog(
        settings=settings,
        config=config,
        models=models,
        builders=PIPELINE_BUILDERS,
        model_factory=model_factory,
    )
    worker: Worker | None = None
    # The lease keeper's own connection: renewals never queue behind the rounds' writes.
    lease_database = Database(database.url, pool_size=1, max_overflow=0)
    background: list[asyncio.Task[Any]] = []
    try:
        if settings.uses_embedded_model:  # the default model: ready before the first round
            await catalog.start_embedded()
        rounds = RoundStore(database)
        claims = Claims(database, worker_id=new_worker_id(), lease_seconds=settings.lease_seconds)
        leases = LeaseKeeper(
            lease_database,
            worker_id=claims.worker_id,
            lease_seconds=settings.lease_seconds,
            interval=max(0.2, settings.lease_seconds / 4),
        )
        executor = RoundExecutor(
            database=database,
            rounds=rounds,
            log=backends.log,
            queue=backends.queue,
            pipelines=catalog,
            questions=questions,
            metrics=metrics,
            round_timeout=settings.round_timeout,
            answer_timeout=settings.answer_timeout,
            leases=leases,
            secrets=secrets,
            on_outcome=lambda trace_id, error, role: store.record_outcome(
                trace_id, error=error, role=role
            ),
            trace_processors=processors,
            router=router,
            flush_traces=store.flush,
        )
        comparisons = ComparisonExecutor(
            database=database,
            store=ComparisonStore(database),
            rounds=rounds,
            traces=traces,
            log=backends.log,
            claims=claims,
            round_service=round_service,
            round_executor=executor,
            planner=planner,
            prices=config.prices,
            leases=leases,
            secrets=secrets,
        )
        sweeper = Sweeper(
            database,
            backends.queue,
            interval=max(0.25, settings.lease_seconds / 4),
            max_attempts=settings.max_attempts,
            requeue_after=max(5.0, settings.lease_seconds),
        )
        worker = Worker(
            queue=backends.queue,
            claims=claims,
            leases=leases,
            runners={"round": executor, "comparison": comparisons},
            signals=backends.signals,
            sweeper=sweeper,
            concurrency=concurrency,
        )
        await worker.start()
        background = [
            asyncio.create_task(_enforce_retention(settings, traces), name="trace retention"),
            asyncio.create_task(asyncio.to_thread(questions.warm_up), name="question warm-up"),
        ]
        model_server = "embedded" if settings.uses_embedded_model else "remote"
        profile = (await catalog.resolve(settings.model_name)).profile
        yield Playing(worker, executor, model_server, processors, profile)
    finally:
        if worker is not None:
            await worker.drain(settings.drain_grace)
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(BaseException):
                await task
        await catalog.close()
        await store.close()
        if otlp is not None:
            await asyncio.to_thread(otlp.shutdown, 5.0)
        await lease_database.close()


async def _enforce_retention(settings: Settings, store: TraceStore) -> None:
    """Apply the trace retention caps at start-up and then every minute."""
    if settings.trace_retention_max_traces is None and settings.trace_retention_days is None:
        return
    while True:
        try:
            removed = await store.prune(
                max_traces=settings.trace_retention_max_traces,
                max_age_days=settings.trace_retention_days,
            )
            if removed:
                logger.info("trace retention removed %d trace(s)", removed)
        except Exception:
            logger.exception("trace retention failed; will retry")
        await asyncio.sleep(RETENTION_INTERVAL_SECONDS)
