"""A question and its reference answer, as every part of quizrelay sees it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

QuestionSourceName = Literal["dataset", "supplied", "freeform"]
"""``dataset``: a verified puzzle from the question bank; ``supplied``: given with the round's
request; ``freeform``: written by the Questioner model."""


@dataclass(frozen=True)
class Question:
    """A question with its reference answer; the reference never reaches the Answerer."""

    text: str
    reference_answer: str
    category: str
    difficulty: str
    source: QuestionSourceName
    seed: int | None = None
    scorer: Callable[[str], float] | None = field(default=None, compare=False, repr=False)
    """The question's own answer scorer (reasoning-gym's ``score_answer``), when it has one."""

    def public(self) -> dict[str, object]:
        """What may be shown before the verdict: everything but the reference answer."""
        return {
            "text": self.text,
            "category": self.category,
            "difficulty": self.difficulty,
            "source": self.source,
            "seed": self.seed,
        }
