"""Where a comparison runs: the same questions through every arm, one round at a time.

Questions are played interleaved (question 1 through every arm, then question 2...) with the
same seed and category in every arm, so all arms meet the same questions and the same drift of
the machine. A worker claims the comparison like a round, and plays its rounds itself, each
under its own claim (so a round of a comparison is stored, traced and resumable like any other).
The comparison's checkpoint is simply its rounds in the database: a resumed attempt finds which
(question, arm) pairs exist, waits for one another worker is resuming, and goes on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from ..agent_specs import PricesSpec
from ..errors import failure_from_request
from ..events import RESUMED, RoundEvents
from ..execution.claims import Claim, Claims
from ..execution.executor import RoundExecutor
from ..execution.leases import LeaseKeeper
from ..execution.ports import EventLog, Job
from ..execution.progress import hand_back, save_progress, store_events_every, stream_history
from ..execution.publisher import StreamPublisher
from ..execution.service import RoundService
from ..rounds.planning import Planner
from ..storage.comparisons import ComparisonStore
from ..storage.db import Database, retrying
from ..storage.rounds import RoundStore
from ..storage.tables import ComparisonRow, RoundRow, utcnow
from ..storage.traces import TraceStore
from ..vocabulary import CANCELLED, FINISHED, INTERNAL_ERROR
from .summary import summarize

logger = logging.getLogger(__name__)

PROGRESS = "comparison_progress"
SUMMARY = "comparison_summary"
WAIT_POLL = 0.25


def round_key(row: RoundRow, comparison_id: str, base_seed: int) -> tuple[int, str]:
    """(question index, arm name) of a round of a comparison (its game is ``<id>_<arm>``)."""
    return (row.seed or 0) - base_seed, row.game_id.removeprefix(f"{comparison_id}_")


class ComparisonExecutor:
    def __init__(
        self,
        *,
        database: Database,
        store: ComparisonStore,
        rounds: RoundStore,
        traces: TraceStore,
        log: EventLog,
        claims: Claims,
        round_service: RoundService,
        round_executor: RoundExecutor,
        planner: Planner,
        prices: PricesSpec,
        leases: LeaseKeeper,
        secrets: list[str],
    ) -> None:
        self.db = database
        self.store = store
        self.rounds = rounds
        self.traces = traces
        self.log = log
        self.claims = claims
        self.round_service = round_service
        self.round_executor = round_executor
        self.planner = planner
        self.prices = prices
        self.leases = leases
        self.secrets = secrets
        self.live: dict[str, asyncio.Task[None]] = {}
        self._reasons: dict[str, str] = {}
        self._handing_back: set[str] = set()
        self._lost: set[str] = set()

    def running(self) -> int:
        return len(self.live)

    async def idle(self) -> None:
        while self.live:
            await asyncio.wait(list(self.live.values()))

    def cancel(self, object_id: str, reason: str) -> bool:
        task = self.live.get(object_id)
        if task is None or task.done():
            return False
        self._reasons.setdefault(object_id, reason)
        task.cancel()
        return True

    async def hand_back_all(self) -> None:
        for comparison_id, task in list(self.live.items()):
            self._handing_back.add(comparison_id)
            task.cancel()
        for task in list(self.live.values()):
            with contextlib.suppress(BaseException):
                await task

    async def run(self, claim: Claim) -> None:
        task = asyncio.create_task(self._run(claim), name=f"comparison {claim.id}")
        task.add_done_callback(lambda _: self.leases.release(claim))
        self.live[claim.id] = task
        task.add_done_callback(lambda _: self.live.pop(claim.id, None))
        await asyncio.shield(task)

    async def _run(self, claim: Claim) -> None:
        row = claim.row if isinstance(claim.row, ComparisonRow) else await self.store.get(claim.id)
        if row is None:
            return
        settings = row.settings
        history = await stream_history(self.db, self.log, claim, stored=row.events_stored)
        publisher = StreamPublisher(
            self.log,
            claim.stream,
            token=claim.token,
            history=history,
            secrets=self.secrets,
            on_lost=lambda: self._lose(claim.id),
        )
        publisher.stored = min(row.events_stored, len(history))
        events = RoundEvents(publisher.publish, thread_id=claim.id, run_id=claim.id)
        events.restore([json.loads(record.json) for record in history])
        self.leases.hold(
            claim,
            on_lost=lambda: self._lose(claim.id),
            on_cancel=lambda reason: self._cancel_requested(claim.id, reason),
        )
        storing = asyncio.create_task(
            store_events_every(
                self.leases.interval, self.db, claim, publisher,
                on_lost=lambda: self._lose(claim.id),
            )
        )  # fmt: skip

        def stop_keeping() -> None:  # the attempt ends: see LeaseKeeper.ending
            storing.cancel()
            self.leases.ending(claim)

        status, result, error = "completed", None, None
        try:
            if not history:
                events.run_started()
                events.custom("comparison", {"comparison_id": claim.id, **settings})
            else:
                events.custom(RESUMED, {"attempt": claim.attempt, "step": "rounds"})
            if claim.cancel_requested:
                failure = failure_from_request(claim.cancel_requested)
                raise _Stop(failure.code, failure.message)
            played = await self._play(claim, settings, events)
            result = await summarize(
                claim.id,
                settings,
                played,
                rounds=self.rounds,
                traces=self.traces,
                prices=self.prices,
            )
            events.custom(SUMMARY, result)
        except asyncio.CancelledError:
            if claim.id in self._handing_back or claim.id in self._lost:
                stop_keeping()
                if claim.id in self._handing_back and await hand_back(self.db, claim):
                    await self.round_service.queue.submit(
                        Job("comparison", claim.id, claim.attempt)
                    )
                await publisher.close()
                return
            reason = self._reasons.pop(claim.id, "The comparison was cancelled.")
            status, error = "failed", {"code": CANCELLED, "message": reason}
        except _Stop as stop:
            status, error = "failed", {"code": stop.code, "message": stop.message}
        except Exception as exc:  # reported, stored, and the stream ends with RUN_ERROR
            logger.exception("comparison %s failed", claim.id)
            status, error = (
                "failed",
                {"code": INTERNAL_ERROR, "message": f"{type(exc).__name__}: {exc}"},
            )
        finally:
            stop_keeping()
        publisher.stage()
        if error is None:
            events.run_finished(result or {})
        else:
            events.run_error(error["code"], error["message"])
        fields = {
            "status": status,
            "result": result,
            "error": error,
            "finished_at": utcnow(),
            "worker_id": None,
            "lease_expires_at": None,
        }
        try:
            await retrying(lambda: save_progress(self.db, claim, publisher, fields))
        except Exception:
            logger.exception("could not store comparison %s", claim.id)
            await publisher.close()
            return
        publisher.commit()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await publisher.flushed()
        with contextlib.suppress(Exception):
            await self.log.retire(claim.stream)
        await publisher.close()

    def _lose(self, comparison_id: str) -> None:
        self._lost.add(comparison_id)
        task = self.live.get(comparison_id)
        if task is not None:
            task.cancel()

    def _cancel_requested(self, comparison_id: str, reason: str) -> None:
        if comparison_id not in self._reasons:  # the keeper sees it at every renewal
            self.cancel(comparison_id, failure_from_request(reason).message)

    async def _play(
        self, claim: Claim, settings: dict[str, Any], events: RoundEvents
    ) -> list[dict[str, Any]]:
        base_seed = settings["seed"]
        arms = settings["arms"]
        total = settings["rounds"] * len(arms)
        existing = {round_key(r, claim.id, base_seed): r for r in await self.store.rounds(claim.id)}
        played: list[dict[str, Any]] = []
        for index in range(settings["rounds"]):
            categories = settings["categories"]
            category = categories[index % len(categories)] if categories else None
            for arm in arms:
                row = existing.get((index, arm["name"]))
                if row is None:
                    row = await self._play_round(claim, settings, arm, index, category)
                elif row.status not in FINISHED:
                    row = await self._wait_for(row.id)
                entry = {
                    "index": index,
                    "arm": arm["name"],
                    "pipeline": arm["pipeline"],
                    "model": arm["model"],
                    "round_id": row.id,
                    "trace_id": row.trace_id,
                    "seed": row.seed,
                    "category": row.category,
                    "status": row.status,
                    "correct": row.verdict.get("correct") if row.verdict else None,
                    "error_code": row.error_code,
                    "done": len(played) + 1,
                    "of": total,
                }
                played.append(entry)
                if (index, arm["name"]) not in existing:
                    events.custom(PROGRESS, entry)
        return played

    async def _play_round(
        self,
        claim: Claim,
        settings: dict[str, Any],
        arm: dict[str, Any],
        index: int,
        category: str | None,
    ) -> RoundRow:
        plan = self.planner.plan(
            pipeline=arm["pipeline"],
            model=arm["model"],
            category=category,
            difficulty=settings["difficulty"],
            seed=settings["seed"] + index,
            game_id=f"{claim.id}_{arm['name']}",
            owner=settings.get("owner"),
            comparison_id=claim.id,
            model_settings=arm.get("model_settings"),
        )
        started = await self.round_service.start(plan, wake=False)
        round_claim = await self.claims.acquire(Job("round", started.id))
        if round_claim is not None:
            try:
                await self.round_executor.run(round_claim)
            except asyncio.CancelledError:
                if claim.id not in self._handing_back and claim.id not in self._lost:
                    self.round_executor.cancel(started.id, "The comparison was cancelled.")
                raise
        return await self._wait_for(started.id)

    async def _wait_for(self, round_id: str) -> RoundRow:
        """A round of this comparison that another worker plays (it is being resumed)."""
        while True:
            row = await self.rounds.get(round_id)
            if row is not None and row.status in FINISHED:
                return row
            await asyncio.sleep(WAIT_POLL)


class _Stop(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
