"""The player as the Answerer's model, so a human takes the Answerer's place in the SDK chain.

The Questioner hands off to the Answerer as in any round. While the player has not answered,
the Answerer's "model call" returns nothing, which ends the SDK run cleanly (the pipeline then
ends the round's first run: it waits for its player, and no task waits with it). Once the answer
is in the seat, a new run starts at the Answerer, whose "model call" returns the answer as a
``transfer_to_judge`` call, so the Judge receives it through the same handoff a model's answer
takes. No model is called for the player.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from agents.items import ModelResponse
from agents.models.interface import Model
from agents.tracing import custom_span
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStatus,
    ResponseTextDeltaEvent,
)

from ..rounds.player import AwaitingPlayer, PlayerSeat
from ..rounds.tools import TRANSFER_TO_JUDGE


def _response(
    call: ResponseFunctionToolCall | ResponseOutputMessage | None, status: ResponseStatus
) -> Response:
    return Response(
        id="player",
        created_at=0,
        model="player",
        object="response",
        output=[call] if call is not None and status == "completed" else [],
        tool_choice="none",
        tools=[],
        top_p=None,
        parallel_tool_calls=False,
        status=status,
    )


class PlayerModel(Model):
    def __init__(self, seat: PlayerSeat, *, round_id: str, as_text: bool = False) -> None:
        self.seat = seat
        self.round_id = round_id
        self.as_text = as_text
        """Reply with the answer as text (the Answerer called as a tool) instead of a handoff."""

    async def _call(self) -> ResponseFunctionToolCall | ResponseOutputMessage | None:
        """The player's answer as a handoff call (or as text); None while there is none yet."""
        with custom_span("player answer", data={"answered_by": "player"}):
            try:
                answer = await self.seat.wait_for_answer()
            except AwaitingPlayer:
                return None
        item_id = f"call_player_{self.round_id}"
        if self.as_text:
            return ResponseOutputMessage(
                id=item_id,
                content=[ResponseOutputText(text=answer, annotations=[], type="output_text")],
                role="assistant",
                status="completed",
                type="message",
            )
        return ResponseFunctionToolCall(
            id=item_id,
            call_id=item_id,
            type="function_call",
            name=TRANSFER_TO_JUDGE,
            arguments=json.dumps({"answer": answer}),
            status="completed",
        )

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        item = await self._call()
        return ModelResponse(output=[item] if item else [], usage=Usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        item = await self._call()
        sequence = 0

        def number() -> int:
            nonlocal sequence
            sequence += 1
            return sequence

        yield ResponseCreatedEvent(
            response=_response(item, "in_progress"),
            sequence_number=number(),
            type="response.created",
        )
        if item is not None:  # no answer yet: an empty reply ends the run
            yield from_item(item, number)
            yield _delta(item, number())
            yield ResponseOutputItemDoneEvent(
                item=item,
                output_index=0,
                sequence_number=number(),
                type="response.output_item.done",
            )
        yield ResponseCompletedEvent(
            response=_response(item, "completed"),
            sequence_number=number(),
            type="response.completed",
        )


def from_item(
    item: ResponseFunctionToolCall | ResponseOutputMessage, number: Any
) -> ResponseOutputItemAddedEvent:
    """The item as it starts: a call without arguments yet, or a message without text yet."""
    if isinstance(item, ResponseFunctionToolCall):
        pending: Any = item.model_copy(update={"arguments": "", "status": "in_progress"})
    else:
        pending = item.model_copy(update={"content": [], "status": "in_progress"})
    return ResponseOutputItemAddedEvent(
        item=pending, output_index=0, sequence_number=number(), type="response.output_item.added"
    )


def _delta(item: ResponseFunctionToolCall | ResponseOutputMessage, sequence: int) -> Any:
    if isinstance(item, ResponseFunctionToolCall):
        return ResponseFunctionCallArgumentsDeltaEvent(
            delta=item.arguments,
            item_id=item.id or "",
            output_index=0,
            sequence_number=sequence,
            type="response.function_call_arguments.delta",
        )
    text = item.content[0].text if isinstance(item.content[0], ResponseOutputText) else ""
    return ResponseTextDeltaEvent(
        content_index=0,
        delta=text,
        item_id=item.id,
        output_index=0,
        sequence_number=sequence,
        type="response.output_text.delta",
        logprobs=[],
    )
