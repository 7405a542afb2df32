"""The ``agents-tools`` pipeline: the same three roles, orchestrated by a quizmaster agent that
calls them as tools (the Agents SDK's other multi-agent pattern, ``Agent.as_tool``).

Each role is the same agent the ``agents`` pipeline builds (its prompt, tools, tool-choice
policy, retries; no handoff instructions), run by the SDK as a nested agent when the
quizmaster calls its tool: ``ask_question``, ``answer_question``, ``judge_answer``. The nested
runs stream, and their events become the round's steps exactly as in the other pipelines; the
quizmaster's own calls are orchestration, visible in the trace (each nested agent span sits
under the quizmaster's function span) and in usage (role ``Quizmaster``), not as a step.

A tool is offered only while its role's job is undone, so a resumed round's quizmaster (or a
human round's second run) goes straight to the step that is left. The run ends when the verdict
is in (or, in a human round, once the question is out and the player has yet to answer).
"""

from __future__ import annotations

from typing import Any

from agents import (
    Agent,
    AgentToolStreamEvent,
    OutputGuardrail,
    RunConfig,
    RunContextWrapper,
    Runner,
    ToolsToFinalOutputResult,
)
from agents.result import RunResult, RunResultStreaming
from openai.types.responses import ResponseCompletedEvent
from pydantic import BaseModel, ConfigDict

from .. import errors
from ..agent_specs import QUIZMASTER
from ..rounds import prompts
from ..rounds.context import RoundContext
from ..rounds.player import AwaitingPlayer
from .base import PipelineSetup
from .player_model import PlayerModel
from .sdk_agents import ModelFactory, role_agent, stop_at_verdict, verdict_follows_check
from .sdk_stream import SdkStreamTranslator

ASK, ANSWER, JUDGE = "ask_question", "answer_question", "judge_answer"


class NoArguments(BaseModel):
    """The role tools take no arguments: what a role needs is in its own instructions."""

    model_config = ConfigDict(extra="forbid")


def _stop_at_question(
    run_context: RunContextWrapper[RoundContext], results: list[Any]
) -> ToolsToFinalOutputResult:
    question = run_context.context.question
    return ToolsToFinalOutputResult(
        is_final_output=question is not None, final_output=question.text if question else None
    )


def _round_done(
    run_context: RunContextWrapper[RoundContext], results: list[Any]
) -> ToolsToFinalOutputResult:
    """The quizmaster stops once the verdict is in, or once a human round needs its player."""
    ctx = run_context.context
    waiting = ctx.player is not None and ctx.question is not None and ctx.answer is None
    done = ctx.verdict is not None or waiting
    return ToolsToFinalOutputResult(is_final_output=done, final_output="")


class AgentsToolsPipeline:
    name = "agents-tools"

    def __init__(self, setup: PipelineSetup, model_factory: ModelFactory) -> None:
        self.setup = setup
        self.model_factory = model_factory

    def _role(self, role: str, ctx: RoundContext, **extra: Any) -> Agent[RoundContext]:
        return role_agent(self.setup, self.model_factory, role, ctx, with_handoffs=False, **extra)

    def build(self, ctx: RoundContext, translator: SdkStreamTranslator) -> Agent[RoundContext]:
        setup = self.setup
        kickoff = prompts.kickoff(setup.config, ctx)

        async def relay(event: AgentToolStreamEvent) -> None:
            translator.handle(event["event"])

        def offered_while(undone: Any) -> Any:
            return lambda run_context, agent: undone(run_context.context)

        async def answer_out(result: RunResult | RunResultStreaming) -> str:
            text = str(result.final_output or "").strip()
            if ctx.answer is None and text:
                ctx.set_answer(text)
            return ctx.answer or "The player has not answered yet."

        async def verdict_out(result: RunResult | RunResultStreaming) -> str:
            verdict = ctx.verdict
            return verdict.model_dump_json() if verdict else "No verdict was given."

        common: dict[str, Any] = {
            "on_stream": relay, "parameters": NoArguments, "input_builder": lambda _: kickoff,
            "failure_error_function": None,  # a role that fails fails the round, as elsewhere
            "max_turns": setup.config.round.max_turns,
        }  # fmt: skip
        questioner = self._role("Questioner", ctx, tool_use_behavior=_stop_at_question)
        if ctx.player is not None:  # a human takes the Answerer's place
            player = PlayerModel(ctx.player, round_id=ctx.round_id, as_text=True)
            answerer = self._role("Answerer", ctx, model=player, call_timeout=None)
        else:
            answerer = self._role("Answerer", ctx)
        judge = self._role(
            "Judge",
            ctx,
            tool_use_behavior=stop_at_verdict,
            output_guardrails=[
                OutputGuardrail(
                    guardrail_function=verdict_follows_check, name="verdict_follows_check"
                )
            ],
        )
        describe = setup.config.tools
        tools = [
            questioner.as_tool(
                ASK, describe[ASK].description,
                is_enabled=offered_while(lambda c: c.question is None), **common,
            ),
            answerer.as_tool(
                ANSWER, describe[ANSWER].description, custom_output_extractor=answer_out,
                is_enabled=offered_while(lambda c: c.question is not None and c.answer is None),
                **common,
            ),
            judge.as_tool(
                JUDGE, describe[JUDGE].description, custom_output_extractor=verdict_out,
                is_enabled=offered_while(lambda c: c.answer is not None and c.verdict is None),
                **common,
            ),
        ]  # fmt: skip
        return self._role(QUIZMASTER, ctx, tools=tools, tool_use_behavior=_round_done)

    async def run(self, ctx: RoundContext) -> None:
        translator = SdkStreamTranslator(ctx, handoffs=False)
        quizmaster = self.build(ctx, translator)
        result = Runner.run_streamed(
            quizmaster,
            prompts.kickoff(self.setup.config, ctx),
            context=ctx,
            max_turns=self.setup.config.round.max_turns,
            run_config=RunConfig(
                trace_include_sensitive_data=self.setup.include_content_in_traces,
                tracing={"include_task_and_turn_spans": False},
            ),
        )
        try:
            async for event in result.stream_events():
                data = getattr(event, "data", None)
                if isinstance(data, ResponseCompletedEvent):  # the quizmaster's own calls
                    usage = data.response.usage
                    if usage is None or (usage.input_tokens == 0 and usage.output_tokens == 0):
                        ctx.usage.record(QUIZMASTER, None, None)
                    else:
                        ctx.usage.record(QUIZMASTER, usage.input_tokens, usage.output_tokens)
        except Exception as exc:  # cancellation (round limit, shutdown) passes through
            raise errors.failure_from_exception(exc, role=translator.current_agent) from exc
        if ctx.player is not None and ctx.question is not None and ctx.answer is None:
            raise AwaitingPlayer()  # the first run ends here: the question is out
        self._check_outcome(ctx)

    @staticmethod
    def _check_outcome(ctx: RoundContext) -> None:
        if ctx.verdict is not None:
            return
        missing = ASK if ctx.question is None else (ANSWER if ctx.answer is None else JUDGE)
        role = {ASK: "Questioner", ANSWER: "Answerer", JUDGE: "Judge"}[missing]
        raise errors.RoundFailure(
            errors.MISSING_TOOL_CALL,
            f"The quizmaster ended the round without a verdict: the {role}'s step ({missing}) "
            "was never completed.",
            role=role,
        )
