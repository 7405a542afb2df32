"""Comparisons in the database: created by the API, claimed and run by a worker like rounds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..vocabulary import CANCELLED, FINISHED
from .db import Database
from .tables import ComparisonRow, RoundRow, utcnow


class ComparisonStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    async def create(self, comparison_id: str, settings: dict[str, Any], owner: str | None) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            session.add(
                ComparisonRow(
                    id=comparison_id,
                    status="queued",
                    settings=settings,
                    owner=owner,
                    created_at=now,
                    queued_at=now,
                    attempt=0,
                    fencing_token=0,
                    events_stored=0,
                )
            )

    async def get(self, comparison_id: str) -> ComparisonRow | None:
        async with self.db.reading() as session:
            return await session.get(ComparisonRow, comparison_id)

    async def recent(self, *, limit: int, owner: str | None = None) -> list[ComparisonRow]:
        conditions = [ComparisonRow.owner == owner] if owner is not None else []
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(ComparisonRow)
                .where(*conditions)
                .order_by(ComparisonRow.created_at.desc())
                .limit(limit)
            )
            return list(rows)

    async def rounds(self, comparison_id: str) -> list[RoundRow]:
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(RoundRow)
                .where(RoundRow.comparison_id == comparison_id)
                .order_by(RoundRow.created_at, RoundRow.id)
            )
            return list(rows)

    async def progress(self, comparison_id: str) -> tuple[bool, int]:
        row = await self.get(comparison_id)
        if row is None:
            return True, 0
        return row.status in FINISHED, int(row.events_stored or 0)

    async def request_cancel(self, comparison_id: str, reason: str) -> tuple[ComparisonRow, bool]:
        async with self.db.transaction() as session:
            row = await session.get(ComparisonRow, comparison_id, with_for_update=True)
            if row is None:
                raise KeyError(comparison_id)
            if row.status in FINISHED or row.cancel_requested:
                return row, False
            row.cancel_requested = f"{CANCELLED}: {reason}"
            return row, row.status == "queued"
