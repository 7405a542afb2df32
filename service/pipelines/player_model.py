"""The player as the Answerer's model, so a human takes the Answerer's place in the SDK chain.

The Questioner hands off to the Answerer as in any round; the Answerer's "model call" waits for
the player's answer and returns it as a ``transfer_to_judge`` call, so the Judge receives it
through the same handoff a model's answer takes. No model is called for the player.
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
    ResponseStatus,
)

from ..rounds.player import PlayerSeat
from ..rounds.tools import TRANSFER_TO_JUDGE


def _response(call: ResponseFunctionToolCall, status: ResponseStatus) -> Response:
    return Response(
        id="player",
        created_at=0,
        model="player",
        object="response",
        output=[call] if status == "completed" else [],
        tool_choice="none",
        tools=[],
        top_p=None,
        parallel_tool_calls=False,
        status=status,
    )


class PlayerModel(Model):
    def __init__(self, seat: PlayerSeat) -> None:
        self.seat = seat
        self._calls = 0

    async def _call(self) -> ResponseFunctionToolCall:
        with custom_span("player answer", data={"answered_by": "player"}):
            answer = await self.seat.wait_for_answer()
        self._calls += 1
        call_id = f"call_player_{self._calls}"
        return ResponseFunctionToolCall(
            id=call_id,
            call_id=call_id,
            type="function_call",
            name=TRANSFER_TO_JUDGE,
            arguments=json.dumps({"answer": answer}),
            status="completed",
        )

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        call = await self._call()
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        call = await self._call()
        sequence = 0

        def number() -> int:
            nonlocal sequence
            sequence += 1
            return sequence

        yield ResponseCreatedEvent(
            response=_response(call, "in_progress"),
            sequence_number=number(),
            type="response.created",
        )
        pending = call.model_copy(update={"arguments": "", "status": "in_progress"})
        yield ResponseOutputItemAddedEvent(
            item=pending,
            output_index=0,
            sequence_number=number(),
            type="response.output_item.added",
        )
        yield ResponseFunctionCallArgumentsDeltaEvent(
            delta=call.arguments,
            item_id=call.id or "",
            output_index=0,
            sequence_number=number(),
            type="response.function_call_arguments.delta",
        )
        yield ResponseOutputItemDoneEvent(
            item=call, output_index=0, sequence_number=number(), type="response.output_item.done"
        )
        yield ResponseCompletedEvent(
            response=_response(call, "completed"),
            sequence_number=number(),
            type="response.completed",
        )
