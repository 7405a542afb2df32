"""What a checkpoint holds, and how an attempt rebuilds a round from it and from its stream.

A round checkpoints after each completed step: the question set, the answer given. The
checkpoint is small — the question (a bank question is drawn again from its seed, which also
brings back its answer scorer), the answer, the usage so far, the first token's time — because
everything else a resumed attempt needs is in the stream: which step is open, which messages and
tool calls were left open, how the next ids and message numbers continue.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from ..events import RoundEvents
from ..questions.models import Question
from ..questions.source import QuestionSource
from ..records import EventRecord
from ..rounds.context import RoundContext
from ..rounds.models import RoundTimings, UsageLedger
from ..rounds.player import PlayerSeat
from ..storage.tables import RoundRow


def next_step(ctx: RoundContext) -> str:
    """The role that plays next: the step a resumed attempt starts (again)."""
    if ctx.question is None:
        return "Questioner"
    if ctx.answer is None:
        return "Answerer"
    return "Judge"


def checkpoint_of(ctx: RoundContext, *, last_event_id: int) -> dict[str, Any]:
    """The round's row fields after a completed step (``checkpoint`` and the facts so far)."""
    question = ctx.question
    checkpoint = {
        "step": next_step(ctx),
        "question": None
        if question is None
        else {
            "text": question.text,
            "reference_answer": question.reference_answer,
            "category": question.category,
            "difficulty": question.difficulty,
            "source": question.source,
            "seed": question.seed,
        },
        "answer": ctx.answer,
        "answered_by": ctx.answered_by,
        "usage": ctx.usage.as_dict(),
        "first_token_ms": ctx.timings.as_dict()["time_to_first_token_ms"],
        "last_event_id": last_event_id,
    }
    fields: dict[str, Any] = {"checkpoint": checkpoint, "usage": ctx.usage.as_dict()}
    if question is not None:
        fields.update(
            question=question.text,
            reference_answer=question.reference_answer,
            category=question.category,
        )
    if ctx.answer is not None:
        fields.update(answer=ctx.answer, answered_by=ctx.answered_by)
    return fields


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def restore_timings(row: RoundRow, checkpoint: dict[str, Any] | None) -> RoundTimings:
    """Timings measured from when the round was created (the request), on whatever machine."""
    elapsed = (datetime.now(UTC) - _as_utc(row.created_at)).total_seconds()
    timings = RoundTimings(started=time.perf_counter() - max(0.0, elapsed))
    first_token_ms = (checkpoint or {}).get("first_token_ms")
    if first_token_ms is not None:
        timings.first_token = timings.started + first_token_ms / 1000.0
    return timings


async def _restore_question(
    row: RoundRow, saved: dict[str, Any] | None, questions: QuestionSource
) -> Question | None:
    if row.question_source == "supplied":
        if row.question is None or row.reference_answer is None:
            return None
        return Question(
            row.question, row.reference_answer, row.category, row.difficulty, "supplied"
        )
    if saved is None:
        return None
    if row.question_source == "dataset" and row.seed is not None:
        drawn = await asyncio.to_thread(questions.draw, row.category, row.difficulty, row.seed)
        if drawn.text == saved["text"]:
            return drawn  # with its scorer
    return Question(
        saved["text"],
        saved["reference_answer"],
        saved["category"],
        saved["difficulty"],
        saved["source"],
        saved.get("seed"),
    )


async def restore_context(
    row: RoundRow,
    checkpoint: dict[str, Any] | None,
    questions: QuestionSource,
    events: RoundEvents,
    timings: RoundTimings,
) -> RoundContext:
    """The round's context as its last checkpoint left it (a fresh one for a new round)."""
    saved = checkpoint or {}
    question = await _restore_question(row, saved.get("question"), questions)
    ctx = RoundContext(
        round_id=row.id,
        game_id=row.game_id,
        pipeline=row.pipeline,
        model=row.model,
        category=row.category,
        difficulty=row.difficulty,
        seed=row.seed,
        question_source=row.question_source,  # type: ignore[arg-type]
        events=events,
        question_provider=None,
        timings=timings,
        usage=UsageLedger.from_dict(saved.get("usage")),
    )
    if row.question_source == "supplied" and question is not None:
        supplied = question
        ctx.question_provider = lambda: supplied
    elif row.question_source == "dataset" and row.seed is not None:
        seed = row.seed
        ctx.question_provider = lambda: questions.draw(row.category, row.difficulty, seed)
    if question is not None and saved.get("question") is not None:
        ctx.question = question  # asked by an earlier attempt: the Questioner's step is done
    if row.mode == "human":
        ctx.answered_by = "player"
        timed_out = (
            row.answer is None
            and row.answer_deadline is not None
            and (_as_utc(row.answer_deadline) <= datetime.now(UTC))
        )
        ctx.player = PlayerSeat(answer=row.answer, timed_out=timed_out)
    elif saved.get("answer") is not None:
        ctx.answer = saved["answer"]
    return ctx


def restore_events(events: RoundEvents, history: list[EventRecord]) -> None:
    """Continue the stream where it stopped: the open step, messages and tool calls, the run."""
    events.restore([json.loads(record.json) for record in history])
