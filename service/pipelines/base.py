"""What a pipeline is: something that plays the three roles of a round on a RoundContext.

A pipeline reports everything through ``ctx.events`` and ``ctx.usage`` and sets the round's facts
through the context; it never touches HTTP, SSE or the database. It raises on failure (the
runner maps the exception to a stable error code with
:func:`quizrelay.errors.failure_from_exception`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..agent_specs import AgentsConfig, AgentSpec
from ..events import RETRY
from ..retry import RetryPolicy
from ..rounds.context import RoundContext
from ..rounds.tools import RoundTool

logger = logging.getLogger(__name__)


class Pipeline(Protocol):
    name: str

    async def run(self, ctx: RoundContext) -> None:
        """Play the round until a verdict is set on ``ctx``, or raise."""
        ...


@dataclass(frozen=True)
class PipelineSetup:
    """What both pipelines are built from, so they cannot drift apart."""

    config: AgentsConfig
    tools: dict[str, RoundTool]
    profile: str
    """The server quirk profile (``openai``, ``ollama``, ``llama-cpp``, ``generic``)."""
    default_model: str
    include_content_in_traces: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """What happens when a model call fails transiently (both pipelines)."""
    call_timeout: float = 120.0
    """Seconds one model call may take, its retries included."""
    setting_overrides: dict[str, Any] = field(default_factory=dict)
    """Model settings that replace every role's own (a comparison arm's ``temperature``)."""

    def spec(self, role: str) -> AgentSpec:
        """The role's definition for this server profile, with the overrides applied."""
        spec = self.config.agent(role, self.profile)
        if not self.setting_overrides:
            return spec
        merged = {**spec.model_settings, **self.setting_overrides}
        return spec.model_copy(
            update={"model_settings": {k: v for k, v in merged.items() if v is not None}}
        )

    @property
    def bound_strings(self) -> bool:
        """Grammar-constrained servers get ``maxLength`` on string arguments."""
        return self.profile in ("llama-cpp", "llama-server")

    def role_tools(self, role: str, ctx: RoundContext) -> list[RoundTool]:
        """The tools a role is offered in this round (the question source picks the
        Questioner's: ``pose_question`` only in free-form rounds)."""
        names = self.config.agents[role].tools
        if role == "Questioner":
            wanted = "pose_question" if ctx.question_source == "freeform" else "draw_question"
            names = [name for name in names if name == wanted]
        return [self.tools[name] for name in names]

    def announce_retry(
        self, ctx: RoundContext, role: str, retry_number: int, exc: BaseException, delay: float
    ) -> None:
        """A model call failed transiently and will be retried: end its partial output, count
        the failed request, and tell the stream."""
        from ..errors import failure_from_exception

        failure = failure_from_exception(exc, role=role)
        logger.warning(
            "round %s: the %s's model call failed (%s), retry %d of %d in %.1f s",
            ctx.round_id, role, failure.code, retry_number, self.retry.max_retries, delay,
        )  # fmt: skip
        ctx.events.close_items()
        ctx.usage.record(role, None, None)
        ctx.events.custom(
            RETRY,
            {
                "role": role,
                "retry": retry_number,
                "max_retries": self.retry.max_retries,
                "delay_ms": round(delay * 1000),
                "code": failure.code,
                "message": failure.message,
            },
        )
