"""Games, their rounds and scores, the leaderboard, and comparisons, in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from .db import Database
from .rounds import utcnow
from .tables import ComparisonRow, GameRow, RoundRow


class GameStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def create_game(
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
        with self.db.transaction() as session:
            session.add(row)
        return row

    def get_game(self, game_id: str) -> GameRow | None:
        with self.db.reading() as session:
            return session.get(GameRow, game_id)

    def rounds_of(self, game_id: str) -> list[RoundRow]:
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(RoundRow)
                    .where(RoundRow.game_id == game_id)
                    .order_by(RoundRow.created_at, RoundRow.id)
                )
            )

    def count_rounds(self, game_id: str) -> int:
        with self.db.reading() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(RoundRow).where(RoundRow.game_id == game_id)
                )
                or 0
            )

    def list_games(
        self, *, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[GameRow], int]:
        conditions = [GameRow.owner == owner] if owner is not None else []
        with self.db.reading() as session:
            total = int(
                session.scalar(select(func.count()).select_from(GameRow).where(*conditions)) or 0
            )
            rows = session.scalars(
                select(GameRow)
                .where(*conditions)
                .order_by(GameRow.created_at.desc(), GameRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(rows), total

    def all_rounds_of_games(self, game_ids: list[str]) -> dict[str, list[RoundRow]]:
        result: dict[str, list[RoundRow]] = {game_id: [] for game_id in game_ids}
        if not game_ids:
            return result
        with self.db.reading() as session:
            for row in session.scalars(
                select(RoundRow).where(RoundRow.game_id.in_(game_ids)).order_by(RoundRow.created_at)
            ):
                result[row.game_id].append(row)
        return result

    def finished_rounds(self) -> list[RoundRow]:
        """Every round with a verdict or a failure (the leaderboard's input)."""
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(RoundRow).where(RoundRow.status.in_(("completed", "failed")))
                )
            )

    # Comparisons ----------------------------------------------------------------------------
    def create_comparison(
        self, comparison_id: str, settings: dict[str, Any], owner: str | None = None
    ) -> None:
        with self.db.transaction() as session:
            session.add(
                ComparisonRow(
                    id=comparison_id,
                    status="running",
                    settings=settings,
                    owner=owner,
                    created_at=utcnow(),
                )
            )

    def finish_comparison(
        self,
        comparison_id: str,
        *,
        status: str,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        events: list[tuple[int, dict[str, Any]]],
    ) -> None:
        with self.db.transaction() as session:
            row = session.get(ComparisonRow, comparison_id)
            if row is None:
                raise KeyError(comparison_id)
            row.status, row.result, row.error, row.finished_at = status, result, error, utcnow()
            row.events = [data for _, data in events]

    def get_comparison(self, comparison_id: str) -> ComparisonRow | None:
        with self.db.reading() as session:
            return session.get(ComparisonRow, comparison_id)

    def list_comparisons(self, *, limit: int, owner: str | None = None) -> list[ComparisonRow]:
        conditions = [ComparisonRow.owner == owner] if owner is not None else []
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(ComparisonRow)
                    .where(*conditions)
                    .order_by(ComparisonRow.created_at.desc())
                    .limit(limit)
                )
            )

    def fail_unfinished_comparisons(self) -> int:
        with self.db.transaction() as session:
            rows = session.scalars(
                select(ComparisonRow).where(ComparisonRow.status == "running")
            ).all()
            for row in rows:
                row.status = "failed"
                row.error = {
                    "code": "interrupted",
                    "message": "The service stopped while this comparison was running.",
                }
                row.finished_at = utcnow()
            return len(rows)
