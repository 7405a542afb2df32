"""Prompt rendering shared by both pipelines: the same templates, filled the same way."""

from __future__ import annotations

from ..agent_specs import AgentsConfig, AgentSpec, render
from .context import RoundContext


def instructions(spec: AgentSpec, ctx: RoundContext, *, with_handoffs: bool) -> str:
    """The system prompt of ``spec``'s role for this round.

    ``with_handoffs`` appends the role's ``agents_instructions`` (how to call ``transfer_to_*``),
    which only the orchestrated pipeline needs.
    """
    values = ctx.prompt_values()
    if spec.tasks:
        task_template = spec.tasks.get(ctx.question_source, "")
        values["task"] = render(task_template, values)
    text = render(spec.instructions, values)
    if with_handoffs and spec.agents_instructions.strip():
        text = f"{text}\n\n{render(spec.agents_instructions, values)}"
    return text


def kickoff(config: AgentsConfig, ctx: RoundContext) -> str:
    """The round's first user message."""
    return render(config.round.kickoff, ctx.prompt_values())
