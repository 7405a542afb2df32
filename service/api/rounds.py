"""Round routes: start a round (an SSE stream), read it back, re-attach, answer, cancel.

The routes are thin: they validate, then ask :class:`~quizrelay.execution.service.RoundService`,
which works the same whichever process (or machine) plays the round.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse

from .. import games
from ..execution.following import StopRule
from ..rounds.planning import InvalidRoundRequest, RoundPlan
from ..sse import event_stream_response
from ..storage.rounds import AnswerRejected
from ..storage.tables import RoundRow
from ..vocabulary import FINISHED, round_links
from .access import PlayerDep, StartLimit, visible
from .deps import ServiceState, StateDep
from .schemas import AnswerRequest, CancelRequest, RoundError, RoundOut, RoundRequest

router = APIRouter(prefix="/api/rounds", tags=["rounds"])

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "AG-UI events as SSE"}
}


def unprocessable(field: str, message: str, *, where: str = "body") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    loc = [where, *field.split(".")]
    return HTTPException(422, detail=[{"loc": loc, "msg": message, "type": "value_error"}])


def not_found(round_id: str) -> HTTPException:
    return HTTPException(404, detail=f"no round with id {round_id!r}")


async def plan_round(
    state: ServiceState, request: dict[str, Any], player: str | None, *, where: str = "body"
) -> RoundPlan:
    """A request's round as a plan: a game's defaults filled in, the rest validated (a 422
    naming the field, a 404 for another player's game, a 409 for a game that is over)."""
    game_id = request.get("game_id")
    if game_id is not None:
        game = await state.games.get_game(game_id)
        if game is not None and not visible(game.owner, player):
            raise HTTPException(404, detail=f"no game with id {game_id!r}")
        if game is not None:
            played = await state.round_store.count_in_game(game_id)
            try:
                defaults = games.next_round_defaults(game, played)
            except games.GameClosed as exc:
                raise HTTPException(409, detail=str(exc)) from exc
            request["pipeline"] = request.get("pipeline") or defaults.pipeline
            request["mode"] = request.get("mode") or defaults.mode
            request["model"] = request.get("model") or defaults.model
            if request.get("question") is None:
                request["category"] = request.get("category") or defaults.category
            request["difficulty"] = request.get("difficulty") or defaults.difficulty
    if request.get("pipeline") is None:
        raise unprocessable(
            "pipeline", "Field required (or give the game_id of a game that sets it)", where=where
        )
    request["mode"] = request.get("mode") or "ai"
    try:
        return state.planner.plan(**request, owner=player)
    except InvalidRoundRequest as exc:
        raise unprocessable(exc.field, exc.message, where=where) from exc


def stream(
    state: ServiceState, round_id: str, after: int, *, stop: StopRule = "run", new: bool = False
) -> StreamingResponse:
    return event_stream_response(
        state.rounds.events(round_id, after, stop=stop, new=new),
        heartbeat=state.settings.sse_heartbeat,
    )


@router.post(
    "", response_class=StreamingResponse, responses=SSE_RESPONSE, dependencies=[StartLimit]
)
async def start_round(body: RoundRequest, state: StateDep, player: PlayerDep) -> StreamingResponse:
    """Play a round and stream it as Server-Sent Events (AG-UI events, each with an ``id:``)."""
    plan = await plan_round(state, body.model_dump(), player)
    started = await state.rounds.start(plan)
    return stream(state, started.id, 0, new=True)


async def visible_round(state: ServiceState, round_id: str, player: str | None) -> RoundRow:
    row = await state.rounds.get(round_id)
    if row is None or not visible(row.owner, player):
        raise not_found(round_id)
    return row


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
    """Answer a human round: streams the Judge's part as the round's second run. Any API
    process takes it, whichever worker asked the question."""
    await visible_round(state, round_id, player)
    try:
        after = await state.rounds.answer(round_id, body.answer)
    except KeyError:
        raise not_found(round_id) from None
    except AnswerRejected as exc:
        raise HTTPException(409, detail=exc.reason) from exc
    return stream(state, round_id, after)


@router.post("/{round_id}/cancel", response_model=RoundOut)
async def cancel_round(
    round_id: str, state: StateDep, player: PlayerDep, body: CancelRequest | None = None
) -> RoundOut:
    """End the round as ``cancelled``, wherever it runs (it stops at once if it is waiting to
    start or for its player). Cancelling a round that is over changes nothing."""
    row = await visible_round(state, round_id, player)
    reason = (body.reason if body and body.reason else None) or "Cancelled on request."
    if row.status not in FINISHED:
        row = await state.rounds.cancel(round_id, reason)
    return row_out(row)


@router.get("/{round_id}", response_model=RoundOut)
async def get_round(round_id: str, state: StateDep, player: PlayerDep) -> RoundOut:
    """The round as stored: while it is played, as its last checkpoint left it."""
    return row_out(await visible_round(state, round_id, player))


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
    """Re-attach to a round's events: missed ones first, then live ones until the round ends
    (or waits for its player). ``Last-Event-ID`` (a reconnecting ``EventSource``) wins over
    ``after``. Any API process serves any round's events."""
    if last_event_id is not None:
        if not last_event_id.strip().isdigit() or len(last_event_id.strip()) > 9:
            raise HTTPException(422, detail="Last-Event-ID must be the numeric id of an event")
        after = int(last_event_id)
    await visible_round(state, round_id, player)
    return stream(state, round_id, after, stop="pause")


def row_out(row: RoundRow) -> RoundOut:
    over = row.status in FINISHED
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
        attempt=row.attempt,
        created_at=row.created_at,
        finished_at=row.finished_at,
        links=round_links(row.id, row.trace_id, human=row.mode == "human"),
    )
