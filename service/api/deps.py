"""Shared dependencies of the routes, as named ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Literal

from agents.tracing import TracingProcessor
from fastapi import Depends, Request

from ..backends import Backends
from ..comparisons.service import ComparisonService
from ..execution.service import RoundService
from ..metrics import Metrics
from ..named_models import NamedModel
from ..questions.source import QuestionSource
from ..rounds.planning import Planner
from ..settings import Settings
from ..storage.db import Database
from ..storage.games import GameStore
from ..storage.rounds import RoundStore
from ..storage.traces import TraceStore

if TYPE_CHECKING:
    from ..agent_specs import AgentsConfig
    from ..execution.worker import Worker


@dataclass
class ServiceState:
    """Everything the routes need, assembled once by the app's lifespan."""

    settings: Settings
    config: AgentsConfig
    database: Database
    backends: Backends
    metrics: Metrics
    questions: QuestionSource
    planner: Planner
    rounds: RoundService
    round_store: RoundStore
    games: GameStore
    comparisons: ComparisonService
    traces: TraceStore
    model_server: Literal["embedded", "remote", "none"]
    profile: str
    pipelines: list[str]
    models: dict[str, NamedModel]
    worker: Worker | None = None
    """This process's worker, when it plays rounds itself."""
    tracing: list[TracingProcessor] = field(default_factory=list)
    """Where this process's rounds send their spans: the store's processor first, then OTLP's."""


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]
