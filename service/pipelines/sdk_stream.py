"""Translate the Agents SDK's stream events into the round's AG-UI events.

The SDK streams Responses-API events even for Chat Completions models, and reports handoffs
and tool results as run items after each model turn. This class turns them into the shared
vocabulary of :mod:`quizrelay.events`: steps per agent, text and tool-call deltas, tool results,
a ``handoff`` event for each change of agent, and usage per role.
"""

from __future__ import annotations

from typing import Any

from agents import AgentUpdatedStreamEvent, RawResponsesStreamEvent, RunItemStreamEvent
from agents.items import HandoffOutputItem, ToolCallOutputItem
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseTextDeltaEvent,
)

from ..rounds.context import RoundContext


class SdkStreamTranslator:
    """Stateful: remembers the current agent and which output index belongs to which call."""

    def __init__(self, ctx: RoundContext, *, handoffs: bool = True) -> None:
        self._ctx = ctx
        self._events = ctx.events
        self._handoffs = handoffs
        """Report a change of agent as a ``handoff`` (not when roles are called as tools)."""
        self.current_agent: str | None = None
        self._response_number = 0
        self._call_ids: dict[int, str] = {}
        self._call_args_seen: dict[str, bool] = {}

    def handle(self, event: Any) -> None:
        if isinstance(event, AgentUpdatedStreamEvent):
            self._agent_updated(event.new_agent.name)
        elif isinstance(event, RawResponsesStreamEvent):
            self._raw(event.data)
        elif isinstance(event, RunItemStreamEvent):
            self._run_item(event)

    def _agent_updated(self, name: str) -> None:
        previous = self.current_agent
        if previous == name:
            return
        if previous is not None and self._handoffs:
            self._events.handoff(previous, name)
        self.current_agent = name
        self._events.step_started(name)

    def _text_key(self, output_index: int) -> str:
        return f"{self._response_number}:{output_index}"

    def _raw(self, data: Any) -> None:
        if isinstance(data, ResponseCreatedEvent):
            self._response_number += 1
            self._call_ids.clear()
        elif isinstance(data, ResponseOutputItemAddedEvent):
            item = data.item
            if item.type == "function_call":
                self._call_ids[data.output_index] = item.call_id
                self._events.tool_call_start(item.call_id, item.name)
            elif item.type == "message":
                self._events.text_start(self._text_key(data.output_index))
        elif isinstance(data, ResponseTextDeltaEvent):
            self._events.text_delta(self._text_key(data.output_index), data.delta)
        elif isinstance(data, ResponseFunctionCallArgumentsDeltaEvent):
            call_id = self._call_ids.get(data.output_index)
            if call_id is not None:
                self._call_args_seen[call_id] = True
                self._events.tool_call_args(call_id, data.delta)
        elif isinstance(data, ResponseOutputItemDoneEvent):
            self._item_done(data)
        elif isinstance(data, ResponseCompletedEvent):
            self._record_usage(data)

    def _item_done(self, data: ResponseOutputItemDoneEvent) -> None:
        item = data.item
        if item.type == "message":
            self._events.text_end(self._text_key(data.output_index))
        elif item.type == "function_call":
            # Servers whose tool calls arrive whole (or buffered) never sent deltas: send the
            # arguments in one piece so a client still sees them.
            self._events.tool_call_start(item.call_id, item.name)
            if not self._call_args_seen.get(item.call_id) and item.arguments:
                self._events.tool_call_args(item.call_id, item.arguments)
            self._events.tool_call_end(item.call_id)

    def _record_usage(self, data: ResponseCompletedEvent) -> None:
        role = self.current_agent or "unknown"
        if role == "Answerer" and self._ctx.player is not None:
            return  # the player's turn is not a model call
        usage = data.response.usage
        if usage is None or (usage.input_tokens == 0 and usage.output_tokens == 0):
            self._ctx.usage.record(role, None, None)
        else:
            self._ctx.usage.record(role, usage.input_tokens, usage.output_tokens)

    def _run_item(self, event: RunItemStreamEvent) -> None:
        item = event.item
        if isinstance(item, (ToolCallOutputItem, HandoffOutputItem)):
            raw = item.raw_item
            call_id = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
            output = raw.get("output") if isinstance(raw, dict) else getattr(raw, "output", None)
            if call_id:
                self._events.tool_call_result(str(call_id), _as_text(output))


def _as_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if output is None:
        return ""
    return str(output)
