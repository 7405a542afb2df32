"""What the routes call: start a round, follow it, answer it, cancel it — wherever it runs.

An API process never runs a round itself. Starting one stores it as ``queued`` and wakes a
worker; following one reads its stream (:mod:`.following`); a player's answer is a
compare-and-set in the database followed by a wake-up, so it may reach any API process, even
after every process restarted while the round waited; a cancel is kept in the database and
signalled to whichever worker runs the round.
"""

from __future__ import annotations

import asyncio
import logging
import secrets as token_source
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agents.tracing import gen_trace_id

from ..metrics import Metrics
from ..records import EventBatch
from ..rounds.planning import RoundPlan
from ..storage.db import Database
from ..storage.rounds import AnswerRejected, NewRound, RoundStore
from ..storage.tables import RoundRow
from .following import StopRule, follow
from .ports import EventLog, Job, RoundQueue, Signals

logger = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    return f"{prefix}_{token_source.token_hex(8)}"


def round_stream(round_id: str) -> str:
    return f"round:{round_id}"


@dataclass(frozen=True)
class StartedRound:
    id: str
    game_id: str
    trace_id: str


class RoundService:
    def __init__(
        self,
        *,
        database: Database,
        rounds: RoundStore,
        queue: RoundQueue,
        log: EventLog,
        signals: Signals,
        metrics: Metrics,
        on_disconnect: str = "finish",
        disconnect_grace: float = 10.0,
        poll: float = 5.0,
    ) -> None:
        self.db = database
        self.rounds = rounds
        self.queue = queue
        self.log = log
        self.signals = signals
        self.metrics = metrics
        self.on_disconnect = on_disconnect
        self.disconnect_grace = disconnect_grace
        self.poll = poll

    async def start(
        self, plan: RoundPlan, *, round_id: str | None = None, wake: bool = True
    ) -> StartedRound:
        """Store the round as queued and wake a worker for it (``wake=False``: the caller, a
        comparison, claims and plays it itself)."""
        started = StartedRound(round_id or new_id("round"), plan.game_id, gen_trace_id())
        supplied = plan.supplied
        await self.rounds.create_round(
            NewRound(
                id=started.id,
                game_id=plan.game_id,
                pipeline=plan.pipeline,
                mode=plan.mode,
                model=plan.model,
                category=plan.category,
                difficulty=plan.difficulty,
                seed=plan.seed,
                question_source=plan.question_source,
                trace_id=started.trace_id,
                owner=plan.owner,
                question=supplied.text if supplied else None,
                reference_answer=supplied.reference_answer if supplied else None,
                comparison_id=plan.comparison_id,
                model_settings=plan.model_settings,
            )
        )
        await self.queue.submit(Job("round", started.id))
        return started

    async def get(self, round_id: str) -> RoundRow | None:
        return await self.rounds.get(round_id)

    async def events(
        self, round_id: str, after: int, *, stop: StopRule, new: bool = False
    ) -> AsyncIterator[EventBatch]:
        """The round's events after ``after``, while the client listens (it counts as a
        watcher; see :meth:`_left` for what happens when the last one leaves). ``new``: the
        round was queued just now, by this request (see :func:`follow`)."""
        stream = round_stream(round_id)

        async def progress() -> tuple[bool, int]:
            return await self.rounds.progress(round_id)

        await self.signals.watch(round_id, +1)
        self.metrics.sse_clients.inc()
        try:
            async for batch in follow(
                self.log,
                self.db,
                stream,
                after,
                stop=stop,
                progress=progress,
                poll=self.poll,
                new=new,
            ):
                yield batch
        finally:
            self.metrics.sse_clients.dec()
            left = await self.signals.watch(round_id, -1)
            if left == 0 and self.on_disconnect == "cancel":
                asyncio.get_running_loop().call_later(
                    self.disconnect_grace, lambda: asyncio.ensure_future(self._left(round_id))
                )

    async def _left(self, round_id: str) -> None:
        """No client watched ``round_id`` for the grace period (``on_disconnect=cancel``)."""
        if await self.signals.watch(round_id, 0):
            return
        row = await self.rounds.get(round_id)
        if row is None or row.status not in ("queued", "running"):
            return
        await self.cancel(
            round_id,
            f"No client was connected for {self.disconnect_grace:.0f} s, so the round was "
            "cancelled (QUIZRELAY_ON_DISCONNECT=cancel).",
        )

    async def answer(self, round_id: str, answer: str, *, run_id: str | None = None) -> int:
        """Give a human round its answer; returns the last event id before the answer's run
        (``run_id``: what that run is to be called; AG-UI clients choose it). Raises KeyError
        (no such round) or :class:`AnswerRejected` (the API answers 409)."""
        after, generation = await self.rounds.submit_answer(round_id, answer, run_id=run_id)
        await self.queue.submit(Job("round", round_id, generation))
        return after

    async def cancel(self, round_id: str, reason: str, *, run_id: str | None = None) -> RoundRow:
        """Ask for the round to end as ``cancelled``; the worker running it (or the next one to
        claim it) ends it. Raises KeyError for an unknown round."""
        row, wake = await self.rounds.request_cancel(round_id, reason, run_id=run_id)
        if wake:
            await self.queue.submit(Job("round", round_id, row.attempt))
        await self.signals.cancel(round_id, reason)
        return row


__all__ = ["AnswerRejected", "RoundService", "StartedRound", "new_id", "round_stream"]
