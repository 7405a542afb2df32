"""What both Agents SDK pipelines build their agents from: one role's agent, its model wrapper
(the tool-choice policy and retries), the round's tools as SDK function tools, and the Judge's
stop condition and guardrail. ``agents`` wires the roles with handoffs (:mod:`.agents_sdk`),
``agents-tools`` calls them as tools of a quizmaster (:mod:`.agents_tools`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

from agents import (
    Agent,
    FunctionTool,
    GuardrailFunctionOutput,
    ModelSettings,
    RunContextWrapper,
    Tool,
    ToolsToFinalOutputResult,
)
from agents.models.interface import Model, ModelTracing
from agents.tool_context import ToolContext
from openai.types.shared import Reasoning

from ..agent_specs import AgentSpec
from ..retry import RetryPolicy
from ..rounds import prompts
from ..rounds.context import RoundContext
from ..rounds.tools import RoundTool
from ..tracing.annotations import mark_first_token_of_current_generation
from .base import PipelineSetup
from .tool_choice import ToolChoicePolicy, done_tools_in_history

_TOKEN_EVENT_TYPES = ("response.output_text.delta", "response.function_call_arguments.delta")


def sdk_model_settings(values: dict[str, Any], **fixed: Any) -> ModelSettings:
    """A role's ``model_settings`` as the SDK's :class:`ModelSettings`, so that both pipelines
    send the same request parameters: ``ModelSettings`` has no ``max_completion_tokens`` (it goes
    as an extra argument) and carries ``reasoning_effort`` as ``reasoning.effort``."""
    values = dict(values)
    limit = values.pop("max_completion_tokens", None)
    extra_args = {"max_completion_tokens": limit} if limit is not None else None
    effort = values.pop("reasoning_effort", None)
    reasoning = Reasoning(effort=effort) if effort is not None else None
    return ModelSettings(**values, reasoning=reasoning, extra_args=extra_args, **fixed)


ModelFactory = Callable[[str, AgentSpec], Model]
"""Builds the model of one role (the app uses the ``openai`` client; tests a ScriptedModel)."""


class PolicyModel(Model):
    """A model wrapper that sets each call's ``tool_choice`` from the role's policy.

    The SDK fixes an agent's ``tool_choice`` for the whole run; servers that only honour a
    named choice need it to change from call to call (``check_answer`` then ``submit_verdict``).
    The choice is derived from the history the call receives, so a retried call gets the same one.
    """

    def __init__(
        self,
        inner: Model,
        policy: ToolChoicePolicy,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.retry = retry or RetryPolicy(max_retries=0)
        self.on_retry = on_retry

    def _settings(
        self, settings: ModelSettings, input: Any, tools: list, handoffs: list
    ) -> ModelSettings:
        offered = [tool.name for tool in tools] + [item.tool_name for item in handoffs]
        done = done_tools_in_history(input) if isinstance(input, list) else set()
        return dataclasses.replace(settings, tool_choice=self.policy.choose(offered, done))

    async def get_response(
        self,
        system_instructions,
        input,
        model_settings,
        tools,
        output_schema,
        handoffs,
        tracing: ModelTracing,
        **kwargs: Any,
    ):
        settings = self._settings(model_settings, input, tools, handoffs)
        return await self.inner.get_response(
            system_instructions, input, settings, tools, output_schema, handoffs, tracing, **kwargs
        )

    async def stream_response(
        self,
        system_instructions,
        input,
        model_settings,
        tools,
        output_schema,
        handoffs,
        tracing: ModelTracing,
        **kwargs: Any,
    ):
        settings = self._settings(model_settings, input, tools, handoffs)
        retries_done = 0
        while True:
            first_token_seen = False
            try:
                async for event in self.inner.stream_response(
                    system_instructions,
                    input,
                    settings,
                    tools,
                    output_schema,
                    handoffs,
                    tracing,
                    **kwargs,
                ):
                    if not first_token_seen and getattr(event, "type", "") in _TOKEN_EVENT_TYPES:
                        first_token_seen = True
                        # on the inner model's generation span
                        mark_first_token_of_current_generation()
                    yield event
                return
            except Exception as exc:  # a transient failure restarts the call (same input)
                if not self.retry.should_retry(exc, retries_done):
                    raise
                retries_done += 1
                delay = self.retry.delay(retries_done, exc)
                if self.on_retry is not None:
                    self.on_retry(retries_done, exc, delay)
                await asyncio.sleep(delay)

    async def close(self) -> None:
        await self.inner.close()


def function_tool(tool: RoundTool, *, bound_strings: bool) -> FunctionTool:
    async def invoke(tool_context: ToolContext[RoundContext], arguments: str) -> str:
        return tool.invoke(tool_context.context, arguments)

    return FunctionTool(
        name=tool.name,
        description=tool.description,
        params_json_schema=tool.parameters_schema(bound_strings=bound_strings),
        on_invoke_tool=invoke,
        strict_json_schema=True,
    )


async def verdict_follows_check(
    run_context: RunContextWrapper[RoundContext], agent: Any, output: Any
) -> GuardrailFunctionOutput:
    outcome = run_context.context.verdict_guardrail()
    return GuardrailFunctionOutput(
        output_info={"reason": outcome.reason}, tripwire_triggered=outcome.triggered
    )


def stop_at_verdict(
    run_context: RunContextWrapper[RoundContext], results: list
) -> ToolsToFinalOutputResult:
    """The Judge's run ends when a valid verdict is on the context, not merely when a tool ran."""
    verdict = run_context.context.verdict
    return ToolsToFinalOutputResult(is_final_output=verdict is not None, final_output=verdict)


def role_agent(
    setup: PipelineSetup,
    model_factory: ModelFactory,
    role: str,
    ctx: RoundContext,
    *,
    with_handoffs: bool,
    **extra: Any,
) -> Agent[RoundContext]:
    """The SDK agent of ``role`` for this round: its prompt (``with_handoffs`` appends how to
    call ``transfer_to_*``), its tools, and its model wrapped in the tool-choice policy."""
    spec = setup.spec(role)

    def instructions(run_context: RunContextWrapper[RoundContext], agent: Any) -> str:
        return prompts.instructions(spec, run_context.context, with_handoffs=with_handoffs)

    tools: list[Tool] = extra.pop("tools", None) or [
        function_tool(tool, bound_strings=setup.bound_strings)
        for tool in setup.role_tools(role, ctx)
    ]
    call_timeout = extra.pop("call_timeout", setup.call_timeout)
    model = extra.pop("model", None) or PolicyModel(
        model_factory(role, spec),
        ToolChoicePolicy(spec.tool_choice),
        retry=setup.retry,
        on_retry=lambda number, exc, delay: setup.announce_retry(ctx, role, number, exc, delay),
    )
    return Agent[RoundContext](
        name=role,
        handoff_description=spec.handoff_description,
        instructions=instructions,
        model=model,
        model_settings=sdk_model_settings(
            spec.model_settings, include_usage=True, timeout=call_timeout
        ),
        tools=tools,
        reset_tool_choice=False,
        **extra,
    )
