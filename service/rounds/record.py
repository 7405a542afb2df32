"""What a round leaves behind: its summary (``RUN_FINISHED``'s result) and its stored fields."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..storage.tables import utcnow
from ..vocabulary import round_links
from .context import RoundContext


def round_summary(
    ctx: RoundContext,
    trace_id: str,
    failure: errors.RoundFailure | None,
    *,
    awaiting: bool = False,
) -> dict[str, Any]:
    """The round as ``RUN_FINISHED`` reports it (and its ``result``)."""
    status = "failed" if failure else ("awaiting_answer" if awaiting else "completed")
    error = None
    if failure is not None:
        error = {"code": failure.code, "message": failure.message, "role": failure.role}
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
        "error": error,
        "usage": ctx.usage.as_dict(),
        "timings": ctx.timings.as_dict(),
        "trace_id": trace_id,
        "links": round_links(ctx.round_id, trace_id, human=ctx.player is not None),
    }


def round_row_fields(ctx: RoundContext, failure: errors.RoundFailure | None) -> dict[str, Any]:
    """The columns of the finished round's row."""
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
        "checkpoint": None,
    }
