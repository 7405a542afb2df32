"""What a round will play, decided (and validated) before anything is stored.

:meth:`Planner.plan` turns a request into a :class:`RoundPlan`: the pipeline and model, the game,
the question's category, difficulty and seed (the same seed draws the same question), or a
question supplied with its reference answer. A request that cannot be played raises
:class:`InvalidRoundRequest` naming the field, which the API turns into a 422.
"""

from __future__ import annotations

import random
import secrets as token_source
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..agent_specs import MODEL_SETTING_KEYS
from ..questions.models import Question
from ..questions.source import QuestionSource, supplied_question


class InvalidRoundRequest(ValueError):
    """A request that is well-formed but cannot be played; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class RoundPlan:
    """A validated request: everything needed to play a round."""

    pipeline: str
    model: str
    game_id: str
    category: str
    difficulty: str
    seed: int | None
    question_source: str
    supplied: Question | None = None
    mode: str = "ai"
    """``ai`` (the Answerer is a model) or ``human`` (a player answers)."""
    owner: str | None = None
    """The player who started it (API token name), when the API has tokens."""
    comparison_id: str | None = None
    model_settings: dict[str, Any] | None = None
    """Settings that replace the roles' own (see ``agent_specs.MODEL_SETTING_KEYS``)."""


def new_game_id() -> str:
    return f"game_{token_source.token_hex(8)}"


class Planner:
    def __init__(
        self,
        *,
        questions: QuestionSource,
        pipelines: Iterable[str],
        models: Iterable[str],
        default_model: str,
    ) -> None:
        self.questions = questions
        self.pipelines = sorted(pipelines)
        self.models = sorted(models)
        self.default_model = default_model

    def plan(
        self,
        *,
        pipeline: str,
        model: str | None = None,
        category: str | None = None,
        difficulty: str | None = None,
        seed: int | None = None,
        question: str | None = None,
        reference_answer: str | None = None,
        game_id: str | None = None,
        mode: str = "ai",
        owner: str | None = None,
        comparison_id: str | None = None,
        model_settings: dict[str, Any] | None = None,
    ) -> RoundPlan:
        if mode not in ("ai", "human"):
            raise InvalidRoundRequest("mode", f"unknown mode {mode!r}; use 'ai' or 'human'")
        if pipeline not in self.pipelines:
            raise InvalidRoundRequest(
                "pipeline", f"unknown pipeline {pipeline!r}; use one of {self.pipelines}"
            )
        unknown = sorted(set(model_settings or {}) - MODEL_SETTING_KEYS)
        if unknown:
            raise InvalidRoundRequest(
                "model_settings",
                f"unknown model settings {unknown}; allowed: {sorted(MODEL_SETTING_KEYS)}",
            )
        model = model or self.default_model
        if model not in self.models:
            raise InvalidRoundRequest(
                "model", f"unknown model {model!r}; GET /api/models lists them: {self.models}"
            )
        if category is not None and question is None and not self.questions.has_category(category):
            names = ", ".join(c.name for c in self.questions.categories())
            raise InvalidRoundRequest("category", f"unknown category {category!r}; known: {names}")
        difficulty = difficulty or self.questions.default_difficulty
        game_id = game_id or new_game_id()
        if question is not None and reference_answer is not None:
            supplied = supplied_question(
                question, reference_answer, category=category, difficulty=difficulty
            )
            return RoundPlan(
                pipeline,
                model,
                game_id,
                supplied.category,
                difficulty,
                seed,
                "supplied",
                supplied,
                mode,
                owner,
                comparison_id,
                model_settings,
            )
        if seed is None:
            seed = random.randrange(2**31)
        if category is None:
            category = self.questions.pick_category(seed)
        source = "freeform" if self.questions.is_freeform(category) else "dataset"
        return RoundPlan(
            pipeline,
            model,
            game_id,
            category,
            difficulty,
            seed,
            source,
            None,
            mode,
            owner,
            comparison_id,
            model_settings,
        )
