"""Traces and spans in the database: written by the store processor, read by the API and CLI."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database, insert_new
from .tables import SpanRow, TraceRow

Outcome = tuple[str, dict[str, Any] | None, str | None]
"""(trace id, error or None, failing role or None)."""


@dataclass(frozen=True)
class TraceFilter:
    pipeline: str | None = None
    game_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    owner: str | None = None


class TraceStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    # Writes (the trace processor's thread) --------------------------------------------------
    async def write_batch(
        self,
        traces: list[dict[str, Any]],
        trace_ends: list[tuple[str, datetime]],
        spans: list[dict[str, Any]],
        outcomes: Sequence[Outcome] = (),
    ) -> None:
        """One transaction for a batch from the processor's queue (the SDK reports each trace
        start and each span end once, so rows are inserted without looking them up first)."""
        async with self.db.transaction() as session:
            if traces:  # a resumed round opens its trace again, maybe elsewhere: keep the first
                await session.execute(insert_new(session, TraceRow), traces)
            for trace_id, ended_at in trace_ends:
                row = await session.get(TraceRow, trace_id)
                if row is not None:
                    row.ended_at = ended_at
            session.add_all(SpanRow(**span) for span in spans)
            await session.flush()
            for trace_id, error, role in outcomes:
                await self._apply_outcome(session, trace_id, error, role)

    @staticmethod
    async def _apply_outcome(
        session: AsyncSession, trace_id: str, error: dict[str, Any] | None, role: str | None
    ) -> None:
        row = await session.get(TraceRow, trace_id)
        if row is None:
            return
        row.status = "error" if error else "ok"
        row.error = error
        if error is None or role is None:
            return
        role_spans = (
            await session.scalars(
                select(SpanRow)
                .where(SpanRow.trace_id == trace_id, SpanRow.kind == "agent", SpanRow.name == role)
                .order_by(SpanRow.started_at.desc())
            )
        ).all()
        if role_spans and not any(span.error for span in role_spans):
            role_spans[0].error = {
                "message": error.get("message", ""),
                "data": {"code": error.get("code")},
            }

    async def prune(self, *, max_traces: int | None, max_age_days: float | None) -> int:
        """Remove the oldest traces (and only their spans) beyond the caps; returns how many."""
        removed = 0
        async with self.db.transaction() as session:
            doomed: set[str] = set()
            if max_age_days is not None:
                cutoff = datetime.now(UTC) - timedelta(days=max_age_days)
                doomed.update(
                    await session.scalars(select(TraceRow.id).where(TraceRow.started_at < cutoff))
                )
            if max_traces is not None:
                doomed.update(
                    await session.scalars(
                        select(TraceRow.id).order_by(TraceRow.started_at.desc()).offset(max_traces)
                    )
                )
            for chunk_start in range(0, len(doomed), 500):
                chunk = list(doomed)[chunk_start : chunk_start + 500]
                await session.execute(delete(SpanRow).where(SpanRow.trace_id.in_(chunk)))
                await session.execute(delete(TraceRow).where(TraceRow.id.in_(chunk)))
                removed += len(chunk)
        return removed

    # Reads ----------------------------------------------------------------------------------
    async def get_trace(self, trace_id: str) -> TraceRow | None:
        async with self.db.reading() as session:
            return await session.get(TraceRow, trace_id)

    async def spans(self, trace_id: str) -> list[SpanRow]:
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(SpanRow)
                .where(SpanRow.trace_id == trace_id)
                .order_by(SpanRow.started_at, SpanRow.id)
            )
            return list(rows)

    async def spans_of(self, trace_ids: list[str]) -> dict[str, list[SpanRow]]:
        result: dict[str, list[SpanRow]] = {trace_id: [] for trace_id in trace_ids}
        if not trace_ids:
            return result
        async with self.db.reading() as session:
            rows = await session.scalars(
                select(SpanRow)
                .where(SpanRow.trace_id.in_(trace_ids))
                .order_by(SpanRow.started_at, SpanRow.id)
            )
            for row in rows:
                result[row.trace_id].append(row)
        return result

    async def list_traces(
        self, where: TraceFilter, *, limit: int, offset: int
    ) -> tuple[list[TraceRow], int]:
        """Traces matching ``where``, newest first, and how many match in all."""
        conditions = []
        if where.pipeline:
            conditions.append(TraceRow.pipeline == where.pipeline)
        if where.game_id:
            conditions.append(TraceRow.group_id == where.game_id)
        if where.status:
            conditions.append(TraceRow.status == where.status)
        if where.since:
            conditions.append(TraceRow.started_at >= where.since)
        if where.until:
            conditions.append(TraceRow.started_at <= where.until)
        if where.owner is not None:
            conditions.append(TraceRow.owner == where.owner)
        async with self.db.reading() as session:
            count = select(func.count()).select_from(TraceRow).where(*conditions)
            total = await session.scalar(count) or 0
            rows = await session.scalars(
                select(TraceRow)
                .where(*conditions)
                .order_by(TraceRow.started_at.desc(), TraceRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(rows), int(total)
