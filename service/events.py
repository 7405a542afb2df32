"""The event vocabulary of a round, shaped as AG-UI events.

Both pipelines describe what happens through one :class:`RoundEvents` object, so an ``agents``
round and a ``chat`` round speak the same protocol (``ag-ui-protocol``'s models and field names)
and an AG-UI client can consume either. This module knows nothing about HTTP, SSE or storage:
events go to a ``publish`` callable (the round's event log).

Order within a round (see the README for an annotated stream)::

    RUN_STARTED → CUSTOM round → per role: STEP_STARTED, TEXT_MESSAGE_*, TOOL_CALL_*,
    CUSTOM question/answer/verdict/handoff as they become known, STEP_FINISHED
    → CUSTOM usage → RUN_FINISHED | RUN_ERROR
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.core.events import Interrupt, RunFinishedInterruptOutcome, RunFinishedSuccessOutcome

Publish = Callable[[BaseEvent], None]

# Names of the CUSTOM events; clients switch on them.
ROUND = "round"
QUESTION = "question"
ANSWER = "answer"
VERDICT = "verdict"
HANDOFF = "handoff"
USAGE = "usage"
RETRY = "retry"
RESUMED = "resumed"
GUARDRAIL = "guardrail"


def _now_ms() -> int:
    return int(time.time() * 1000)


class RoundEvents:
    """Builds and publishes the events of one round (one AG-UI thread run, or two in human mode).

    It keeps the little state the protocol needs: the open step, open text messages and open
    tool calls, so every ``*_START`` gets its ``*_END`` even when a pipeline fails mid-way.
    """

    def __init__(
        self,
        publish: Publish,
        *,
        thread_id: str,
        run_id: str,
        on_token: Callable[[str | None], None] | None = None,
        scope: str | None = None,
    ) -> None:
        self._publish = publish
        self.thread_id = thread_id
        self.run_id = run_id
        self._on_token = on_token
        self._scope = scope
        """Prefix of tool-call ids (the round id): a model's own call ids repeat from round to
        round, and a client that keeps one thread's messages must never see one twice."""
        self._message_numbers = itertools.count(1)
        self.current_step: str | None = None
        self._open_messages: dict[str, str] = {}
        self._open_tool_calls: dict[str, str] = {}

    def emit(self, event: BaseEvent) -> None:
        if event.timestamp is None:
            event.timestamp = _now_ms()
        self._publish(event)

    # Run lifecycle -------------------------------------------------------------------------
    def run_started(self) -> None:
        self.emit(RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id))

    def run_finished(self, result: dict[str, Any], *, awaiting_input: str | None = None) -> None:
        self.close_open()
        if awaiting_input is None:
            outcome: Any = RunFinishedSuccessOutcome()
        else:
            interrupt = Interrupt(
                id=self._scope or self.run_id, reason="awaiting_answer", message=awaiting_input
            )
            outcome = RunFinishedInterruptOutcome(interrupts=[interrupt])
        self.emit(
            RunFinishedEvent(
                thread_id=self.thread_id, run_id=self.run_id, result=result, outcome=outcome
            )
        )

    def run_error(self, code: str, message: str) -> None:
        self.close_open()
        self.emit(RunErrorEvent(code=code, message=message))

    def custom(self, name: str, value: dict[str, Any]) -> None:
        self.emit(CustomEvent(name=name, value=value))

    # Steps (one per role) ------------------------------------------------------------------
    def step_started(self, role: str) -> None:
        if self.current_step == role:
            return
        if self.current_step is not None:
            self.step_finished()
        self.current_step = role
        self.emit(StepStartedEvent(step_name=role))

    def step_finished(self) -> None:
        if self.current_step is None:
            return
        self._close_messages_and_calls()
        role, self.current_step = self.current_step, None
        self.emit(StepFinishedEvent(step_name=role))

    # Text --------------------------------------------------------------------------------
    def text_start(self, key: str, *, role_name: str | None = None) -> str:
        """Open a text message; ``key`` is the pipeline's own handle for it (an item id)."""
        message_id = f"msg_{self.run_id}_{next(self._message_numbers)}"
        self._open_messages[key] = message_id
        self.emit(
            TextMessageStartEvent(
                message_id=message_id, role="assistant", name=role_name or self.current_step
            )
        )
        return message_id

    def text_delta(self, key: str, delta: str) -> None:
        if not delta:
            return  # AG-UI requires non-empty deltas
        message_id = self._open_messages.get(key) or self.text_start(key)
        if self._on_token is not None:
            self._on_token(self.current_step)
        self.emit(TextMessageContentEvent(message_id=message_id, delta=delta))

    def text_end(self, key: str) -> None:
        message_id = self._open_messages.pop(key, None)
        if message_id is not None:
            self.emit(TextMessageEndEvent(message_id=message_id))

    # Tool calls ----------------------------------------------------------------------------
    def _tool_id(self, call_id: str) -> str:
        return f"{self._scope}.{call_id}" if self._scope else call_id

    def tool_call_start(self, call_id: str, name: str) -> None:
        tool_id = self._tool_id(call_id)
        if tool_id in self._open_tool_calls:
            return
        self._open_tool_calls[tool_id] = name
        self.emit(ToolCallStartEvent(tool_call_id=tool_id, tool_call_name=name))

    def tool_call_args(self, call_id: str, delta: str) -> None:
        if not delta:
            return
        if self._on_token is not None:
            self._on_token(self.current_step)
        self.emit(ToolCallArgsEvent(tool_call_id=self._tool_id(call_id), delta=delta))

    def tool_call_end(self, call_id: str) -> None:
        self._end_tool_call(self._tool_id(call_id))

    def _end_tool_call(self, tool_id: str) -> None:
        if self._open_tool_calls.pop(tool_id, None) is not None:
            self.emit(ToolCallEndEvent(tool_call_id=tool_id))

    def tool_call_result(self, call_id: str, content: str) -> None:
        self.tool_call_end(call_id)
        message_id = f"msg_{self.run_id}_{next(self._message_numbers)}"
        self.emit(
            ToolCallResultEvent(
                message_id=message_id,
                tool_call_id=self._tool_id(call_id),
                content=content,
                role="tool",
            )
        )

    # Facts of the round --------------------------------------------------------------------
    def handoff(self, source: str, target: str) -> None:
        self.custom(HANDOFF, {"from": source, "to": target})

    def close_open(self) -> None:
        """End whatever is open (messages, tool calls, the step) before the run's last event."""
        self.step_finished()
        self._close_messages_and_calls()

    def close_items(self) -> None:
        """End open messages and tool calls but not the step (a model call failed mid-way)."""
        self._close_messages_and_calls()

    def _close_messages_and_calls(self) -> None:
        for key in list(self._open_messages):
            self.text_end(key)
        for tool_id in list(self._open_tool_calls):
            self._end_tool_call(tool_id)

    def fact(self, role: str, text: str, *, by_player: bool = False) -> None:
        """Say a fact of the round (question, answer, verdict) as one whole text message, by
        ``role`` (the player's answer as the user's): its id starts with ``fact_``."""
        if not text:
            return
        message_id = f"fact_{self.run_id}_{next(self._message_numbers)}"
        self.emit(
            TextMessageStartEvent(
                message_id=message_id, role="user" if by_player else "assistant", name=role
            )
        )
        self.emit(TextMessageContentEvent(message_id=message_id, delta=text))
        self.emit(TextMessageEndEvent(message_id=message_id))

    def restore(self, history: list[dict[str, Any]]) -> None:
        """Continue a stream another attempt began: its run, the step, the messages and tool
        calls it left open (closed by :meth:`close_items` or the next step), and the numbering
        of message ids."""
        used = 0
        for data in history:
            kind = data.get("type")
            if kind == "RUN_STARTED":
                self.run_id = str(data.get("runId", self.run_id))
            elif kind == "STEP_STARTED":
                self.current_step = data.get("stepName")
            elif kind == "STEP_FINISHED":
                self.current_step = None
            elif kind == "TEXT_MESSAGE_START":
                used += 1
                self._open_messages[str(data["messageId"])] = str(data["messageId"])
            elif kind == "TEXT_MESSAGE_END":
                self._open_messages.pop(str(data["messageId"]), None)
            elif kind == "TOOL_CALL_START":
                self._open_tool_calls[str(data["toolCallId"])] = str(data.get("toolCallName", ""))
            elif kind == "TOOL_CALL_END":
                self._open_tool_calls.pop(str(data["toolCallId"]), None)
            elif kind == "TOOL_CALL_RESULT":
                used += 1
                self._open_tool_calls.pop(str(data["toolCallId"]), None)
            elif kind in ("RUN_FINISHED", "RUN_ERROR"):
                self.current_step = None
        self._message_numbers = itertools.count(used + 1)
