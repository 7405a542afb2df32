"""Comparison routes: run the same questions through both pipelines and read the result."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse

from ..comparisons import ComparisonRequestData
from ..sse import event_stream_response, replay
from .access import PlayerDep, StartLimit, visible
from .deps import StateDep
from .rounds import SSE_RESPONSE, unprocessable
from .schemas import ComparisonRequest

router = APIRouter(prefix="/api/comparisons", tags=["comparisons"])


@router.post(
    "", response_class=StreamingResponse, responses=SSE_RESPONSE, dependencies=[StartLimit]
)
async def start_comparison(
    body: ComparisonRequest, state: StateDep, player: PlayerDep
) -> StreamingResponse:
    """Play ``rounds`` questions through both pipelines, interleaved; streams progress
    (``CUSTOM comparison_progress`` per round, ``comparison_summary`` at the end)."""
    unknown = [c for c in body.categories or [] if not state.questions.has_category(c)]
    if unknown:
        raise unprocessable(
            "categories", f"unknown categories {unknown}; GET /api/categories lists them"
        )
    live = await state.comparisons.start(ComparisonRequestData(**body.model_dump(), owner=player))
    return event_stream_response(live.log.subscribe(0), heartbeat=state.settings.sse_heartbeat)


def _out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "settings": row.settings,
        "result": row.result,
        "error": row.error,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "links": {
            "self": f"/api/comparisons/{row.id}",
            "events": f"/api/comparisons/{row.id}/events",
        },
    }


@router.get("")
def list_comparisons(
    state: StateDep, player: PlayerDep, limit: int = Query(default=20, ge=1, le=100)
) -> dict[str, Any]:
    return {
        "items": [
            _out(row) | {"result": None}
            for row in state.games.list_comparisons(limit=limit, owner=player)
        ]
    }


@router.get("/{comparison_id}")
def get_comparison(comparison_id: str, state: StateDep, player: PlayerDep) -> dict[str, Any]:
    """The comparison: settings, status and, once finished, per-pipeline statistics and the
    per-question pairs of rounds with links to both traces."""
    row = state.games.get_comparison(comparison_id)
    if row is None or not visible(row.owner, player):
        raise HTTPException(404, detail=f"no comparison with id {comparison_id!r}")
    return _out(row)


@router.get("/{comparison_id}/events", response_class=StreamingResponse, responses=SSE_RESPONSE)
async def comparison_events(
    comparison_id: str,
    state: StateDep,
    player: PlayerDep,
    after: int = Query(default=0, ge=0, le=1_000_000_000),
) -> StreamingResponse:
    live = state.comparisons.live.get(comparison_id)
    if live is not None and not visible(live.owner, player):
        raise HTTPException(404, detail=f"no comparison with id {comparison_id!r}")
    if live is not None:
        return event_stream_response(live.log.subscribe(after))
    row = await asyncio.to_thread(state.games.get_comparison, comparison_id)
    if row is None or not visible(row.owner, player):
        raise HTTPException(404, detail=f"no comparison with id {comparison_id!r}")
    return event_stream_response(
        replay([(i, data) for i, data in enumerate(row.events or [], start=1) if i > after])
    )
