"""Games, their rounds and scores, and the leaderboard's input, in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .db import Database
from .tables import GameRow, RoundRow, utcnow


class GameStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    async def create_game(
        self,
        game_id: str,
        *,
        name: str | None,
        pipeline: str,
        mode: str,
        settings: dict[str, Any],
        owner: str | None = None,
    ) -> GameRow:
        row = GameRow(
            id=game_id,
            name=name,
            pipeline=pipeline,
            mode=mode,
            settings=settings,
            owner=owner,
            created_at=utcnow(),
        )
        async with self.db.transaction() as session:
            session.add(row)
        return row

    async def get_game(self, game_id: str) -> GameRow | None:
        async with self.db.reading() as session:
            return await session.get(GameRow, game_id)

    async def rounds_of(self, game_id: str) -> list[RoundRow]:
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(RoundRow)
                .where(RoundRow.game_id == game_id)
                .order_by(RoundRow.created_at, RoundRow.id)
            )
            return list(rows)

    async def list_games(
        self, *, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[GameRow], int]:
        conditions = [GameRow.owner == owner] if owner is not None else []
        async with self.db.reading() as session:
            total = await session.scalar(
                select(func.count()).select_from(GameRow).where(*conditions)
            )
            rows = await session.scalars(
                select(GameRow)
                .where(*conditions)
                .order_by(GameRow.created_at.desc(), GameRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(rows), int(total or 0)

    async def all_rounds_of_games(self, game_ids: list[str]) -> dict[str, list[RoundRow]]:
        result: dict[str, list[RoundRow]] = {game_id: [] for game_id in game_ids}
        if not game_ids:
            return result
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(RoundRow).where(RoundRow.game_id.in_(game_ids)).order_by(RoundRow.created_at)
            )
            for row in rows:
                result[row.game_id].append(row)
        return result

    async def finished_rounds(self) -> list[RoundRow]:
        """Every round with a verdict or a failure (the leaderboard's input)."""
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(RoundRow).where(RoundRow.status.in_(("completed", "failed")))
            )
            return list(rows)
