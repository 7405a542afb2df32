"""The ``chat`` pipeline: the same three roles as plain streamed Chat Completions calls.

No framework: message history, tool calls and the order of the roles are handled here by hand,
with the same prompts, tools, tool-choice policy and verdict as the ``agents`` pipeline. It is
traced by hand too, with the Agents SDK's span types (agent, generation, function) so that both
pipelines land in the same trace store and compare span for span. There are no handoffs: the
code moves the round from role to role, so no ``handoff`` events are emitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.tracing import (
    SpanError,
    agent_span,
    custom_span,
    function_span,
    generation_span,
    guardrail_span,
)
from openai import AsyncOpenAI

from .. import errors
from ..agent_specs import AgentSpec
from ..rounds import prompts
from ..rounds.context import RoundContext
from ..rounds.tools import TOOL_ERROR_PREFIX, RoundTool
from ..tracing.annotations import mark_first_token
from .base import PipelineSetup
from .tool_choice import ToolChoicePolicy, chat_tool_choice_param

MAX_CALLS_PER_ROLE = 4
"""A role that has not finished its job after this many model calls fails the round."""


@dataclass
class _ToolCall:
    id: str
    name: str = ""
    arguments: str = ""


@dataclass
class _Reply:
    """One streamed assistant reply, reassembled."""

    text: str = ""
    tool_calls: list[_ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    def as_message(self) -> dict[str, Any]:
        # content "" rather than null: llama-cpp-python's server rejects a null content.
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return message


class ChatPipeline:
    """Runs Questioner, Answerer and Judge one after the other with ``chat.completions``."""

    name = "chat"

    def __init__(self, setup: PipelineSetup, client: AsyncOpenAI) -> None:
        self.setup = setup
        self.client = client

    async def run(self, ctx: RoundContext) -> None:
        """Play the roles whose job is not done yet (all three, unless an earlier attempt of the
        round got as far as the question or the answer).

        Each role is sent its instructions and the round's kickoff, nothing more: what earlier
        roles found (the question, the answer) is in its instructions, as in the ``agents``
        pipeline, whose handoffs strip earlier turns. So no request ends on an earlier role's
        assistant turn, which many servers read as a reply to continue (llama.cpp's server
        echoes it, or refuses two in a row).
        """
        kickoff: list[dict[str, Any]] = [
            {"role": "user", "content": prompts.kickoff(self.setup.config, ctx)}
        ]
        if ctx.question is None:
            await self._play_role(
                "Questioner", ctx, kickoff, done_when=lambda: ctx.question is not None
            )
        if ctx.answer is None:
            if ctx.player is not None:
                await self._player_answers(ctx)
            else:
                await self._play_role(
                    "Answerer", ctx, kickoff, done_when=lambda: ctx.answer is not None
                )
        await self._play_role("Judge", ctx, kickoff, done_when=lambda: ctx.verdict is not None)

    async def _player_answers(self, ctx: RoundContext) -> None:
        """A human round: the player's answer takes the Answerer's turn (no model call). With no
        answer yet, the seat ends the round's first run (:class:`AwaitingPlayer`)."""
        assert ctx.player is not None
        ctx.events.step_started("Answerer")
        answer = await ctx.player.wait_for_answer()
        with agent_span(name="Answerer", tools=[], output_type="str"):
            with custom_span("player answer", data={"answered_by": "player"}) as span:
                if self.setup.include_content_in_traces:
                    span.span_data.data["answer"] = answer
            ctx.set_answer(answer)
        ctx.events.step_finished()

    async def _play_role(
        self,
        role: str,
        ctx: RoundContext,
        kickoff: list[dict[str, Any]],
        *,
        done_when: Callable[[], bool],
    ) -> None:
        spec = self.setup.spec(role)
        tools = self.setup.role_tools(role, ctx)
        policy = ToolChoicePolicy(spec.tool_choice)
        system = prompts.instructions(spec, ctx, with_handoffs=False)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}, *kickoff]
        done: set[str] = set()
        ctx.events.step_started(role)
        with agent_span(name=role, tools=[tool.name for tool in tools], output_type="str"):
            for call_number in range(1, MAX_CALLS_PER_ROLE + 1):
                choice = policy.choose([tool.name for tool in tools], done)
                try:
                    reply = await self._call_model(
                        role, spec, messages, tools, choice, ctx, call_number
                    )
                except Exception as exc:  # cancellation passes through
                    raise errors.failure_from_exception(exc, role=role) from exc
                messages.append(reply.as_message())
                if not tools:
                    ctx.set_answer(reply.text)  # a role without tools answers in text
                for call in reply.tool_calls:
                    result = self._run_tool(call, tools, ctx)
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
                    if not result.startswith(TOOL_ERROR_PREFIX):
                        done.add(call.name)
                if done_when():
                    break
                if not reply.tool_calls and reply.finish_reason == "length":
                    raise errors.RoundFailure(
                        errors.MODEL_OUTPUT_TRUNCATED,
                        f"The {role}'s reply was cut off at its max_tokens before it called its "
                        f"tool ({', '.join(tool.name for tool in tools)}); raise max_tokens in "
                        "agents_config/ for this profile.",
                        role=role,
                    )
                if not reply.tool_calls:
                    raise errors.RoundFailure(
                        errors.MISSING_TOOL_CALL,
                        f"The {role} replied in text without calling its tool "
                        f"({', '.join(tool.name for tool in tools)}).",
                        role=role,
                    )
            else:
                raise errors.RoundFailure(
                    errors.MAX_TURNS_EXCEEDED,
                    f"The {role} did not finish its job in {MAX_CALLS_PER_ROLE} model calls.",
                    role=role,
                )
            if role == "Judge":  # the same tripwire the SDK runs on the Judge's output
                outcome = ctx.verdict_guardrail()
                with guardrail_span(outcome.name, triggered=outcome.triggered):
                    if outcome.triggered:
                        raise errors.RoundFailure(
                            errors.INVALID_VERDICT, outcome.reason, role="Judge"
                        )
        ctx.events.step_finished()

    def _run_tool(self, call: _ToolCall, tools: list[RoundTool], ctx: RoundContext) -> str:
        tool = next((t for t in tools if t.name == call.name), None)
        include = self.setup.include_content_in_traces
        with function_span(
            name=call.name or "unknown", input=call.arguments if include else None
        ) as span:
            if tool is None:
                result = f"{TOOL_ERROR_PREFIX} there is no tool named {call.name!r}."
            else:
                result = tool.invoke(ctx, call.arguments)
            if result.startswith(TOOL_ERROR_PREFIX):
                span.set_error(SpanError(message=result, data=None))
            if include:
                span.span_data.output = result
        ctx.events.tool_call_result(call.id, result)
        return result

    async def _call_model(
        self,
        role: str,
        spec: AgentSpec,
        messages: list[dict[str, Any]],
        tools: list[RoundTool],
        choice: str | None,
        ctx: RoundContext,
        call_number: int,
    ) -> _Reply:
        model = spec.model or self.setup.default_model
        params: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **spec.model_settings,
        }
        if tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters_schema(
                            bound_strings=self.setup.bound_strings
                        ),
                    },
                }
                for tool in tools
            ]
            params["tool_choice"] = chat_tool_choice_param(choice)
        model_config = {
            **spec.model_settings,
            "tool_choice": choice,
            "base_url": str(self.client.base_url),
        }
        try:
            async with asyncio.timeout(self.setup.call_timeout):  # one call, its retries included
                return await self._call_with_retries(
                    role, model, model_config, params, messages, ctx, call_number
                )
        except TimeoutError:
            raise errors.RoundFailure(
                errors.MODEL_TIMEOUT,
                f"The {role}'s model call took longer than {self.setup.call_timeout:.0f} s "
                "(QUIZRELAY_LLM_TIMEOUT).",
                role=role,
            ) from None

    async def _call_with_retries(
        self,
        role: str,
        model: str,
        model_config: dict[str, Any],
        params: dict[str, Any],
        messages: list[dict[str, Any]],
        ctx: RoundContext,
        call_number: int,
    ) -> _Reply:
        """Attempts of one model call, each in its own generation span; transient failures are
        retried per ``setup.retry`` after closing the attempt's partial output."""
        include = self.setup.include_content_in_traces
        retry = self.setup.retry
        retries_done = 0
        while True:
            key = f"{role}:{call_number}" + (f".{retries_done}" if retries_done else "")
            with generation_span(
                model=model, input=list(messages) if include else None, model_config=model_config
            ) as span:
                try:
                    reply = await self._stream(params, ctx, key=key, span_id=span.span_id)
                except Exception as exc:
                    span.set_error(SpanError(message=f"{type(exc).__name__}: {exc}", data=None))
                    if not retry.should_retry(exc, retries_done):
                        raise
                    error = exc
                else:
                    if include:
                        # The trace keeps why the reply ended (not the history: no server wants it).
                        span.span_data.output = [
                            {**reply.as_message(), "finish_reason": reply.finish_reason}
                        ]
                    span.span_data.usage = {
                        "requests": 1,
                        "input_tokens": reply.input_tokens or 0,
                        "output_tokens": reply.output_tokens or 0,
                    }
                    ctx.usage.record(role, reply.input_tokens, reply.output_tokens)
                    return reply
            retries_done += 1
            delay = retry.delay(retries_done, error)
            self.setup.announce_retry(ctx, role, retries_done, error, delay)
            await asyncio.sleep(delay)

    async def _stream(
        self, params: dict[str, Any], ctx: RoundContext, *, key: str, span_id: str
    ) -> _Reply:
        """One streamed call, forwarded delta by delta to the round's events."""
        events = ctx.events
        first_token_seen = False
        reply = _Reply()
        calls: dict[int, _ToolCall] = {}
        stream = await self.client.chat.completions.create(**params)
        async for chunk in stream:
            if chunk.usage is not None:
                reply.input_tokens = chunk.usage.prompt_tokens
                reply.output_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices:
                delta = choice.delta
                if not first_token_seen and (delta.content or delta.tool_calls):
                    first_token_seen = True
                    mark_first_token(span_id)
                if delta.content:
                    reply.text += delta.content
                    events.text_delta(key, delta.content)
                for piece in delta.tool_calls or []:
                    call = calls.get(piece.index)
                    if call is None:
                        call = _ToolCall(
                            id=piece.id or f"call_{key.replace(':', '_')}_{piece.index}"
                        )
                        calls[piece.index] = call
                    if piece.function is not None:
                        # Names arrive whole (some servers repeat them on every chunk).
                        if piece.function.name and not call.name:
                            call.name = piece.function.name
                            events.tool_call_start(call.id, call.name)
                        if piece.function.arguments:
                            call.arguments += piece.function.arguments
                            events.tool_call_args(call.id, piece.function.arguments)
                if choice.finish_reason:
                    reply.finish_reason = choice.finish_reason
        events.text_end(key)
        for call in calls.values():
            events.tool_call_start(call.id, call.name)  # no-op unless the name came late
            events.tool_call_end(call.id)
        reply.tool_calls = list(calls.values())
        return reply
