"""The typed run context of one round: its facts, and the only place they are set.

Both pipelines carry a :class:`RoundContext` through the round (the Agents SDK as its run
context, the baseline by hand). The facts — question, answer, check, verdict — are set through
methods here, which also publish the matching ``CUSTOM`` event, so neither pipeline can set a
fact without the stream hearing of it. Each fact is also said as a short text message (the
question by the Questioner, the answer by the Answerer or the player, the verdict by the Judge),
so a generic AG-UI client ends a round with the question, the answer and the verdict in its
messages; and each completed step is reported to ``on_fact``, which checkpoints the round.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

from ..events import ANSWER, QUESTION, VERDICT, RoundEvents
from ..questions.checker import AnswerCheck
from ..questions.models import Question, QuestionSourceName
from . import guardrails
from .models import RoundTimings, UsageLedger, Verdict
from .player import PlayerSeat

MAX_ANSWER_CHARS = 2000


def clean_model_text(text: str) -> str:
    """Undo HTML entities some chat templates emit (``&#39;``) and trim whitespace."""
    return html.unescape(text).strip()


@dataclass
class RoundContext:
    """State of one round, shared by its roles and tools."""

    round_id: str
    game_id: str
    pipeline: str
    model: str
    category: str
    difficulty: str
    seed: int | None
    question_source: QuestionSourceName
    """``dataset`` (a verified puzzle), ``supplied`` (from the request) or ``freeform``."""
    events: RoundEvents
    question_provider: Callable[[], Question] | None
    """Draws the question for ``draw_question``; None in free-form rounds (``pose_question``)."""

    question: Question | None = None
    answer: str | None = None
    check: AnswerCheck | None = None
    verdict: Verdict | None = None
    usage: UsageLedger = field(default_factory=UsageLedger)
    timings: RoundTimings = field(default_factory=RoundTimings)
    answered_by: str = "Answerer"
    """``Answerer`` (the model) or ``player`` (a human answered)."""
    player: PlayerSeat | None = None
    """Set in human rounds: the Answerer's turn takes the player's answer from here."""
    on_fact: Callable[[], None] | None = None
    """Told when a step is complete (question set, answer given): the round checkpoints."""

    def set_question(self, question: Question) -> None:
        self.question = question
        self.events.custom(QUESTION, question.public())
        self.events.fact("Questioner", question.text)
        if self.on_fact is not None:
            self.on_fact()

    def set_answer(self, text: str) -> None:
        self.answer = clean_model_text(text)[:MAX_ANSWER_CHARS]
        self.events.custom(ANSWER, {"text": self.answer, "answered_by": self.answered_by})
        self.events.fact("Answerer", self.answer, by_player=self.answered_by == "player")
        guardrails.record(guardrails.screen_answer(self.answer), self.events, role="Judge")
        if self.on_fact is not None:
            self.on_fact()

    def verdict_guardrail(self) -> guardrails.GuardrailOutcome:
        """The ``verdict_follows_check`` tripwire for this round's verdict."""
        conclusive = self.question is not None and (
            self.question.source != "freeform" or bool(self.check and self.check.correct)
        )
        return guardrails.verdict_follows_check(
            self.verdict.correct if self.verdict else None,
            self.check.correct if self.check else None,
            conclusive,
        )

    def set_verdict(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.events.custom(VERDICT, verdict.model_dump())
        mark = "Right" if verdict.correct else "Wrong"
        self.events.fact(
            "Judge",
            f"{mark}. {verdict.explanation} (Reference answer: {verdict.reference_answer}.)",
        )

    def prompt_values(self) -> dict[str, str]:
        """Values for the ``{placeholders}`` of prompts; the Answerer's prompt cannot use the
        reference answer (agents_config validation refuses it)."""
        values = {"category": self.category, "difficulty": self.difficulty}
        if self.question is not None:
            values["question"] = self.question.text
            values["reference_answer"] = self.question.reference_answer
        if self.answer is not None:
            values["answer"] = self.answer
        if self.check is None:
            values["check_result"] = "not run yet (call check_answer)"
        else:
            verdict = "the answer is right" if self.check.correct else "the answer is wrong"
            values["check_result"] = f"{verdict}: {self.check.reason}"
        return values
