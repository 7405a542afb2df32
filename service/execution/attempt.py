"""One attempt of a round, rebuilt and opened.

An attempt is what a worker holds while it plays a claimed round: the claim, the stored row, the
round context restored from the checkpoint, and the publisher that writes the round's stream
with the claim's fencing token. :func:`prepare_attempt` rebuilds it from the database and the
stream so far; :func:`open_attempt` writes its first events — which depend on where the round
was left (new, a human round's answer, or resumed after a lost worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..events import RESUMED, ROUND, RoundEvents
from ..rounds.context import RoundContext
from ..storage.db import Database
from ..storage.tables import RoundRow
from .claims import Claim
from .ports import EventLog
from .progress import stream_history
from .publisher import StreamPublisher
from .resume import next_step, restore_context, restore_events, restore_timings


@dataclass
class Attempt:
    claim: Claim
    row: RoundRow
    ctx: RoundContext
    publisher: StreamPublisher
    task: asyncio.Task[None] | None = None
    ending: str | None = None
    """``hand_back`` (a draining worker) or ``lost`` (the claim went to another worker)."""
    cancel_reason: str | None = None
    saving: asyncio.Future[None] | None = None

    @property
    def round_id(self) -> str:
        return self.claim.id


async def prepare_attempt(
    claim: Claim,
    row: RoundRow,
    *,
    database: Database,
    log: EventLog,
    questions: Any,
    secrets: Iterable[str],
    on_lost: Callable[[Attempt], None],
) -> Attempt:
    """The attempt of ``claim``: its stream so far, its context restored from the checkpoint.
    ``on_lost`` is called when a write finds that the claim now belongs to another worker."""
    history = await stream_history(database, log, claim, stored=row.events_stored)
    holder: list[Attempt] = []

    def lost() -> None:
        if holder:
            on_lost(holder[0])

    publisher = StreamPublisher(
        log, claim.stream, token=claim.token, history=history, secrets=list(secrets), on_lost=lost
    )
    publisher.stored = min(row.events_stored, len(history))
    timings = restore_timings(row, claim.checkpoint)
    events = RoundEvents(
        publisher.publish, thread_id=row.game_id, run_id=row.id, on_token=timings.mark_token
    )
    restore_events(events, history)
    ctx = await restore_context(row, claim.checkpoint, questions, events, timings)
    attempt = Attempt(claim=claim, row=row, ctx=ctx, publisher=publisher)
    holder.append(attempt)
    return attempt


def open_attempt(attempt: Attempt) -> bool:
    """The attempt's first events: a new round, the second run, or a resumed one (then True)."""
    ctx, claim = attempt.ctx, attempt.claim
    events = ctx.events
    history = attempt.publisher.records
    if not history:
        events.run_started()
        events.custom(
            ROUND,
            {
                "round_id": ctx.round_id,
                "game_id": ctx.game_id,
                "pipeline": ctx.pipeline,
                "trace_id": attempt.row.trace_id,
                "model": ctx.model,
                "category": ctx.category,
                "difficulty": ctx.difficulty,
                "seed": ctx.seed,
                "question_source": ctx.question_source,
                "mode": attempt.row.mode,
            },
        )
        return False
    if history[-1].interrupt:
        events.run_id = attempt.row.answer_run_id or f"{ctx.round_id}.answer"
        events.run_started()
        events.step_started("Answerer")
        return False
    events.close_items()
    events.custom(RESUMED, {"step": next_step(ctx), "attempt": claim.attempt})
    return True
