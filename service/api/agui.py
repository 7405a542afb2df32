"""``POST /api/agui``: a round for any AG-UI client, driven by AG-UI's own ``RunAgentInput``.

The body is ``RunAgentInput`` exactly as the ``ag-ui-protocol`` models define it, so an
unmodified client (``@ag-ui/client``'s ``HttpAgent``, CopilotKit, ...) can play:

* ``threadId`` is the game (created on first use), ``runId`` becomes the round's id (a ``runId``
  used before is a 409), and ``forwardedProps`` carry the round's options — ``pipeline``,
  ``model``, ``category``, ``difficulty``, ``seed``, ``mode``, ``question``,
  ``reference_answer`` (anything else is a 422 that names it). The last user message in
  ``messages`` may be the question itself (with ``reference_answer`` in ``forwardedProps``).
* A human round (``mode: "human"``) ends its first run with ``RUN_FINISHED`` whose outcome is an
  interrupt (its id is the round's). The client answers by running the same thread again with
  ``resume: [{interruptId, status: "resolved", payload: {answer}}]``; ``status: "cancelled"``
  ends the round as cancelled. Without ``resume``, the last user message of ``messages``
  answers the thread's waiting round.

The stream is the round's ordinary event stream; its runs carry the ``threadId`` and ``runId``
the client sent.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ag_ui.core import RunAgentInput
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..storage.rounds import AnswerRejected, DuplicateRound
from .access import PlayerDep, limit_starts, visible
from .deps import ServiceState, StateDep
from .rounds import SSE_RESPONSE, plan_round, stream, unprocessable
from .schemas import ID_PATTERN

router = APIRouter(prefix="/api/agui", tags=["ag-ui"])


class RoundProps(BaseModel):
    """The round options an AG-UI client passes in ``forwardedProps``."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str | None = Field(default=None, max_length=32)
    model: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=64)
    difficulty: Literal["easy", "medium", "hard"] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    mode: Literal["ai", "human"] | None = None
    question: str | None = Field(default=None, min_length=1, max_length=2000)
    reference_answer: str | None = Field(default=None, min_length=1, max_length=200)


def _props(body: RunAgentInput) -> RoundProps:
    raw = body.forwarded_props if body.forwarded_props is not None else {}
    if not isinstance(raw, dict):
        raise unprocessable("forwardedProps", "must be an object of round options")
    unknown = sorted(set(raw) - set(RoundProps.model_fields))
    if unknown:
        known = ", ".join(RoundProps.model_fields)
        raise unprocessable(
            "forwardedProps", f"unknown round options {unknown}; quizrelay takes {known}"
        )
    try:
        return RoundProps.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise unprocessable(f"forwardedProps.{field}", first["msg"]) from exc


def _last_user_text(body: RunAgentInput) -> str | None:
    for message in reversed(body.messages):
        if getattr(message, "role", None) == "user":
            content = getattr(message, "content", None)
            if isinstance(content, str) and content.strip():
                return content.strip()
            return None
    return None


def _check_id(value: str, field: str) -> None:
    if not re.fullmatch(ID_PATTERN, value):
        raise unprocessable(field, "must be 1-64 letters, digits, '_' or '-'")


@router.post(
    "",
    response_class=StreamingResponse,
    responses={**SSE_RESPONSE, 409: {"description": "runId used before, or no answer expected"}},
)
async def run_agent(
    body: RunAgentInput, request: Request, state: StateDep, player: PlayerDep
) -> StreamingResponse:
    """Run one AG-UI run of a quiz round: a new round, or the answer to a waiting one."""
    _check_id(body.thread_id, "threadId")
    _check_id(body.run_id, "runId")
    if body.resume:
        return await _resume(state, body, player)
    waiting = await state.round_store.waiting_in_game(body.thread_id)
    answer = _last_user_text(body)
    if waiting is not None and answer is not None and visible(waiting.owner, player):
        return await _answer(state, waiting.id, answer, body.run_id)
    return await _start(state, body, request, player)


async def _start(
    state: ServiceState, body: RunAgentInput, request: Request, player: str | None
) -> StreamingResponse:
    props = _props(body)
    options: dict[str, Any] = props.model_dump()
    if options["question"] is None and options["reference_answer"] is not None:
        options["question"] = _last_user_text(body)
        if options["question"] is None:
            raise unprocessable(
                "messages", "reference_answer needs a question: send it as the last user message"
            )
    if (options["question"] is None) != (options["reference_answer"] is None):
        raise unprocessable(
            "forwardedProps.reference_answer", "a question needs its reference_answer, and back"
        )
    await limit_starts(request, state, player)
    plan = await plan_round(state, {**options, "game_id": body.thread_id}, player)
    if await state.round_store.exists(body.run_id):
        raise HTTPException(409, detail=f"runId {body.run_id!r} was used before; send a new one")
    try:
        started = await state.rounds.start(plan, round_id=body.run_id)
    except DuplicateRound:
        raise HTTPException(
            409, detail=f"runId {body.run_id!r} was used before; send a new one"
        ) from None
    return stream(state, started.id, 0)


async def _resume(
    state: ServiceState, body: RunAgentInput, player: str | None
) -> StreamingResponse:
    assert body.resume
    entry = body.resume[0]
    row = await state.rounds.get(entry.interrupt_id)
    if row is None or row.game_id != body.thread_id or not visible(row.owner, player):
        raise HTTPException(
            404, detail=f"no interrupt {entry.interrupt_id!r} on thread {body.thread_id!r}"
        )
    if entry.status == "cancelled":
        if row.status != "awaiting_answer":
            raise HTTPException(409, detail=f"round {row.id} is {row.status}; nothing to cancel")
        after = row.events_stored
        await state.rounds.cancel(row.id, "The player cancelled the round.", run_id=body.run_id)
        return stream(state, row.id, after)
    payload = entry.payload
    answer = payload.get("answer") if isinstance(payload, dict) else payload
    if not isinstance(answer, str) or not answer.strip() or len(answer) > 500:
        raise unprocessable(
            "resume.0.payload.answer", "the answer must be 1-500 characters of text"
        )
    return await _answer(state, row.id, answer.strip(), body.run_id)


async def _answer(
    state: ServiceState, round_id: str, answer: str, run_id: str
) -> StreamingResponse:
    try:
        after = await state.rounds.answer(round_id, answer, run_id=run_id)
    except KeyError:
        raise HTTPException(404, detail=f"no round with id {round_id!r}") from None
    except AnswerRejected as exc:
        raise HTTPException(409, detail=exc.reason) from exc
    return stream(state, round_id, after)
