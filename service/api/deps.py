"""Shared dependencies of the routes, as named ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Depends, Request

from ..comparisons import ComparisonRunner
from ..pipelines.base import PipelineSetup
from ..questions.source import QuestionSource
from ..rounds.runner import RoundRunner
from ..settings import Settings
from ..storage.games import GameStore
from ..storage.rounds import RoundStore
from ..storage.traces import TraceStore
from ..tracing.store_processor import StoreTracingProcessor

if TYPE_CHECKING:
    from .access import RateLimiter


@dataclass
class ServiceState:
    """Everything the routes need, assembled once by the app's lifespan."""

    settings: Settings
    setup: PipelineSetup
    questions: QuestionSource
    rounds: RoundStore
    games: GameStore
    traces: TraceStore
    runner: RoundRunner
    tracing: StoreTracingProcessor
    comparisons: ComparisonRunner
    limiter: RateLimiter
    model_server: Literal["embedded", "remote"]


def get_state(request: Request) -> ServiceState:
    return request.app.state.service


StateDep = Annotated[ServiceState, Depends(get_state)]
