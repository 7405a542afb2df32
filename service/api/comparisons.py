"""Comparison routes: run the same questions through several arms and read the result."""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response, StreamingResponse

from ..agent_specs import MODEL_SETTING_KEYS
from ..comparisons.exports import as_csv, as_json
from ..comparisons.record import diff_records, run_record
from ..comparisons.report_html import render_report, role_means
from ..comparisons.service import Arm, default_arms
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
    arms = _arms(state, body)
    names = [arm.name for arm in arms]
    baseline = body.baseline or names[0]
    if baseline not in names:
        raise unprocessable("baseline", f"unknown arm {baseline!r}; the arms are {names}")
    comparison_id = await state.comparisons.start(
        rounds=body.rounds,
        arms=arms,
        baseline=baseline,
        categories=body.categories,
        difficulty=body.difficulty,
        seed=body.seed,
        owner=player,
        record=run_record([arm.as_dict() for arm in arms], state.models, state.config),
    )
    return event_stream_response(
        state.comparisons.events(comparison_id, 0), heartbeat=state.settings.sse_heartbeat
    )


DEFAULT_PIPELINES = ("agents", "chat")
"""A comparison without arms: these pipelines on the configured model."""


def _arms(state: ServiceState, body: ComparisonRequest) -> list[Arm]:
    """The request's arms, checked (a 422 naming the arm and field), with names filled in."""
    if body.arms is None:
        return default_arms(list(DEFAULT_PIPELINES), state.settings.model_name)
    several_models = len({arm.model or state.settings.model_name for arm in body.arms}) > 1
    arms = []
    for index, arm in enumerate(body.arms):
        model = arm.model or state.settings.model_name
        if model not in state.models:
            raise unprocessable(
                f"arms.{index}.model", f"unknown model {model!r}; GET /api/models lists them"
            )
        unknown = sorted(set(arm.model_settings or {}) - MODEL_SETTING_KEYS)
        if unknown:
            raise unprocessable(f"arms.{index}.model_settings", f"unknown model settings {unknown}")
        name = arm.name or (
            f"{arm.pipeline}.{re.sub(r'[^A-Za-z0-9_.-]', '-', model)}"
            if several_models
            else arm.pipeline
        )
        arms.append(Arm(arm.pipeline, model, name, dict(arm.model_settings or {})))
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        raise unprocessable("arms", f"arms need distinct names (give each a name): {names}")
    return arms


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


@router.get("/diff")
async def diff_comparisons(
    state: StateDep,
    player: PlayerDep,
    a: str = Query(max_length=64),
    b: str = Query(max_length=64),
) -> dict[str, Any]:
    """What differs between what two comparisons ran (arms, models, settings, prompts hash,
    versions, questions): why their numbers may differ."""
    left, right = await _visible(state, a, player), await _visible(state, b, player)

    def ran(row: ComparisonRow) -> dict[str, Any]:
        settings = dict(row.settings)
        return {
            "record": settings.pop("record", None),
            "questions": {
                k: settings.get(k) for k in ("rounds", "seed", "categories", "difficulty")
            },
            "baseline": settings.get("baseline"),
        }

    changes = diff_records(ran(left), ran(right))
    return {"a": a, "b": b, "same": not changes, "differences": changes}


@router.post("/{comparison_id}/rerun", response_class=StreamingResponse, responses=SSE_RESPONSE,
             dependencies=[StartLimit])  # fmt: skip
async def rerun_comparison(
    comparison_id: str, state: StateDep, player: PlayerDep
) -> StreamingResponse:
    """Play the same questions (same seed, categories, difficulty) through the same arms again,
    as a new comparison; streams like ``POST /api/comparisons``."""
    row = await _visible(state, comparison_id, player)
    settings = row.settings
    arms = [Arm(a["pipeline"], a["model"], a["name"], a.get("model_settings") or {})
            for a in settings["arms"]]  # fmt: skip
    missing = sorted({arm.model for arm in arms} - set(state.models))
    if missing:
        raise HTTPException(409, detail=f"the models {missing} are no longer configured")
    new_id = await state.comparisons.start(
        rounds=settings["rounds"], arms=arms, baseline=settings.get("baseline") or arms[0].name,
        categories=settings["categories"], difficulty=settings["difficulty"],
        seed=settings["seed"], owner=player, rerun_of=comparison_id,
        record=run_record([arm.as_dict() for arm in arms], state.models, state.config),
    )  # fmt: skip
    return event_stream_response(
        state.comparisons.events(new_id, 0), heartbeat=state.settings.sse_heartbeat
    )


@router.get(
    "/{comparison_id}/export", responses={200: {"content": {"text/csv": {}, "text/html": {}}}}
)
async def export_comparison(
    comparison_id: str,
    state: StateDep,
    player: PlayerDep,
    format: Literal["json", "csv", "html"] = Query(default="json"),
) -> Response:
    """The finished comparison as a file: ``json`` (everything), ``csv`` (one row per round) or
    ``html`` (a self-contained report: the page's charts and tables and the per-role numbers
    of the rounds' traces, no server needed)."""
    row = await _visible(state, comparison_id, player)
    if row.result is None:
        raise HTTPException(
            409, detail=f"comparison {comparison_id} has no result yet ({row.status})"
        )
    filename = f"quizrelay-{comparison_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return Response(as_csv(row.result), media_type="text/csv", headers=headers)
    if format == "html":
        roles = await role_means(row.result, state.traces, state.config.prices)
        html = render_report(row.result, roles=roles)
        return Response(html, media_type="text/html", headers=headers)
    return Response(as_json(row.result), media_type="application/json", headers=headers)


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
