"""Traces and spans in the database, written by the tracing processor and read by the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from .db import Database
from .tables import SpanRow, TraceRow


class TraceStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def write_batch(
        self,
        traces: list[dict[str, Any]],
        trace_ends: list[tuple[str, datetime]],
        spans: list[dict[str, Any]],
    ) -> None:
        """One transaction for a batch from the processor's queue (upserts, so a retried batch
        is harmless)."""
        with self.db.transaction() as session:
            for trace in traces:
                row = session.get(TraceRow, trace["id"])
                if row is None:
                    session.add(TraceRow(**trace))
            session.flush()
            for trace_id, ended_at in trace_ends:
                row = session.get(TraceRow, trace_id)
                if row is not None:
                    row.ended_at = ended_at
            for span in spans:
                if session.get(SpanRow, span["id"]) is None:
                    session.add(SpanRow(**span))

    def get_trace(self, trace_id: str) -> TraceRow | None:
        with self.db.reading() as session:
            return session.get(TraceRow, trace_id)

    def spans(self, trace_id: str) -> list[SpanRow]:
        with self.db.reading() as session:
            rows = session.scalars(
                select(SpanRow).where(SpanRow.trace_id == trace_id).order_by(SpanRow.started_at)
            )
            return list(rows)
