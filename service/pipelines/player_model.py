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
    ResponseStatus,
)

from ..rounds.player import AwaitingPlayer, PlayerSeat
from ..rounds.tools import TRANSFER_TO_JUDGE


def _response(call: ResponseFunctionToolCall | None, status: ResponseStatus) -> Response:
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
    def __init__(self, seat: PlayerSeat, *, round_id: str) -> None:
        self.seat = seat
        self.round_id = round_id

    async def _call(self) -> ResponseFunctionToolCall | None:
        """The player's answer as a handoff call; None while there is none yet."""
        with custom_span("player answer", data={"answered_by": "player"}):
            try:
                answer = await self.seat.wait_for_answer()
            except AwaitingPlayer:
                return None
        call_id = f"call_player_{self.round_id}"
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
        return ModelResponse(output=[call] if call else [], usage=Usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        call = await self._call()
        sequence = 0

        def number() -> int:
            nonlocal sequence
            sequence += 1
            return sequence

        if call is None:  # no answer yet: an empty reply ends the run
            yield ResponseCreatedEvent(
                response=_response(None, "in_progress"),
                sequence_number=number(),
                type="response.created",
            )
            yield ResponseCompletedEvent(
                response=_response(None, "completed"),
                sequence_number=number(),
                type="response.completed",
            )
            return

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
