"""Where a round starts and ends: plan, run a pipeline in a task, trace, store, report.

:meth:`RoundRunner.start` stores the round as ``running``, opens its event log and starts a task
that runs the chosen pipeline inside ``trace("quiz round", group_id=<game id>)``. Whatever
happens, the task ends the stream with ``usage`` and ``RUN_FINISHED`` or ``RUN_ERROR``, and
stores the round with every event it streamed, in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets as token_source
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agents.tracing import gen_trace_id, trace

from .. import errors
from ..events import ROUND, USAGE, RoundEvents
from ..pipelines.base import Pipeline
from ..questions.source import QuestionSource, supplied_question
from ..storage.rounds import NewRound, RoundStore, utcnow
from .context import RoundContext
from .live import EventBatch, RoundEventLog
from .models import Question, QuestionSourceName, RoundTimings
from .player import AnswerRejected, PlayerSeat
from .record import LiveRound, round_row_fields, round_summary

logger = logging.getLogger(__name__)


class InvalidRoundRequest(ValueError):
    """A request that is well-formed but cannot be played; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class RoundPlan:
    """A validated request: everything needed to play a round."""

    pipeline: str
    game_id: str
    category: str
    difficulty: str
    seed: int | None
    question_source: QuestionSourceName
    supplied: Question | None = None
    mode: str = "ai"
    """``ai`` (the Answerer is a model) or ``human`` (a player answers)."""
    owner: str | None = None
    """The player who started it (API token name), when the API has tokens."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{token_source.token_hex(8)}"


class RoundRunner:
    def __init__(
        self,
        *,
        pipelines: dict[str, Pipeline],
        questions: QuestionSource,
        store: RoundStore,
        model_name: str,
        round_timeout: float,
        answer_timeout: float = 600.0,
        secrets: Iterable[str] = (),
        on_outcome: Callable[[str, dict[str, Any] | None, str | None], None] | None = None,
        on_disconnect: str = "finish",
        disconnect_grace: float = 10.0,
    ) -> None:
        self.pipelines = pipelines
        self.questions = questions
        self.store = store
        self.model_name = model_name
        self.round_timeout = round_timeout
        self.answer_timeout = answer_timeout
        self.secrets = list(secrets)
        self.on_outcome = on_outcome
        """Told each round's outcome (trace id, error, failing role): the trace store marks it."""
        self.on_disconnect = on_disconnect
        self.disconnect_grace = disconnect_grace
        self.live: dict[str, LiveRound] = {}

    # Planning -----------------------------------------------------------------------------
    def plan(
        self,
        *,
        pipeline: str,
        category: str | None = None,
        difficulty: str | None = None,
        seed: int | None = None,
        question: str | None = None,
        reference_answer: str | None = None,
        game_id: str | None = None,
        mode: str = "ai",
        owner: str | None = None,
    ) -> RoundPlan:
        if mode not in ("ai", "human"):
            raise InvalidRoundRequest("mode", f"unknown mode {mode!r}; use 'ai' or 'human'")
        if pipeline not in self.pipelines:
            raise InvalidRoundRequest(
                "pipeline", f"unknown pipeline {pipeline!r}; use one of {sorted(self.pipelines)}"
            )
        if category is not None and not self.questions.has_category(category) and question is None:
            names = ", ".join(c.name for c in self.questions.categories())
            raise InvalidRoundRequest("category", f"unknown category {category!r}; known: {names}")
        difficulty = difficulty or self.questions.default_difficulty
        game_id = game_id or new_id("game")
        if question is not None and reference_answer is not None:
            supplied = supplied_question(
                question, reference_answer, category=category, difficulty=difficulty
            )
            return RoundPlan(
                pipeline,
                game_id,
                supplied.category,
                difficulty,
                seed,
                "supplied",
                supplied,
                mode,
                owner,
            )
        if seed is None:
            seed = random.randrange(2**31)
        if category is None:
            category = self.questions.pick_category(seed)
        source: QuestionSourceName = (
            "freeform" if self.questions.is_freeform(category) else "dataset"
        )
        return RoundPlan(
            pipeline, game_id, category, difficulty, seed, source, mode=mode, owner=owner
        )

    # Running ------------------------------------------------------------------------------
    async def start(self, plan: RoundPlan) -> LiveRound:
        """Store the round, start playing it in the background and return it."""
        round_id = new_id("round")
        trace_id = gen_trace_id()
        log = RoundEventLog(secrets=self.secrets)
        timings = RoundTimings()
        ctx = RoundContext(
            round_id=round_id,
            game_id=plan.game_id,
            pipeline=plan.pipeline,
            model=self.model_name,
            category=plan.category,
            difficulty=plan.difficulty,
            seed=plan.seed,
            question_source=plan.question_source,
            events=RoundEvents(
                log.publish, thread_id=plan.game_id, run_id=round_id, on_token=timings.mark_token
            ),
            question_provider=self._question_provider(plan),
            timings=timings,
        )
        await asyncio.to_thread(
            self.store.create_round,
            NewRound(
                id=round_id,
                game_id=plan.game_id,
                pipeline=plan.pipeline,
                mode=plan.mode,
                model=self.model_name,
                category=plan.category,
                difficulty=plan.difficulty,
                seed=plan.seed,
                question_source=plan.question_source,
                trace_id=trace_id,
                owner=plan.owner,
            ),
        )
        live = LiveRound(ctx=ctx, log=log, trace_id=trace_id, owner=plan.owner)
        if plan.mode == "human":
            ctx.answered_by = "player"
            ctx.player = PlayerSeat(
                timeout=self.answer_timeout,
                on_waiting=lambda: self._await_answer(live),
                on_resumed=lambda: self._resume(live),
            )
        self.live[round_id] = live
        live.task = asyncio.create_task(self._play(live), name=f"round {round_id}")
        return live

    async def _draw_question_ahead(self, ctx: RoundContext) -> None:
        """Generate a bank question in a worker thread before the pipeline starts: generators can
        take a second on first use, which must neither block the event loop nor be billed to
        whichever pipeline happens to ask first. ``draw_question`` then hands it over."""
        if ctx.question_source != "dataset" or ctx.question_provider is None:
            return
        drawn = await asyncio.to_thread(ctx.question_provider)
        ctx.question_provider = lambda: drawn

    async def watch(
        self, live: LiveRound, records: AsyncIterator[EventBatch]
    ) -> AsyncIterator[EventBatch]:
        """Pass a client's stream through, counting the clients of the round. With
        ``on_disconnect="cancel"``, a running round nobody watches for ``disconnect_grace``
        seconds is cancelled (and stored as failed); with ``"finish"`` it plays on."""
        live.watchers += 1
        try:
            async for record in records:
                yield record
        finally:
            live.watchers -= 1
            if live.watchers == 0 and self.on_disconnect == "cancel" and live.status == "running":
                asyncio.get_running_loop().call_later(
                    self.disconnect_grace, self._cancel_if_unwatched, live
                )

    def _cancel_if_unwatched(self, live: LiveRound) -> None:
        if (
            live.watchers == 0
            and live.status == "running"
            and live.task is not None
            and not live.task.done()
        ):
            live.cancel_reason = (
                f"No client was connected for {self.disconnect_grace:.0f} s, "
                "so the round was cancelled (QUIZRELAY_ON_DISCONNECT=cancel)."
            )
            live.task.cancel()

    def _question_provider(self, plan: RoundPlan) -> Any:
        if plan.supplied is not None:
            supplied = plan.supplied
            return lambda: supplied
        if plan.question_source == "freeform":
            return None
        assert plan.seed is not None
        return lambda: self.questions.draw(plan.category, plan.difficulty, plan.seed)

    async def _play(self, live: LiveRound) -> None:
        ctx = live.ctx
        events = ctx.events
        failure: errors.RoundFailure | None = None
        cancelled = False
        events.run_started()
        events.custom(
            ROUND,
            {
                "round_id": ctx.round_id,
                "game_id": ctx.game_id,
                "pipeline": ctx.pipeline,
                "trace_id": live.trace_id,
                "model": ctx.model,
                "category": ctx.category,
                "difficulty": ctx.difficulty,
                "seed": ctx.seed,
                "question_source": ctx.question_source,
            },
        )
        metadata = {
            "round_id": ctx.round_id,
            "pipeline": ctx.pipeline,
            "model": ctx.model,
            "category": ctx.category,
            "difficulty": ctx.difficulty,
        }
        if live.owner is not None:
            metadata["owner"] = live.owner
        try:
            async with asyncio.timeout(self.round_timeout) as deadline:
                live.deadline = deadline
                await self._draw_question_ahead(ctx)
                with trace(
                    "quiz round", trace_id=live.trace_id, group_id=ctx.game_id, metadata=metadata
                ):
                    await self.pipelines[ctx.pipeline].run(ctx)
        except asyncio.CancelledError as exc:
            cancelled = True
            failure = errors.failure_from_exception(exc, role=events.current_step)
            if live.cancel_reason:
                failure.message = live.cancel_reason
        except TimeoutError:
            failure = errors.RoundFailure(
                errors.ROUND_TIMEOUT,
                f"The round did not finish within {self.round_timeout:.0f} s "
                "(QUIZRELAY_ROUND_TIMEOUT).",
                role=events.current_step,
            )
        except Exception as exc:  # every failure becomes an explicit RUN_ERROR
            failure = errors.failure_from_exception(exc, role=events.current_step)
            if failure.code == errors.INTERNAL_ERROR:
                logger.exception("round %s failed unexpectedly", ctx.round_id)
        await self._finish(live, failure)
        if cancelled:
            raise asyncio.CancelledError()

    async def _await_answer(self, live: LiveRound) -> None:
        """End the round's first run: the question is out, the player is to answer."""
        ctx = live.ctx
        if live.deadline is not None:
            live.deadline.reschedule(None)  # the player's thinking time is not the round's
        live.log.stage()
        ctx.events.close_open()
        ctx.events.custom(USAGE, ctx.usage.as_dict())
        live.status = "awaiting_answer"
        summary = round_summary(live, None)
        ctx.events.run_finished(
            summary, awaiting_input=f"Answer with POST /api/rounds/{ctx.round_id}/answer"
        )
        fields = {
            "question": ctx.question.text if ctx.question else None,
            "reference_answer": ctx.question.reference_answer if ctx.question else None,
            "category": ctx.question.category if ctx.question else ctx.category,
        }
        try:
            await asyncio.to_thread(self.store.mark_awaiting_answer, ctx.round_id, fields)
        finally:
            live.log.commit()
            live.log.pause()

    def _resume(self, live: LiveRound) -> None:
        """Start the round's second run (the answer arrived, or the wait timed out)."""
        ctx = live.ctx
        live.status = "running"
        live.log.resume()
        if live.deadline is not None:
            live.deadline.reschedule(asyncio.get_running_loop().time() + self.round_timeout)
        ctx.events.run_id = f"{ctx.round_id}.answer"
        ctx.events.run_started()
        ctx.events.step_started("Answerer")

    def submit_answer(self, round_id: str, answer: str) -> tuple[LiveRound, int]:
        """Give a human round its answer; returns the round and the last event id before it
        (the answer's stream starts after it). Raises KeyError or AnswerRejected."""
        live = self.live.get(round_id)
        if live is None:
            row = self.store.get_round(round_id)
            if row is None:
                raise KeyError(round_id)
            if row.mode != "human":
                raise AnswerRejected("this round is not a human round; its Answerer is a model")
            raise AnswerRejected(f"this round is {row.status}; it takes no more answers")
        if live.ctx.player is None:
            raise AnswerRejected("this round is not a human round; its Answerer is a model")
        after = live.log.last_id
        live.ctx.player.submit(answer)
        return live, after

    async def _finish(self, live: LiveRound, failure: errors.RoundFailure | None) -> None:
        ctx = live.ctx
        if failure is not None:  # the one place a failure's text leaves: scrub it once
            failure.message = errors.scrub_text(failure.message, self.secrets)
        ctx.timings.finished = ctx.timings.finished or time.perf_counter()
        live.log.stage()
        ctx.events.close_open()
        ctx.events.custom(USAGE, ctx.usage.as_dict())
        summary = round_summary(live, failure)
        live.status, live.failure = ("failed" if failure else "completed"), failure
        if self.on_outcome is not None:
            error = {"code": failure.code, "message": failure.message} if failure else None
            self.on_outcome(live.trace_id, error, failure.role if failure else None)
        if failure is None:
            ctx.events.run_finished(summary)
        else:
            ctx.events.run_error(failure.code, failure.message)
        # Store first, then show the last events: a client that saw RUN_FINISHED or RUN_ERROR
        # finds the round stored, with every event including that one.
        try:
            await asyncio.shield(
                asyncio.to_thread(
                    self.store.finish_round,
                    ctx.round_id,
                    round_row_fields(live, failure),
                    list(live.log.records) + live.log.staged,
                )
            )
        except Exception:
            logger.exception("could not store round %s; marking it failed", ctx.round_id)
            await self._store_as_failed(ctx.round_id)
        finally:
            live.log.commit()
            live.log.close()
            self.live.pop(ctx.round_id, None)
            live.done.set()

    async def _store_as_failed(self, round_id: str) -> None:
        """The round's full record could not be written: at least never leave it 'running'."""
        fields = {
            "status": "failed",
            "error_code": errors.STORAGE_ERROR,
            "error_message": "The round's result could not be stored.",
            "finished_at": utcnow(),
        }
        try:
            await asyncio.to_thread(self.store.finish_round, round_id, fields, [])
        except Exception:
            logger.exception("could not mark round %s failed either", round_id)

    async def shutdown(self) -> None:
        """Cancel rounds still running; each is stored as failed (``round_cancelled``)."""
        tasks = [live.task for live in self.live.values() if live.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
