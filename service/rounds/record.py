"""What a round leaves behind: the live round's record, its summary and its stored fields."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..storage.rounds import utcnow
from .context import RoundContext
from .live import RoundEventLog


@dataclass
class LiveRound:
    """A round being played: its context, its event log and its task."""

    ctx: RoundContext
    log: RoundEventLog
    trace_id: str
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    status: str = "running"
    failure: errors.RoundFailure | None = None
    owner: str | None = None
    watchers: int = 0
    """Clients streaming this round right now."""
    cancel_reason: str | None = None
    deadline: asyncio.Timeout | None = None


def round_summary(live: LiveRound, failure: errors.RoundFailure | None) -> dict[str, Any]:
    """The round as ``RUN_FINISHED`` reports it (and its ``result``)."""
    ctx: RoundContext = live.ctx
    if failure is not None:
        status = "failed"
    else:
        status = "awaiting_answer" if live.status == "awaiting_answer" else "completed"
    links = {
        "round": f"/api/rounds/{ctx.round_id}",
        "trace": f"/api/traces/{live.trace_id}",
        "trace_page": f"/traces/{live.trace_id}",
    }
    if ctx.player is not None:
        links["answer"] = f"/api/rounds/{ctx.round_id}/answer"
    return {
        "round_id": ctx.round_id,
        "game_id": ctx.game_id,
        "pipeline": ctx.pipeline,
        "status": status,
        "mode": "human" if ctx.player is not None else "ai",
        "model": ctx.model,
        "question": ctx.question.public() if ctx.question else None,
        "answer": ctx.answer,
        "verdict": ctx.verdict.model_dump() if ctx.verdict else None,
        "error": {"code": failure.code, "message": failure.message, "role": failure.role}
        if failure
        else None,
        "usage": ctx.usage.as_dict(),
        "timings": ctx.timings.as_dict(),
        "trace_id": live.trace_id,
        "links": links,
    }


def round_row_fields(live: LiveRound, failure: errors.RoundFailure | None) -> dict[str, Any]:
    """The columns of the finished round's row."""
    ctx = live.ctx
    timings = ctx.timings.as_dict()
    return {
        "status": "failed" if failure else "completed",
        "question": ctx.question.text if ctx.question else None,
        "reference_answer": ctx.question.reference_answer if ctx.question else None,
        "category": ctx.question.category if ctx.question else ctx.category,
        "answer": ctx.answer,
        "answered_by": ctx.answered_by if ctx.answer is not None else None,
        "verdict": ctx.verdict.model_dump() if ctx.verdict else None,
        "error_code": failure.code if failure else None,
        "error_message": failure.message if failure else None,
        "time_to_first_token_ms": timings["time_to_first_token_ms"],
        "total_ms": timings["total_ms"],
        "usage": ctx.usage.as_dict(),
        "finished_at": utcnow(),
    }
