"""Service-level routes: health, readiness, metrics and the question categories."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Depends, Response

from ..agent_specs import DIFFICULTIES
from ..catalog import refine_profile
from .access import current_player
from .deps import ServiceState, StateDep
from .schemas import CategoryOut, HealthOut

router = APIRouter(tags=["service"])


async def _check(probe: object) -> str:
    try:
        async with asyncio.timeout(2.0):
            await probe  # type: ignore[misc]
    except Exception as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


async def dependencies(state: ServiceState) -> dict[str, str]:
    """Each backing server and whether it answers now."""
    checks = {"database": _check(state.database.ping())}
    if state.backends.kind == "redis":
        checks["redis"] = _check(state.backends.ping())
    results = await asyncio.gather(*checks.values())
    return dict(zip(checks, results, strict=True))


@router.get("/healthz", response_model=HealthOut)
async def healthz(state: StateDep) -> HealthOut:
    """Liveness (always 200 while the process runs), which model and quirk profile the rounds
    use, and whether each dependency answers."""
    worker = state.worker
    return HealthOut(
        status="ok",
        model=state.settings.model_name,
        model_server=state.model_server,
        profile=state.profile,
        pipelines=state.pipelines,
        mode=state.backends.kind,
        dependencies=await dependencies(state),
        worker=None
        if worker is None
        else {
            "id": worker.worker_id,
            "running": worker.running(),
            "draining": worker.draining,
        },
    )


@router.get("/readyz", responses={503: {"description": "a dependency is down"}})
async def readyz(state: StateDep, response: Response) -> dict[str, object]:
    """Ready when every dependency answers (503 otherwise): for a load balancer."""
    status = await dependencies(state)
    ready = all(value == "ok" for value in status.values())
    if not ready:
        response.status_code = 503
    return {"ready": ready, "dependencies": status}


@router.get("/metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics (of every process on this host in multi-process mode)."""
    with contextlib.suppress(Exception):  # the queue's server may be down; the rest still counts
        state.metrics.queue_depth.set(await state.backends.queue.depth())
    body, content_type = state.metrics.exposition()
    return Response(body, media_type=content_type)


@router.get("/api/models", tags=["rounds"], dependencies=[Depends(current_player)])
async def models(state: StateDep) -> dict[str, object]:
    """The named models a round, a game or a comparison arm may name (``model``); the first is
    the default. Keys are never shown: only whether the variable that holds one is set."""
    for name, model in list(state.models.items()):  # the profile the rounds will use
        state.models[name] = await refine_profile(model)
    return {
        "default": state.settings.model_name,
        "items": [model.public(state.settings) for model in state.models.values()],
    }


@router.get(
    "/api/categories",
    response_model=list[CategoryOut],
    tags=["rounds"],
    dependencies=[Depends(current_player)],
)
async def categories(state: StateDep) -> list[CategoryOut]:
    """What can be asked. `verified` categories have generated reference answers; `freeform`
    lets the Questioner write its own question (best with a capable model)."""
    return [
        CategoryOut(
            name=category.name,
            title=category.title,
            description=category.description,
            difficulties=list(category.difficulties or DIFFICULTIES),
            verified=category.verified,
        )
        for category in state.questions.categories()
    ]
