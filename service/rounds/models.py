"""The round's data shapes shared by both pipelines, the API and the store.

The verdict schema and the usage ledger are defined once here (the question in
``questions/models.py``); neither pipeline
has its own copy, so an ``agents`` round and a ``chat`` round produce the same JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..questions.models import Question, QuestionSourceName

__all__ = ["Question", "QuestionSourceName", "RoleUsage", "RoundTimings", "UsageLedger", "Verdict"]


class Verdict(BaseModel):
    """The Judge's structured verdict on one answer."""

    model_config = ConfigDict(frozen=True)

    correct: bool
    """Whether the answer means the reference answer."""
    score: float = Field(ge=0.0, le=1.0)
    """1.0 when correct; partial credit from the question's own scorer otherwise."""
    explanation: str
    """One or two sentences for the player, written by the Judge."""
    reference_answer: str
    """The answer the question was set with (revealed only now)."""
    decided_by: Literal["check_answer", "judge"]
    """``check_answer`` when the deterministic check was conclusive (it then overrides the
    Judge's own opinion), ``judge`` when only the model could decide (free-form answers)."""
    judge_agreed: bool
    """Whether the Judge's own ``correct`` agreed with the verdict; a disagreement is kept
    visible rather than hidden."""
    judge_explanation: str = ""
    """The Judge's own words. When it contradicts a conclusive check, ``explanation`` gives the
    check's reason instead, so the verdict never explains the opposite of what it says."""


@dataclass
class RoleUsage:
    """Model calls and tokens of one role (or of the whole round)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    unreported_requests: int = 0
    """Calls whose server sent no token counts; their tokens are missing, not zero."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "unreported_requests": self.unreported_requests,
        }


@dataclass
class UsageLedger:
    """Usage per role, filled in by the pipelines as each model call completes."""

    roles: dict[str, RoleUsage] = field(default_factory=dict)

    def record(self, role: str, input_tokens: int | None, output_tokens: int | None) -> None:
        usage = self.roles.setdefault(role, RoleUsage())
        usage.requests += 1
        if input_tokens is None and output_tokens is None:
            usage.unreported_requests += 1
            return
        usage.input_tokens += input_tokens or 0
        usage.output_tokens += output_tokens or 0

    def total(self) -> RoleUsage:
        total = RoleUsage()
        for usage in self.roles.values():
            total.requests += usage.requests
            total.input_tokens += usage.input_tokens
            total.output_tokens += usage.output_tokens
            total.unreported_requests += usage.unreported_requests
        return total

    def as_dict(self) -> dict[str, object]:
        return {
            "roles": {role: usage.as_dict() for role, usage in self.roles.items()},
            "total": self.total().as_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> UsageLedger:
        """A ledger as :meth:`as_dict` wrote it (a checkpoint's); empty for None."""
        ledger = cls()
        roles = data.get("roles") if isinstance(data, dict) else None
        for role, usage in (roles or {}).items():
            ledger.roles[role] = RoleUsage(
                requests=int(usage.get("requests", 0)),
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                unreported_requests=int(usage.get("unreported_requests", 0)),
            )
        return ledger


@dataclass
class RoundTimings:
    """Wall-clock marks of a round, in ``time.perf_counter()`` seconds."""

    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    finished: float | None = None
    role_first_token: dict[str, float] = field(default_factory=dict)

    def mark_token(self, role: str | None) -> None:
        now = time.perf_counter()
        if self.first_token is None:
            self.first_token = now
        if role is not None and role not in self.role_first_token:
            self.role_first_token[role] = now

    def as_dict(self) -> dict[str, float | None]:
        def since_start(mark: float | None) -> float | None:
            return None if mark is None else round((mark - self.started) * 1000.0, 1)

        return {
            "time_to_first_token_ms": since_start(self.first_token),
            "total_ms": since_start(self.finished),
        }
