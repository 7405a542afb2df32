"""The ``agents`` pipeline: Questioner → handoff → Answerer → handoff → Judge on the Agents SDK.

Agents are built per round from ``agents_config/`` (their instructions read the round's
:class:`RoundContext`, the SDK's typed run context). The reference answer is kept from the
Answerer twice over: its prompt cannot name it, and every handoff strips tool calls and tool
results (where a free-form reference travels) from the history it passes on.

The Judge ends the run by calling ``submit_verdict``; a run that ends any other way (a model
that answers in text instead of handing off, a Judge that never submits a valid verdict) is a
:class:`RoundFailure`, never a silent success.
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
    Handoff,
    ModelSettings,
    OutputGuardrail,
    RunConfig,
    RunContextWrapper,
    Runner,
    Tool,
    ToolsToFinalOutputResult,
    handoff,
)
from agents.exceptions import ModelBehaviorError
from agents.extensions.handoff_filters import remove_all_tools
from agents.models.interface import Model, ModelTracing
from agents.tool_context import ToolContext
from openai.types.shared import Reasoning

from .. import errors
from ..agent_specs import AgentSpec
from ..retry import RetryPolicy
from ..rounds import prompts
from ..rounds.context import RoundContext
from ..rounds.player import AwaitingPlayer
from ..rounds.tools import (
    TRANSFER_TO_ANSWERER,
    TRANSFER_TO_JUDGE,
    RoundTool,
    ToolArgumentError,
    answer_handoff_schema,
    parse_arguments,
)
from ..tracing.annotations import mark_first_token_of_current_generation
from .base import PipelineSetup
from .player_model import PlayerModel
from .sdk_stream import SdkStreamTranslator
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


def _function_tool(tool: RoundTool, *, bound_strings: bool) -> FunctionTool:
    async def invoke(tool_context: ToolContext[RoundContext], arguments: str) -> str:
        return tool.invoke(tool_context.context, arguments)

    return FunctionTool(
        name=tool.name,
        description=tool.description,
        params_json_schema=tool.parameters_schema(bound_strings=bound_strings),
        on_invoke_tool=invoke,
        strict_json_schema=True,
    )


async def _verdict_follows_check(
    run_context: RunContextWrapper[RoundContext], agent: Any, output: Any
) -> GuardrailFunctionOutput:
    outcome = run_context.context.verdict_guardrail()
    return GuardrailFunctionOutput(
        output_info={"reason": outcome.reason}, tripwire_triggered=outcome.triggered
    )


def _stop_at_verdict(
    run_context: RunContextWrapper[RoundContext], results: list
) -> ToolsToFinalOutputResult:
    """The Judge's run ends when a valid verdict is on the context, not merely when a tool ran."""
    verdict = run_context.context.verdict
    return ToolsToFinalOutputResult(is_final_output=verdict is not None, final_output=verdict)


def _answer_handoff(
    judge: Agent[RoundContext], description: str, schema: dict[str, Any]
) -> Handoff:
    """``transfer_to_judge``, carrying the answer, parsed leniently (see ``parse_arguments``).

    The SDK's own handoff parser rejects a raw newline inside a string, which
    llama-cpp-python's grammar allows; an unusable payload still fails the round explicitly.
    """
    base = handoff(judge, input_filter=remove_all_tools, tool_description_override=description)

    async def invoke(
        run_context: RunContextWrapper[RoundContext], arguments_json: str
    ) -> Agent[RoundContext]:
        try:
            answer = parse_arguments(arguments_json).get("answer")
        except (ValueError, ToolArgumentError) as exc:
            raise ModelBehaviorError(
                f"transfer_to_judge arguments are not valid JSON: {exc}"
            ) from exc
        if not isinstance(answer, str):
            raise ModelBehaviorError("transfer_to_judge needs an `answer` string")
        run_context.context.set_answer(answer)
        return judge

    return dataclasses.replace(base, input_json_schema=schema, on_invoke_handoff=invoke)


def _question_is_set(run_context: RunContextWrapper[RoundContext], agent: Any) -> bool:
    """``transfer_to_answerer`` is offered only once there is a question to hand on."""
    return run_context.context.question is not None


class AgentsPipeline:
    """Runs a round with ``Runner.run_streamed`` and translates its stream into round events."""

    name = "agents"

    def __init__(self, setup: PipelineSetup, model_factory: ModelFactory) -> None:
        self.setup = setup
        self.model_factory = model_factory

    def _agent(self, role: str, ctx: RoundContext, **extra: Any) -> Agent[RoundContext]:
        spec = self.setup.config.agent(role, self.setup.profile)

        def instructions(run_context: RunContextWrapper[RoundContext], agent: Any) -> str:
            return prompts.instructions(spec, run_context.context, with_handoffs=True)

        tools: list[Tool] = [
            _function_tool(tool, bound_strings=self.setup.bound_strings)
            for tool in self.setup.role_tools(role, ctx)
        ]
        call_timeout = extra.pop("call_timeout", self.setup.call_timeout)
        model = extra.pop("model", None) or PolicyModel(
            self.model_factory(role, spec),
            ToolChoicePolicy(spec.tool_choice),
            retry=self.setup.retry,
            on_retry=lambda number, exc, delay: self.setup.announce_retry(
                ctx, role, number, exc, delay
            ),
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

    def build_agents(self, ctx: RoundContext) -> Agent[RoundContext]:
        """The three agents wired together; returns the one the round starts (or resumes) with:
        the Questioner, or — when an earlier attempt set the question, or the answer — the
        Answerer or the Judge, so a resumed round plays on from the step it lost."""
        judge = self._agent(
            "Judge",
            ctx,
            tool_use_behavior=_stop_at_verdict,
            output_guardrails=[
                OutputGuardrail(
                    guardrail_function=_verdict_follows_check, name="verdict_follows_check"
                )
            ],
        )
        to_judge = _answer_handoff(
            judge,
            self.setup.config.tools[TRANSFER_TO_JUDGE].description,
            answer_handoff_schema(self.setup.config, bound_strings=self.setup.bound_strings),
        )
        if ctx.player is not None:  # a human takes the Answerer's place in the chain
            answerer = self._agent(
                "Answerer",
                ctx,
                handoffs=[to_judge],
                model=PlayerModel(ctx.player, round_id=ctx.round_id),
                call_timeout=None,
            )  # the player's time is bounded by answer_timeout
        else:
            answerer = self._agent("Answerer", ctx, handoffs=[to_judge])
        to_answerer = handoff(answerer, input_filter=remove_all_tools, is_enabled=_question_is_set)
        if ctx.answer is not None:
            return judge
        if ctx.question is not None:
            return answerer
        return self._agent("Questioner", ctx, handoffs=[to_answerer])

    async def run(self, ctx: RoundContext) -> None:
        starting_agent = self.build_agents(ctx)
        run_config = RunConfig(
            trace_include_sensitive_data=self.setup.include_content_in_traces,
            tracing={"include_task_and_turn_spans": False},
        )
        result = Runner.run_streamed(
            starting_agent,
            prompts.kickoff(self.setup.config, ctx),
            context=ctx,
            max_turns=self.setup.config.round.max_turns,
            run_config=run_config,
        )
        translator = SdkStreamTranslator(ctx)
        try:
            async for event in result.stream_events():
                translator.handle(event)
        except Exception as exc:  # cancellation (round limit, shutdown) passes through
            raise errors.failure_from_exception(exc, role=translator.current_agent) from exc
        if ctx.player is not None and ctx.answer is None and result.last_agent.name == "Answerer":
            raise AwaitingPlayer()  # the first run ends here: the question is out
        self._check_outcome(ctx, result.last_agent.name)

    @staticmethod
    def _check_outcome(ctx: RoundContext, last_agent: str) -> None:
        """Turn a run that ended early into an explicit failure naming the role and the cause."""
        if ctx.verdict is not None:
            return
        if last_agent == "Questioner" and ctx.question is None:
            raise errors.RoundFailure(
                errors.MISSING_TOOL_CALL,
                "The Questioner ended its turn without setting a question "
                "(it never called draw_question or pose_question successfully).",
                role="Questioner",
            )
        if last_agent in ("Questioner", "Answerer"):
            target = TRANSFER_TO_ANSWERER if last_agent == "Questioner" else TRANSFER_TO_JUDGE
            raise errors.RoundFailure(
                errors.NO_HANDOFF,
                f"The {last_agent} replied in text instead of calling {target}, so the round "
                "stopped before the Judge.",
                role=last_agent,
            )
        raise errors.RoundFailure(
            errors.INVALID_VERDICT,
            "The Judge finished without a valid verdict (submit_verdict was never accepted).",
            role="Judge",
        )
