"""Comparison routes: run the same questions through several arms and read the result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse

from ..comparisons.service import default_arms
from ..sse import event_stream_response
from ..storage.tables import ComparisonRow
from ..vocabulary import FINISHED, comparison_links
from .access import PlayerDep, StartLimit, visible
from .deps import ServiceState, StateDep
from .rounds import SSE_RESPONSE, unprocessable
from .schemas import ComparisonRequest

router = APIRouter(prefix="/api/comparisons", tags=["comparisons"])


@router.post(
    "", response_class=StreamingResponse, responses=SSE_RESPONSE, dependencies=[StartLimit]
)
async def start_comparison(
    body: ComparisonRequest, state: StateDep, player: PlayerDep
) -> StreamingResponse:
    """Play ``rounds`` questions through every arm, interleaved; streams progress
    (``CUSTOM comparison_progress`` per round, ``comparison_summary`` at the end)."""
    unknown = [c for c in body.categories or [] if not state.questions.has_category(c)]
    if unknown:
        raise unprocessable(
            "categories", f"unknown categories {unknown}; GET /api/categories lists them"
        )
    arms = default_arms(state.pipelines, state.settings.model_name)
    comparison_id = await state.comparisons.start(
        rounds=body.rounds,
        arms=arms,
        categories=body.categories,
        difficulty=body.difficulty,
        seed=body.seed,
        owner=player,
    )
    return event_stream_response(
        state.comparisons.events(comparison_id, 0), heartbeat=state.settings.sse_heartbeat
    )


def _out(row: ComparisonRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "settings": row.settings,
        "result": row.result,
        "error": row.error,
        "attempt": row.attempt,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "links": comparison_links(row.id),
    }


async def _visible(state: ServiceState, comparison_id: str, player: str | None) -> ComparisonRow:
    row = await state.comparisons.get(comparison_id)
    if row is None or not visible(row.owner, player):
        raise HTTPException(404, detail=f"no comparison with id {comparison_id!r}")
    return row


@router.get("")
async def list_comparisons(
    state: StateDep, player: PlayerDep, limit: int = Query(default=20, ge=1, le=100)
) -> dict[str, Any]:
    rows = await state.comparisons.store.recent(limit=limit, owner=player)
    return {"items": [_out(row) | {"result": None} for row in rows]}


@router.get("/{comparison_id}")
async def get_comparison(comparison_id: str, state: StateDep, player: PlayerDep) -> dict[str, Any]:
    """The comparison: settings, status and, once finished, per-arm statistics and the
    per-question rounds with links to their traces."""
    return _out(await _visible(state, comparison_id, player))


@router.post("/{comparison_id}/cancel")
async def cancel_comparison(
    comparison_id: str, state: StateDep, player: PlayerDep
) -> dict[str, Any]:
    """End the comparison as ``cancelled`` (the round it is playing is cancelled too)."""
    row = await _visible(state, comparison_id, player)
    if row.status not in FINISHED:
        row = await state.comparisons.cancel(comparison_id, "Cancelled on request.")
    return _out(row)


@router.get("/{comparison_id}/events", response_class=StreamingResponse, responses=SSE_RESPONSE)
async def comparison_events(
    comparison_id: str,
    state: StateDep,
    player: PlayerDep,
    after: int = Query(default=0, ge=0, le=1_000_000_000),
) -> StreamingResponse:
    await _visible(state, comparison_id, player)
    return event_stream_response(
        state.comparisons.events(comparison_id, after), heartbeat=state.settings.sse_heartbeat
    )
