"""Service-level routes: health and the question categories."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ..agent_specs import DIFFICULTIES
from .access import current_player
from .deps import StateDep
from .schemas import CategoryOut, HealthOut

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=HealthOut)
def healthz(state: StateDep) -> HealthOut:
    """Liveness, plus which model and server quirk profile the rounds use."""
    return HealthOut(
        status="ok",
        model=state.settings.model_name,
        model_server=state.model_server,
        profile=state.setup.profile,
        pipelines=sorted(state.runner.pipelines),
    )


@router.get(
    "/api/categories",
    response_model=list[CategoryOut],
    tags=["rounds"],
    dependencies=[Depends(current_player)],
)
def categories(state: StateDep) -> list[CategoryOut]:
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
