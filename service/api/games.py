"""Game routes: create and read games, and the leaderboard across them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query

from .. import games
from ..execution.service import new_id
from .access import PlayerDep, visible
from .deps import StateDep
from .schemas import GameRequest

router = APIRouter(tags=["games"])


@router.post("/api/games", status_code=201)
async def create_game(body: GameRequest, state: StateDep, player: PlayerDep) -> dict[str, Any]:
    """A game of ``rounds`` rounds; play them with ``POST /api/rounds {"game_id": ...}``
    (pipeline, mode, categories and difficulty default to the game's)."""
    unknown = [c for c in body.categories or [] if not state.questions.has_category(c)]
    if unknown:
        names = ", ".join(c.name for c in state.questions.categories())
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["body", "categories"],
                    "type": "value_error",
                    "msg": f"unknown categories {unknown}; known: {names}",
                }
            ],
        )
    if body.model is not None and body.model not in state.models:
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["body", "model"],
                    "type": "value_error",
                    "msg": f"unknown model {body.model!r}; GET /api/models lists them",
                }
            ],
        )
    settings = {
        "categories": body.categories,
        "difficulty": body.difficulty,
        "rounds": body.rounds,
        "model": body.model,
    }
    row = await state.games.create_game(
        new_id("game"),
        name=body.name,
        pipeline=body.pipeline,
        mode=body.mode,
        settings=settings,
        owner=player,
    )
    return games.game_out(row, [], with_rounds=True)


@router.get("/api/games")
async def list_games(
    state: StateDep,
    player: PlayerDep,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=1_000_000_000),
) -> dict[str, Any]:
    """Games, newest first, each with its score (a player's own, when the API has tokens)."""
    rows, total = await state.games.list_games(limit=limit, offset=offset, owner=player)
    rounds = await state.games.all_rounds_of_games([row.id for row in rows])
    return {
        "items": [games.game_out(row, rounds[row.id], with_rounds=False) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/api/games/{game_id}")
async def get_game(game_id: str, state: StateDep, player: PlayerDep) -> dict[str, Any]:
    """The game, its score and its rounds (with links to their traces)."""
    row = await state.games.get_game(game_id)
    if row is None or not visible(row.owner, player):
        raise HTTPException(404, detail=f"no game with id {game_id!r}")
    return games.game_out(row, await state.games.rounds_of(game_id), with_rounds=True)


@router.get("/api/leaderboard")
async def leaderboard(state: StateDep) -> dict[str, Any]:
    """Accuracy across all finished rounds, per mode, pipeline and model."""
    return {"entries": games.leaderboard(await state.games.finished_rounds())}
