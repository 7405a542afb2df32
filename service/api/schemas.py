"""Request and response bodies of the HTTP API (what ``/docs`` shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..vocabulary import RoundStatus

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


PipelineName = Literal["agents", "agents-tools", "chat"]

MODEL_FIELD = Field(
    default=None,
    max_length=200,
    description="A name from GET /api/models (default: the configured model).",
)


class RoundRequest(BaseModel):
    """Start a round. With only ``pipeline``, a verified puzzle of a random category is asked."""

    model_config = ConfigDict(extra="forbid")

    pipeline: PipelineName | None = Field(
        default=None,
        description=(
            "`agents` (Agents SDK) or `chat` (plain Chat Completions); "
            "required unless the game sets it."
        ),
    )
    model: str | None = MODEL_FIELD
    category: str | None = Field(
        default=None, max_length=64, description="A name from GET /api/categories."
    )
    difficulty: Literal["easy", "medium", "hard"] | None = None
    seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Same seed, same question."
    )
    question: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Ask this question (needs `reference_answer`).",
    )
    reference_answer: str | None = Field(default=None, min_length=1, max_length=200)
    game_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Add the round to this game (the trace group).",
    )
    mode: Literal["ai", "human"] | None = Field(
        default=None,
        description=(
            "`ai` (default) or `human`: the stream stops after the question; "
            "answer with POST /api/rounds/{id}/answer."
        ),
    )

    @model_validator(mode="after")
    def _question_with_reference(self) -> RoundRequest:
        if (self.question is None) != (self.reference_answer is None):
            raise ValueError("`question` and `reference_answer` must be given together")
        return self


class GameRequest(BaseModel):
    """A game: a series of rounds with one pipeline and one mode."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    pipeline: PipelineName
    model: str | None = MODEL_FIELD
    mode: Literal["ai", "human"] = "ai"
    categories: list[str] | None = Field(
        default=None, min_length=1, max_length=20, description="Rounds take turns through these."
    )
    difficulty: Literal["easy", "medium", "hard"] | None = None
    rounds: int = Field(default=5, ge=1, le=50)


class ArmRequest(BaseModel):
    """One way of playing the questions: a pipeline on a named model, with optional settings."""

    model_config = ConfigDict(extra="forbid")

    pipeline: PipelineName
    model: str | None = MODEL_FIELD
    model_settings: dict[str, float | int | str] | None = Field(
        default=None, description='Replace the roles\' settings, e.g. {"temperature": 0.0}.'
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,40}$",
        description="How the arm is shown (default: pipeline, and model when several).",
    )


class ComparisonRequest(BaseModel):
    """Play the same ``rounds`` questions through every arm (default: each pipeline on the
    configured model), interleaved, and compare them against the ``baseline`` arm."""

    model_config = ConfigDict(extra="forbid")

    rounds: int = Field(ge=1, le=100)
    arms: list[ArmRequest] | None = Field(default=None, min_length=1, max_length=8)
    baseline: str | None = Field(
        default=None,
        max_length=40,
        description="The arm the others are compared with (default: the first).",
    )
    categories: list[str] | None = Field(default=None, min_length=1, max_length=20)
    difficulty: Literal["easy", "medium", "hard"] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class CancelRequest(BaseModel):
    """Why the round is cancelled (shown in its RUN_ERROR)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=300)


class AnswerRequest(BaseModel):
    """A player's answer to a human round. It is judged as an answer, whatever it says."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _not_blank(self) -> AnswerRequest:
        if not self.answer.strip():
            raise ValueError("`answer` must not be blank")
        return self


class CategoryOut(BaseModel):
    name: str
    title: str
    description: str
    difficulties: list[str]
    verified: bool


class RoundError(BaseModel):
    code: str
    message: str


class RoundOut(BaseModel):
    """A stored (or running) round. ``reference_answer`` appears only once the round is over."""

    id: str
    game_id: str
    pipeline: str
    mode: str
    status: RoundStatus
    model: str
    category: str
    difficulty: str
    seed: int | None
    question: str | None
    reference_answer: str | None
    answer: str | None
    answered_by: str | None
    verdict: dict[str, Any] | None
    trace_id: str
    error: RoundError | None
    time_to_first_token_ms: float | None
    total_ms: float | None
    usage: dict[str, Any] | None
    attempt: int
    """How many times a worker took the round up (more than 1: it was resumed)."""
    created_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class HealthOut(BaseModel):
    status: Literal["ok"]
    model: str
    model_server: Literal["embedded", "remote", "none"]
    """``none``: this process plays no rounds (an API process; its workers have the model)."""
    profile: str
    pipelines: list[str]
    mode: Literal["memory", "redis"]
    """``memory``: one process does everything; ``redis``: API and worker processes share work."""
    dependencies: dict[str, str]
    """``ok`` or ``down: <why>`` for the database and (distributed) Redis."""
    worker: dict[str, Any] | None
    """This process's worker (id, rounds running, draining), if it has one."""
