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

import dataclasses
from typing import Any

from agents import (
    Agent,
    Handoff,
    OutputGuardrail,
    RunConfig,
    RunContextWrapper,
    Runner,
    handoff,
)
from agents.exceptions import ModelBehaviorError
from agents.extensions.handoff_filters import remove_all_tools
from agents.handoffs import HandoffInputData
from agents.items import MessageOutputItem

from .. import errors
from ..rounds import prompts
from ..rounds.context import RoundContext
from ..rounds.player import AwaitingPlayer
from ..rounds.tools import (
    TRANSFER_TO_ANSWERER,
    TRANSFER_TO_JUDGE,
    ToolArgumentError,
    answer_handoff_schema,
    parse_arguments,
)
from .base import PipelineSetup
from .player_model import PlayerModel
from .sdk_agents import ModelFactory, role_agent, stop_at_verdict, verdict_follows_check
from .sdk_stream import SdkStreamTranslator


def only_the_kickoff(data: HandoffInputData) -> HandoffInputData:
    """What a role hands on: the round's kickoff, not its own turns. Tool calls and results go
    (a free-form reference answer travels in one), and so do its text replies: what the next
    role needs is in its instructions, as in the ``chat`` pipeline, and a history ending on an
    assistant turn is a prefill to many servers (llama.cpp's echoes it)."""
    stripped = remove_all_tools(data)

    def no_replies(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(item for item in items if not isinstance(item, MessageOutputItem))

    history = stripped.input_history
    if isinstance(history, tuple):
        history = tuple(
            item for item in history
            if not (isinstance(item, dict) and item.get("role") == "assistant")
        )  # fmt: skip
    return stripped.clone(
        input_history=history,
        pre_handoff_items=no_replies(stripped.pre_handoff_items),
        new_items=no_replies(stripped.new_items),
    )


def _answer_handoff(
    judge: Agent[RoundContext], description: str, schema: dict[str, Any]
) -> Handoff:
    """``transfer_to_judge``, carrying the answer, parsed leniently (see ``parse_arguments``).

    The SDK's own handoff parser rejects a raw newline inside a string, which
    llama-cpp-python's grammar allows; an unusable payload still fails the round explicitly.
    """
    base = handoff(judge, input_filter=only_the_kickoff, tool_description_override=description)

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
        return role_agent(self.setup, self.model_factory, role, ctx, with_handoffs=True, **extra)

    def build_agents(self, ctx: RoundContext) -> Agent[RoundContext]:
        """The three agents wired together; returns the one the round starts (or resumes) with:
        the Questioner, or — when an earlier attempt set the question, or the answer — the
        Answerer or the Judge, so a resumed round plays on from the step it lost."""
        judge = self._agent(
            "Judge",
            ctx,
            tool_use_behavior=stop_at_verdict,
            output_guardrails=[
                OutputGuardrail(
                    guardrail_function=verdict_follows_check, name="verdict_follows_check"
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
        to_answerer = handoff(answerer, input_filter=only_the_kickoff, is_enabled=_question_is_set)
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
