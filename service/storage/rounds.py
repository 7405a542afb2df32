"""Rounds in the database: created by the API, claimed and written by workers, read by anyone.

The writes a worker makes while it owns a round go through its claim (``execution/claims.py``
and ``execution/progress.py``); the ones here are the API's: a new round, a player's answer and
a cancel request — each a single compare-and-set, so two API processes can never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..vocabulary import CANCELLED, FINISHED
from .db import Database, insert_new
from .tables import GameRow, RoundRow, utcnow


class AnswerRejected(Exception):
    """An answer the round cannot take; ``reason`` says why (the API answers 409)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DuplicateRound(Exception):
    """A round with this id exists already (an AG-UI client reused a ``runId``)."""


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
    question: str | None = None
    reference_answer: str | None = None
    comparison_id: str | None = None
    model_settings: dict[str, Any] | None = None


class RoundStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    async def create_round(self, new: NewRound) -> None:
        """Insert the round as ``queued`` (and its game, if this is the game's first round)."""
        now = utcnow()
        try:
            async with self.db.transaction() as session:
                # The game, if this is its first round (no read first: one round trip fewer on
                # the path to the round's first token; an existing game is left as it is).
                await session.execute(
                    insert_new(session, GameRow).values(
                        id=new.game_id,
                        pipeline=new.pipeline,
                        mode=new.mode,
                        owner=new.owner,
                        settings={},
                        created_at=now,
                    )
                )
                session.add(
                    RoundRow(
                        id=new.id,
                        game_id=new.game_id,
                        pipeline=new.pipeline,
                        mode=new.mode,
                        status="queued",
                        model=new.model,
                        category=new.category,
                        difficulty=new.difficulty,
                        seed=new.seed,
                        question_source=new.question_source,
                        trace_id=new.trace_id,
                        owner=new.owner,
                        question=new.question,
                        reference_answer=new.reference_answer,
                        comparison_id=new.comparison_id,
                        model_settings=new.model_settings,
                        created_at=now,
                        queued_at=now,
                        attempt=0,
                        fencing_token=0,
                        events_stored=0,
                    )
                )
        except IntegrityError as exc:
            if await self.get(new.id) is not None:
                raise DuplicateRound(new.id) from exc
            raise

    async def get(self, round_id: str) -> RoundRow | None:
        async with self.db.reading() as session:
            return await session.get(RoundRow, round_id)

    async def exists(self, round_id: str) -> bool:
        async with self.db.reading() as session:
            found = await session.scalar(select(RoundRow.id).where(RoundRow.id == round_id))
        return found is not None

    async def progress(self, round_id: str) -> tuple[bool, int]:
        """(finished, events stored) — what a quiet reader checks."""
        async with self.db.reading() as session:
            row = (
                await session.execute(
                    select(RoundRow.status, RoundRow.events_stored).where(RoundRow.id == round_id)
                )
            ).first()
        if row is None:
            return True, 0
        return row[0] in FINISHED, int(row[1] or 0)

    async def waiting_in_game(self, game_id: str) -> RoundRow | None:
        """The game's round that waits for its player, if one does."""
        async with self.db.reading() as session:
            return await session.scalar(
                select(RoundRow)
                .where(RoundRow.game_id == game_id, RoundRow.status == "awaiting_answer")
                .order_by(RoundRow.created_at.desc())
                .limit(1)
            )

    async def submit_answer(
        self, round_id: str, answer: str, *, run_id: str | None = None
    ) -> tuple[int, int]:
        """Hand a waiting human round its answer and queue it again; returns (the id of the
        last event before the answer's run, the round's attempt count). Raises KeyError or
        :class:`AnswerRejected` with the reason."""
        async with self.db.transaction() as session:
            row = (
                await session.execute(
                    update(RoundRow)
                    .where(
                        RoundRow.id == round_id,
                        RoundRow.status == "awaiting_answer",
                        RoundRow.mode == "human",
                        RoundRow.answer.is_(None),
                    )
                    .values(
                        answer=answer,
                        answered_by="player",
                        status="queued",
                        queued_at=utcnow(),
                        answer_run_id=run_id,
                    )
                    .returning(RoundRow.events_stored, RoundRow.attempt)
                )
            ).first()
        if row is not None:
            return int(row[0]), int(row[1])
        current = await self.get(round_id)
        if current is None:
            raise KeyError(round_id)
        if current.mode != "human":
            raise AnswerRejected("this round is not a human round; its Answerer is a model")
        if current.status in FINISHED:
            raise AnswerRejected(f"this round is {current.status}; it takes no more answers")
        if current.answer is not None:
            raise AnswerRejected("this round has already been answered")
        raise AnswerRejected("the question has not been asked yet; wait for RUN_FINISHED")

    async def request_cancel(
        self, round_id: str, reason: str, *, run_id: str | None = None
    ) -> tuple[RoundRow, bool]:
        """Record a cancel request; returns the round and whether a worker must be woken (the
        round is queued or waits for its player, so no worker holds it). KeyError if unknown."""
        request = f"{CANCELLED}: {reason}"
        async with self.db.transaction() as session:
            row = await session.get(RoundRow, round_id, with_for_update=True)
            if row is None:
                raise KeyError(round_id)
            if row.status in FINISHED or row.cancel_requested:
                return row, False
            row.cancel_requested = request
            wake = row.status in ("queued", "awaiting_answer")
            if row.status == "awaiting_answer":
                row.status, row.queued_at, row.answer_run_id = "queued", utcnow(), run_id
        return row, wake

    async def count_in_game(self, game_id: str) -> int:
        async with self.db.reading() as session:
            total = await session.scalar(
                select(func.count()).select_from(RoundRow).where(RoundRow.game_id == game_id)
            )
        return int(total or 0)
