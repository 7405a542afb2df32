"""Round routes: start a round (an SSE stream), read it back, re-attach to its events."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse

from .. import games
from ..rounds.player import AnswerRejected
from ..rounds.runner import InvalidRoundRequest, LiveRound
from ..sse import event_stream_response, replay
from ..storage.tables import RoundRow
from .access import PlayerDep, StartLimit, visible
from .deps import ServiceState, StateDep
from .schemas import AnswerRequest, RoundError, RoundOut, RoundRequest

router = APIRouter(prefix="/api/rounds", tags=["rounds"])

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "AG-UI events as SSE"}
}


def unprocessable(field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    return HTTPException(
        422, detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}]
    )


@router.post(
    "", response_class=StreamingResponse, responses=SSE_RESPONSE, dependencies=[StartLimit]
)
async def start_round(body: RoundRequest, state: StateDep, player: PlayerDep) -> StreamingResponse:
    """Play a round and stream it as Server-Sent Events (AG-UI events, each with an ``id:``)."""
    request = body.model_dump()
    if body.game_id is not None:
        game = await asyncio.to_thread(state.games.get_game, body.game_id)
        if game is not None and not visible(game.owner, player):
            raise HTTPException(404, detail=f"no game with id {body.game_id!r}")
        if game is not None:
            played = await asyncio.to_thread(state.games.count_rounds, body.game_id)
            try:
                defaults = games.next_round_defaults(game, played)
            except games.GameClosed as exc:
                raise HTTPException(409, detail=str(exc)) from exc
            request["pipeline"] = request["pipeline"] or defaults.pipeline
            request["mode"] = request["mode"] or defaults.mode
            if request["question"] is None:
                request["category"] = request["category"] or defaults.category
            request["difficulty"] = request["difficulty"] or defaults.difficulty
    if request["pipeline"] is None:
        raise unprocessable(
            "pipeline", "Field required (or give the game_id of a game that sets it)"
        )
    request["mode"] = request["mode"] or "ai"
    try:
        plan = state.runner.plan(**request, owner=player)
    except InvalidRoundRequest as exc:
        raise unprocessable(exc.field, exc.message) from exc
    live = await state.runner.start(plan)
    return _stream(state, live, 0)


@router.post(
    "/{round_id}/answer",
    response_class=StreamingResponse,
    responses={
        **SSE_RESPONSE,
        404: {"description": "no such round"},
        409: {"description": "the round takes no answer now"},
    },
)
async def answer_round(
    round_id: str, body: AnswerRequest, state: StateDep, player: PlayerDep
) -> StreamingResponse:
    """Answer a human round: streams the Judge's part as the round's second run."""
    await _check_visible(state, round_id, player)
    try:
        if round_id in state.runner.live:  # on the event loop: it wakes the waiting round
            live, after = state.runner.submit_answer(round_id, body.answer)
        else:  # finished or unknown: only the database can say which
            live, after = await asyncio.to_thread(state.runner.submit_answer, round_id, body.answer)
    except KeyError:
        raise _not_found(round_id) from None
    except AnswerRejected as exc:
        raise HTTPException(409, detail=exc.reason) from exc
    return _stream(state, live, after)


def _stream(
    state: ServiceState, live: LiveRound, after: int, *, until_run_end: bool = True
) -> StreamingResponse:
    """A round's events as SSE; while the client listens the round counts it (see
    ``RoundRunner.watch`` for what happens when the last one leaves)."""
    records = state.runner.watch(
        live, live.log.subscribe(after, until_run_end=until_run_end, until_paused=not until_run_end)
    )
    return event_stream_response(records, heartbeat=state.settings.sse_heartbeat)


async def _check_visible(state: ServiceState, round_id: str, player: str | None) -> None:
    if player is None:
        return
    live = state.runner.live.get(round_id)
    owner = (
        live.owner
        if live is not None
        else getattr(await asyncio.to_thread(state.rounds.get_round, round_id), "owner", None)
    )
    if owner != player:
        raise _not_found(round_id)


def _not_found(round_id: str) -> HTTPException:
    return HTTPException(404, detail=f"no round with id {round_id!r}")


@router.get("/{round_id}", response_model=RoundOut)
def get_round(round_id: str, state: StateDep, player: PlayerDep) -> RoundOut:
    """The round as stored, or as it stands now if it is still being played."""
    live = state.runner.live.get(round_id)
    row = state.rounds.get_round(round_id)
    if row is None or not visible(row.owner, player):
        raise _not_found(round_id)
    if live is not None:
        return _live_round_out(row, live)
    return _row_out(row)


@router.get("/{round_id}/events", response_class=StreamingResponse, responses=SSE_RESPONSE)
async def round_events(
    round_id: str,
    state: StateDep,
    player: PlayerDep,
    after: int = Query(
        default=0, ge=0, le=1_000_000_000, description="Send events with an id above this one."
    ),
    last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
) -> StreamingResponse:
    """Re-attach to a round's events: missed ones first, then live ones until the round ends.

    ``Last-Event-ID`` (sent by a reconnecting ``EventSource``) wins over ``after``."""
    if last_event_id is not None:
        if not last_event_id.strip().isdigit() or len(last_event_id.strip()) > 9:
            raise HTTPException(422, detail="Last-Event-ID must be the numeric id of an event")
        after = int(last_event_id)
    live = state.runner.live.get(round_id)
    if live is not None:
        if not visible(live.owner, player):
            raise _not_found(round_id)
        return _stream(state, live, after, until_run_end=False)
    row = await asyncio.to_thread(state.rounds.get_round, round_id)
    if row is None or not visible(row.owner, player):
        raise _not_found(round_id)
    records = await asyncio.to_thread(state.rounds.events_after, round_id, after)
    return event_stream_response(replay(records), heartbeat=state.settings.sse_heartbeat)


def _links(round_id: str, trace_id: str) -> dict[str, str]:
    return {
        "self": f"/api/rounds/{round_id}",
        "events": f"/api/rounds/{round_id}/events",
        "trace": f"/api/traces/{trace_id}",
        "trace_page": f"/traces/{trace_id}",
    }


def _row_out(row: RoundRow) -> RoundOut:
    over = row.status in ("completed", "failed")
    error = (
        RoundError(code=row.error_code, message=row.error_message or "") if row.error_code else None
    )
    return RoundOut(
        id=row.id,
        game_id=row.game_id,
        pipeline=row.pipeline,
        mode=row.mode,
        status=row.status,
        model=row.model,
        category=row.category,
        difficulty=row.difficulty,
        seed=row.seed,
        question=row.question,
        reference_answer=row.reference_answer if over else None,
        answer=row.answer,
        answered_by=row.answered_by,
        verdict=row.verdict,
        trace_id=row.trace_id,
        error=error,
        time_to_first_token_ms=row.time_to_first_token_ms,
        total_ms=row.total_ms,
        usage=row.usage,
        created_at=row.created_at,
        finished_at=row.finished_at,
        links=_links(row.id, row.trace_id),
    )


def _live_round_out(row: RoundRow, live: LiveRound) -> RoundOut:
    ctx = live.ctx
    out = _row_out(row)
    timings = ctx.timings.as_dict()
    failure = live.failure
    over = live.status in ("completed", "failed")
    return out.model_copy(
        update={
            "status": live.status,
            "reference_answer": ctx.question.reference_answer if over and ctx.question else None,
            "verdict": ctx.verdict.model_dump() if ctx.verdict else None,
            "error": RoundError(code=failure.code, message=failure.message) if failure else None,
            "question": ctx.question.text if ctx.question else None,
            "category": ctx.question.category if ctx.question else ctx.category,
            "answer": ctx.answer,
            "answered_by": ctx.answered_by if ctx.answer is not None else None,
            "time_to_first_token_ms": timings["time_to_first_token_ms"],
            "usage": ctx.usage.as_dict(),
        }
    )
