"""Where an attempt of a round runs: its task, heartbeat, checkpoints and end.

A worker hands :meth:`RoundExecutor.run` a claim. The executor rebuilds the round from the
database (its row, its checkpoint) and from its stream so far, opens the attempt's part of the
stream — ``RUN_STARTED`` for a new round, the second run of a human round once its player
answered, or ``CUSTOM resumed`` when an earlier attempt's worker was lost — and plays the
pipeline from the step the checkpoint reached, inside the round's trace. While it plays, the
worker's :class:`~.leases.LeaseKeeper` extends the claim and picks up cancel requests, and the
new events are stored every few seconds.

Whatever happens the attempt ends one of four ways: the round finished (``RUN_FINISHED`` or
``RUN_ERROR``, stored before any client sees it), it waits for its player (stored as
``awaiting_answer``: no task, no worker held), it was handed back (a draining worker; no events,
the next attempt resumes it), or its claim was lost (it stops writing at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from agents.tracing import TracingProcessor, trace

from .. import errors
from ..events import USAGE
from ..metrics import Metrics
from ..rounds.context import RoundContext
from ..rounds.player import AwaitingPlayer
from ..rounds.record import round_row_fields, round_summary
from ..storage.db import Database, retrying
from ..storage.rounds import RoundStore
from ..storage.tables import RoundRow, utcnow
from ..tracing.router import TraceRouter
from .attempt import Attempt, open_attempt, prepare_attempt
from .claims import Claim, ClaimLost
from .fallbacks import give_back_unstarted, store_as_failed
from .leases import LeaseKeeper
from .ports import EventLog, Job, RoundQueue
from .progress import hand_back, save_progress, store_events_every
from .resume import checkpoint_of

logger = logging.getLogger(__name__)

FLUSH_TIMEOUT = 10.0
"""Seconds an ending attempt waits for its last events to reach the event log."""


class Pipelines(Protocol):
    """Looks up the pipeline that plays a round (by pipeline, named model and model settings)."""

    async def get(
        self, pipeline: str, model_name: str, overrides: dict[str, Any] | None = None
    ) -> Any: ...


class RoundExecutor:
    def __init__(
        self,
        *,
        database: Database,
        rounds: RoundStore,
        log: EventLog,
        queue: RoundQueue,
        pipelines: Pipelines,
        questions: Any,
        metrics: Metrics,
        round_timeout: float,
        answer_timeout: float,
        leases: LeaseKeeper,
        secrets: Iterable[str] = (),
        on_outcome: Callable[[str, dict[str, Any] | None, str | None], None] | None = None,
        trace_processors: Sequence[TracingProcessor] = (),
        router: TraceRouter | None = None,
        flush_traces: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = database
        self.rounds = rounds
        self.log = log
        self.queue = queue
        self.pipelines = pipelines
        self.questions = questions
        self.metrics = metrics
        self.round_timeout = round_timeout
        self.answer_timeout = answer_timeout
        self.leases = leases
        self.secrets = list(secrets)
        self.on_outcome = on_outcome
        self.trace_processors = list(trace_processors)
        self.router = router
        self.flush_traces = flush_traces
        self.live: dict[str, Attempt] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def running(self) -> int:
        return len(self.live)

    async def idle(self) -> None:
        await self._idle.wait()

    # The worker's side ------------------------------------------------------------------------
    async def run(self, claim: Claim) -> None:
        """Run the claimed attempt to its end. The attempt is a task of its own: whoever awaits
        this (a queue's job, a comparison) being cancelled does not cancel the round — only a
        cancel request (:meth:`cancel`), a hand-back or a lost claim ends it early."""
        row = claim.row if isinstance(claim.row, RoundRow) else await self.rounds.get(claim.id)
        if row is None:
            return
        try:
            attempt = await self._prepare(claim, row)
        except Exception as exc:  # Redis or the database failed us before the round began
            await give_back_unstarted(self.db, self.queue, claim, exc)
            return
        self.live[claim.id] = attempt
        self._idle.clear()
        self.metrics.rounds_running.inc()
        attempt.task = asyncio.create_task(self._attempt(attempt), name=f"round {claim.id}")
        await asyncio.shield(attempt.task)

    async def _attempt(self, attempt: Attempt) -> None:
        try:
            await self._play(attempt)
        finally:
            self.leases.release(attempt.claim)
            self.metrics.rounds_running.dec()
            self.live.pop(attempt.round_id, None)
            if not self.live:
                self._idle.set()
            await attempt.publisher.close()

    def cancel(self, round_id: str, reason: str) -> bool:
        attempt = self.live.get(round_id)
        if attempt is None or attempt.task is None or attempt.task.done():
            return False
        if attempt.cancel_reason is None:
            attempt.cancel_reason = reason or "The round was cancelled."
            attempt.task.cancel()
        return True

    async def hand_back_all(self) -> None:
        for attempt in list(self.live.values()):
            if attempt.task is not None and not attempt.task.done():
                attempt.ending = "hand_back"
                attempt.task.cancel()
        await self._idle.wait()

    def _lose(self, attempt: Attempt) -> None:
        if attempt.ending is None:
            attempt.ending = "lost"
            logger.warning("round %s: claim lost to another worker; stopping", attempt.round_id)
            if attempt.task is not None and not attempt.task.done():
                attempt.task.cancel()

    # Preparing an attempt ---------------------------------------------------------------------
    async def _prepare(self, claim: Claim, row: RoundRow) -> Attempt:
        attempt = await prepare_attempt(
            claim, row, database=self.db, log=self.log, questions=self.questions,
            secrets=self.secrets, on_lost=self._lose,
        )  # fmt: skip
        attempt.ctx.on_fact = lambda: self._checkpoint_soon(attempt)
        return attempt

    # Playing ----------------------------------------------------------------------------------
    async def _play(self, attempt: Attempt) -> None:
        ctx, claim, row = attempt.ctx, attempt.claim, attempt.row
        failure: errors.RoundFailure | None = None
        self.leases.hold(
            claim,
            on_lost=lambda: self._lose(attempt),
            on_cancel=lambda reason: self.cancel(attempt.round_id, reason),
        )
        storing = asyncio.create_task(
            store_events_every(
                self.leases.interval, self.db, claim, attempt.publisher,
                on_lost=lambda: self._lose(attempt),
            ),
            name=f"store {ctx.round_id}",
        )  # fmt: skip

        def stop_keeping() -> None:  # the attempt ends: see LeaseKeeper.ending
            storing.cancel()
            self.leases.ending(claim)

        if claim.attempt == 1 and not attempt.publisher.records:
            self.metrics.round_started(ctx.pipeline)
        try:
            if open_attempt(attempt):
                self.metrics.resumes.inc()
            if claim.cancel_requested:
                raise errors.failure_from_request(
                    claim.cancel_requested, role=ctx.events.current_step
                )
            async with asyncio.timeout(self.round_timeout):
                await self._draw_question_ahead(ctx)
                metadata = {
                    "round_id": ctx.round_id,
                    "pipeline": ctx.pipeline,
                    "model": ctx.model,
                    "category": ctx.category,
                    "difficulty": ctx.difficulty,
                    "attempt": claim.attempt,
                }
                if row.owner is not None:
                    metadata["owner"] = row.owner
                routing = (
                    self.router.route(row.trace_id, self.trace_processors)
                    if self.router is not None
                    else contextlib.nullcontext()
                )
                with (
                    routing,
                    trace(
                        "quiz round", trace_id=row.trace_id, group_id=ctx.game_id, metadata=metadata
                    ),
                ):
                    pipeline = await self.pipelines.get(ctx.pipeline, ctx.model, row.model_settings)
                    await pipeline.run(ctx)
        except AwaitingPlayer:
            stop_keeping()
            await self._await_player(attempt)
            return
        except asyncio.CancelledError as exc:
            stop_keeping()
            if attempt.ending == "hand_back":
                await self._hand_back(attempt)
                return
            if attempt.ending == "lost":
                return
            failure = errors.failure_from_exception(exc, role=ctx.events.current_step)
            failure.message = attempt.cancel_reason or failure.message
        except TimeoutError:
            failure = errors.RoundFailure(
                errors.ROUND_TIMEOUT,
                f"The round did not finish within {self.round_timeout:.0f} s "
                "(QUIZRELAY_ROUND_TIMEOUT).",
                role=ctx.events.current_step,
            )
        except Exception as exc:  # every failure becomes an explicit RUN_ERROR
            failure = errors.failure_from_exception(exc, role=ctx.events.current_step)
            if failure.code == errors.INTERNAL_ERROR:
                logger.exception("round %s failed unexpectedly", ctx.round_id)
        finally:
            stop_keeping()
        await self._finish(attempt, failure)

    async def _draw_question_ahead(self, ctx: RoundContext) -> None:
        """Generate a bank question in a thread before the pipeline starts: generators can take a
        second on first use, which must neither block the event loop nor be billed to whichever
        pipeline happens to ask first. ``draw_question`` then hands it over."""
        if (
            ctx.question is not None
            or ctx.question_source != "dataset"
            or ctx.question_provider is None
        ):
            return
        drawn = await asyncio.to_thread(ctx.question_provider)
        ctx.question_provider = lambda: drawn

    # While it plays ---------------------------------------------------------------------------
    def _checkpoint_soon(self, attempt: Attempt) -> None:
        """A step was completed (question set, answer given): store it, in order, off the path."""
        previous = attempt.saving
        fields = checkpoint_of(attempt.ctx, last_event_id=attempt.publisher.last_id)

        async def save() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            try:
                await retrying(
                    lambda: save_progress(self.db, attempt.claim, attempt.publisher, fields),
                    within=10.0,
                )
            except ClaimLost:
                self._lose(attempt)
            except Exception as exc:
                logger.warning("round %s: checkpoint failed (%s)", attempt.round_id, exc)

        attempt.saving = asyncio.ensure_future(save())

    # How it ends ------------------------------------------------------------------------------
    async def _settle_checkpoints(self, attempt: Attempt) -> None:
        if attempt.saving is not None:
            with contextlib.suppress(Exception):
                await attempt.saving

    async def _finish(self, attempt: Attempt, failure: errors.RoundFailure | None) -> None:
        ctx, publisher = attempt.ctx, attempt.publisher
        if failure is not None:  # the one place a failure's text leaves: scrub it once
            failure.message = errors.scrub_text(failure.message, self.secrets)
        ctx.timings.finished = ctx.timings.finished or time.perf_counter()
        await self._settle_checkpoints(attempt)
        publisher.stage()
        ctx.events.close_open()
        ctx.events.custom(USAGE, ctx.usage.as_dict())
        summary = round_summary(ctx, attempt.row.trace_id, failure)
        if failure is None:
            ctx.events.run_finished(summary)
        else:
            ctx.events.run_error(failure.code, failure.message)
        fields = {**round_row_fields(ctx, failure), "worker_id": None, "lease_expires_at": None}
        if self.on_outcome is not None:
            error = {"code": failure.code, "message": failure.message} if failure else None
            self.on_outcome(attempt.row.trace_id, error, failure.role if failure else None)
        if self.flush_traces is not None:  # a trace read after RUN_FINISHED has every span
            with contextlib.suppress(Exception):
                async with asyncio.timeout(FLUSH_TIMEOUT):
                    await self.flush_traces()
        try:
            await retrying(lambda: save_progress(self.db, attempt.claim, publisher, fields))
        except ClaimLost:
            logger.warning("round %s: finished, but another worker owns it now", ctx.round_id)
            return
        except Exception:
            logger.exception("could not store round %s; marking it failed", ctx.round_id)
            failure = await store_as_failed(self.db, attempt)
        self.metrics.round_finished(ctx, failure)
        if failure is not None:
            logger.warning(
                "round %s failed: %s (role %s, attempt %d)",
                ctx.round_id,
                failure.code,
                failure.role or "-",
                attempt.claim.attempt,
            )
        # Only now may clients see the last events: the round is stored with every one of them.
        publisher.commit()
        await self._flush(attempt)
        with contextlib.suppress(Exception):
            await self.log.retire(attempt.claim.stream)

    async def _await_player(self, attempt: Attempt) -> None:
        """End the round's first run: the question is out, the player is to answer. The round
        is stored as ``awaiting_answer`` and no task waits: the answer, posted to any API
        process, queues it again."""
        ctx, publisher = attempt.ctx, attempt.publisher
        await self._settle_checkpoints(attempt)
        publisher.stage()
        ctx.events.close_open()
        ctx.events.custom(USAGE, ctx.usage.as_dict())
        summary = round_summary(ctx, attempt.row.trace_id, None, awaiting=True)
        ctx.events.run_finished(
            summary, awaiting_input=f"Answer with POST /api/rounds/{ctx.round_id}/answer"
        )
        fields = {
            **checkpoint_of(ctx, last_event_id=publisher.last_id),
            "status": "awaiting_answer",
            "worker_id": None,
            "lease_expires_at": None,
            "answer_deadline": utcnow() + timedelta(seconds=self.answer_timeout),
        }
        try:
            await retrying(lambda: save_progress(self.db, attempt.claim, publisher, fields))
        except ClaimLost:
            return
        publisher.commit()
        await self._flush(attempt)

    async def _hand_back(self, attempt: Attempt) -> None:
        await self._settle_checkpoints(attempt)
        with contextlib.suppress(Exception):
            await save_progress(self.db, attempt.claim, attempt.publisher, {})
        await self._flush(attempt)
        if not await hand_back(self.db, attempt.claim):
            return
        await self.queue.submit(Job("round", attempt.round_id, attempt.claim.attempt))
        logger.info("round %s handed back to the queue", attempt.round_id)

    async def _flush(self, attempt: Attempt) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_TIMEOUT):
                await attempt.publisher.flushed()
