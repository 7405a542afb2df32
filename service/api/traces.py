"""Trace routes: list with filters, one trace as a span tree with roll-ups, two side by side."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query

from ..storage.traces import TraceFilter
from ..tracing.views import TraceView, build_view, compare_views, trace_summary
from .access import PlayerDep, visible
from .deps import ServiceState, StateDep

router = APIRouter(prefix="/api/traces", tags=["traces"])


async def load_view(state: ServiceState, trace_id: str, player: str | None = None) -> TraceView:
    row = await state.traces.get_trace(trace_id)
    if row is None or not visible(row.owner, player):
        raise HTTPException(
            404, detail=f"no trace with id {trace_id!r} (it may have been removed by retention)"
        )
    return build_view(row, await state.traces.spans(trace_id), state.config.prices)


@router.get("")
async def list_traces(
    state: StateDep,
    player: PlayerDep,
    pipeline: str | None = Query(default=None, max_length=32),
    game_id: str | None = Query(default=None, max_length=64),
    status: Literal["running", "ok", "error"] | None = None,
    since: datetime | None = Query(
        default=None, description="ISO 8601; traces started at or after"
    ),
    until: datetime | None = Query(
        default=None, description="ISO 8601; traces started at or before"
    ),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=1_000_000_000),
) -> dict[str, Any]:
    """Traces, newest first, each with its totals (duration, model calls, tokens, cost)."""
    where = TraceFilter(
        pipeline=pipeline, game_id=game_id, status=status, since=since, until=until, owner=player
    )
    rows, total = await state.traces.list_traces(where, limit=limit, offset=offset)
    spans = await state.traces.spans_of([row.id for row in rows])
    prices = state.config.prices
    items = []
    for row in rows:
        view = build_view(row, spans[row.id], prices)
        items.append(
            {**trace_summary(row), "span_count": len(view.spans), "totals": view.total.as_dict()}
        )
    next_offset = offset + limit if offset + limit < total else None
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }


@router.get("/compare")
async def compare_traces(
    state: StateDep,
    player: PlayerDep,
    a: str = Query(description="trace id of the left side (e.g. an agents round)"),
    b: str = Query(description="trace id of the right side (e.g. a chat round)"),
) -> dict[str, Any]:
    """Two traces aligned by role (Questioner, Answerer, Judge) with b − a differences."""
    left, right = await load_view(state, a, player), await load_view(state, b, player)
    result = compare_views(left, right)
    result["spans"] = {"a": left.as_dict()["spans"], "b": right.as_dict()["spans"]}
    return result


@router.get("/{trace_id}")
async def get_trace(
    trace_id: str,
    state: StateDep,
    player: PlayerDep,
    content: bool = Query(default=True, description="include span inputs/outputs"),
) -> dict[str, Any]:
    """The trace, its spans in tree order on one time axis (``start_ms``, ``duration_ms``,
    ``depth``), and tokens, calls and cost rolled up per role and in total."""
    return (await load_view(state, trace_id, player)).as_dict(include_data=content)
