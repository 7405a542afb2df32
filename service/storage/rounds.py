"""Rounds, games and round events in the database (synchronous; async callers use a thread)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from .db import Database
from .tables import GameRow, RoundEventRow, RoundRow

INTERRUPTED = "interrupted"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NewRound:
    id: str
    game_id: str
    pipeline: str
    mode: str
    model: str
    category: str
    difficulty: str
    seed: int | None
    question_source: str
    trace_id: str
    owner: str | None = None


class RoundStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def create_round(self, new: NewRound) -> None:
        """Insert the round as ``running`` (and its game, if this is the game's first round)."""
        with self.db.transaction() as session:
            if session.get(GameRow, new.game_id) is None:
                session.add(
                    GameRow(
                        id=new.game_id,
                        pipeline=new.pipeline,
                        mode=new.mode,
                        owner=new.owner,
                        created_at=utcnow(),
                    )
                )
            session.add(
                RoundRow(
                    id=new.id,
                    game_id=new.game_id,
                    pipeline=new.pipeline,
                    mode=new.mode,
                    status="running",
                    model=new.model,
                    category=new.category,
                    difficulty=new.difficulty,
                    seed=new.seed,
                    question_source=new.question_source,
                    trace_id=new.trace_id,
                    owner=new.owner,
                    created_at=utcnow(),
                )
            )

    def finish_round(
        self, round_id: str, fields: dict[str, Any], events: list[tuple[int, dict[str, Any]]]
    ) -> None:
        """Store the outcome and every event of the round in one transaction: a round is never
        marked finished without its events, nor its events kept without the outcome."""
        with self.db.transaction() as session:
            row = session.get(RoundRow, round_id)
            if row is None:
                raise KeyError(round_id)
            for key, value in fields.items():
                setattr(row, key, value)
            session.add_all(
                RoundEventRow(round_id=round_id, seq=seq, data=data) for seq, data in events
            )

    def get_round(self, round_id: str) -> RoundRow | None:
        with self.db.reading() as session:
            return session.get(RoundRow, round_id)

    def events_after(self, round_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        with self.db.reading() as session:
            rows = session.scalars(
                select(RoundEventRow)
                .where(RoundEventRow.round_id == round_id, RoundEventRow.seq > after)
                .order_by(RoundEventRow.seq)
            )
            return [(row.seq, row.data) for row in rows]

    def mark_awaiting_answer(self, round_id: str, fields: dict[str, Any]) -> None:
        """A human round asked its question: store it as ``awaiting_answer`` with the question."""
        with self.db.transaction() as session:
            row = session.get(RoundRow, round_id)
            if row is not None:
                row.status = "awaiting_answer"
                for key, value in fields.items():
                    setattr(row, key, value)

    def fail_unfinished_rounds(self) -> int:
        """At start-up: rounds left ``running`` or ``awaiting_answer`` by a stopped process
        become ``failed`` (``interrupted``): no round claims to be in play when nothing plays it."""
        with self.db.transaction() as session:
            result = session.execute(
                update(RoundRow)
                .where(RoundRow.status.in_(("running", "awaiting_answer")))
                .values(
                    status="failed",
                    error_code=INTERRUPTED,
                    error_message="The service stopped while this round was running.",
                    finished_at=utcnow(),
                )
            )
            assert isinstance(result, CursorResult)  # an UPDATE's result has a row count
            return int(result.rowcount or 0)
