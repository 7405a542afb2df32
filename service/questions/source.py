"""Where questions come from: verified puzzles from reasoning-gym, or the round's request.

reasoning-gym generates IQ-style puzzles from a seed, each with its reference answer and an
answer scorer, so a round's verdict can be audited without trusting any model. The categories
and their difficulty settings are data (``agents_config/questions.yaml``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from ..agent_specs import DIFFICULTIES, CategorySpec, QuestionsSpec
from ..errors import ConfigError
from .models import Question

FREEFORM = "freeform"
SUPPLIED = "supplied"


class UnknownCategory(ValueError):
    """Raised for a category that is not in questions.yaml (the API turns it into a 422)."""


@dataclass(frozen=True)
class CategoryInfo:
    name: str
    title: str
    description: str
    difficulties: tuple[str, ...]
    verified: bool
    """True when answers are checked against a generated reference (not model-written)."""


class QuestionSource:
    """Draws questions by category, difficulty and seed; the same triple gives the same question."""

    def __init__(self, spec: QuestionsSpec) -> None:
        self._spec = spec
        self._lock = threading.Lock()  # reasoning-gym generators share module-level state

    @property
    def default_difficulty(self) -> str:
        return self._spec.default_difficulty

    def categories(self) -> list[CategoryInfo]:
        return [
            CategoryInfo(
                name=name,
                title=category.title,
                description=category.description,
                difficulties=DIFFICULTIES if category.dataset else (),
                verified=category.dataset is not None,
            )
            for name, category in self._spec.categories.items()
        ]

    def warm_up(self) -> None:
        """Generate one question per category so first-use costs (word lists, corpora) are
        paid at start-up, not inside a round."""
        for name, category in self._spec.categories.items():
            if category.dataset:
                self.draw(name, self.default_difficulty, 0)

    def has_category(self, name: str) -> bool:
        return name in self._spec.categories

    def is_freeform(self, name: str) -> bool:
        category = self._spec.categories.get(name)
        return category is not None and category.dataset is None

    def pick_category(self, seed: int) -> str:
        """A verified category chosen by the seed (rounds that name no category)."""
        names = sorted(name for name, c in self._spec.categories.items() if c.dataset)
        return random.Random(seed).choice(names)

    def draw(self, category: str, difficulty: str, seed: int) -> Question:
        spec = self._spec.categories.get(category)
        if spec is None:
            raise UnknownCategory(category)
        if spec.dataset is None:
            raise ValueError(
                f"category {category!r} has no question bank (the Questioner writes it)"
            )
        entry, scorer = self._generate(spec, difficulty, seed)
        return Question(
            text=str(entry["question"]).strip(),
            reference_answer=str(entry["answer"]).strip(),
            category=category,
            difficulty=difficulty,
            source="dataset",
            seed=seed,
            scorer=scorer,
        )

    def _generate(
        self, spec: CategorySpec, difficulty: str, seed: int
    ) -> tuple[dict[str, Any], Any]:
        import reasoning_gym  # imported lazily: it takes about a second

        settings = dict(spec.difficulties.get(difficulty, {}))
        for key, value in settings.items():
            if isinstance(value, list):
                settings[key] = tuple(value)
        with self._lock:
            try:
                dataset = reasoning_gym.create_dataset(spec.dataset, size=1, seed=seed, **settings)
                entry = dataset[0]
            except Exception as exc:  # a bad difficulty setting in questions.yaml
                raise ConfigError(
                    f"questions.yaml: dataset {spec.dataset!r} ({difficulty}) "
                    f"failed to generate: {exc}"
                ) from exc

        def scorer(answer: str) -> float:
            return float(dataset.score_answer(answer, entry))

        return entry, scorer


def supplied_question(
    text: str, reference: str, *, category: str | None, difficulty: str
) -> Question:
    """A question given with the round request; checked against its reference like any other."""
    return Question(
        text=text.strip(),
        reference_answer=reference.strip(),
        category=category or SUPPLIED,
        difficulty=difficulty,
        source="supplied",
    )


def authored_question(text: str, reference: str, *, difficulty: str) -> Question:
    """A question the Questioner model wrote itself (free-form rounds)."""
    return Question(
        text=text.strip(),
        reference_answer=reference.strip(),
        category=FREEFORM,
        difficulty=difficulty,
        source="freeform",
    )
