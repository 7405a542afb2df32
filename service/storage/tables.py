"""The database tables (SQLAlchemy 2 ORM), on SQLite or PostgreSQL.

The schema is made and changed by Alembic migrations (``migrations/versions/``); a test checks
that these classes and the migrations describe the same tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ClaimColumns:
    """Who runs the row now (rounds and comparisons alike); see ``execution/claims.py``."""

    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many times it was claimed (1 = its first run)."""
    fencing_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Grows with every claim; the owner's writes must carry the current one."""
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """What a resumed attempt starts from."""
    cancel_requested: Mapped[str | None] = mapped_column(Text)
    """``<code>: <message>`` once someone asked for it to end (kept for a late claimer)."""
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    events_stored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many of its stream's events are in ``stream_events``."""


class GameRow(Base):
    """A game groups rounds; its id is the AG-UI thread id and the trace group id."""

    __tablename__ = "games"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    pipeline: Mapped[str | None] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="ai")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner: Mapped[str | None] = mapped_column(String(64))
    """The player (API token name) it belongs to; None when the API is open."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoundRow(ClaimColumns, Base):
    __tablename__ = "rounds"
    __table_args__ = (
        Index("ix_rounds_game", "game_id"),
        Index("ix_rounds_created", "created_at"),
        Index("ix_rounds_status_lease", "status", "lease_expires_at"),
        Index("ix_rounds_comparison", "comparison_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    game_id: Mapped[str] = mapped_column(ForeignKey("games.id"))
    pipeline: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16), default="ai")
    owner: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    model: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    difficulty: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int | None] = mapped_column(Integer)
    question_source: Mapped[str] = mapped_column(String(16))
    question: Mapped[str | None] = mapped_column(Text)
    reference_answer: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    trace_id: Mapped[str] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    time_to_first_token_ms: Mapped[float | None] = mapped_column(Float)
    total_ms: Mapped[float | None] = mapped_column(Float)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A human round waiting for its player: when the wait ends (``answer_timeout``)."""
    answer_run_id: Mapped[str | None] = mapped_column(String(64))
    """The AG-UI run id the player's answer asked for (its second run's ``runId``)."""
    comparison_id: Mapped[str | None] = mapped_column(String(64))
    model_settings: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """Settings that replace the roles' own for this round (a comparison arm's)."""


class StreamEventRow(Base):
    """Every event of a round's or comparison's stream, in order, as it was sent."""

    __tablename__ = "stream_events"

    stream: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text)


class TraceRow(Base):
    __tablename__ = "traces"
    __table_args__ = (
        Index("ix_traces_started", "started_at"),
        Index("ix_traces_group", "group_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow_name: Mapped[str] = mapped_column(String(200))
    group_id: Mapped[str | None] = mapped_column(String(64))
    round_id: Mapped[str | None] = mapped_column(String(64))
    pipeline: Mapped[str | None] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64))
    trace_metadata: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JSON(none_as_null=True)
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="running")
    """``running``, ``ok`` or ``error`` (the round's outcome)."""
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class SpanRow(Base):
    __tablename__ = "spans"
    __table_args__ = (Index("ix_spans_trace", "trace_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class ComparisonRow(ClaimColumns, Base):
    """The same questions played through several arms (pipeline × model), and the result."""

    __tablename__ = "comparisons"
    __table_args__ = (Index("ix_comparisons_status_lease", "status", "lease_expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
