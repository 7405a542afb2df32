"""Where rounds are taken from the queue and run: ``quizrelay worker`` (or inside ``serve``).

A worker consumes jobs ``concurrency`` at a time. For each it claims the row (a job for a
round that is not queued any more is a duplicate and is dropped), then lets the executor run
the attempt. It also listens for cancel requests (the executor cancels the round if it is one
of this worker's), keeps its claims' leases (:class:`~.leases.LeaseKeeper`) and runs the
sweeper.

Stopping is a drain: the worker takes no new job, gives the rounds it runs ``grace`` seconds to
finish, and hands the rest back to the queue — another worker resumes them from their
checkpoints, so a rolling deploy loses no round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Protocol

from .claims import Claim, Claims
from .leases import LeaseKeeper
from .ports import Job, RoundQueue, Signals
from .sweeper import Sweeper

logger = logging.getLogger(__name__)

CONSUMER_STOP_TIMEOUT = 5.0
"""Seconds a draining worker waits for its queue consumer to stop before cancelling it."""


def new_worker_id() -> str:
    """Host, process and a random part: unique across restarts and machines."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runnable(Protocol):
    """What a worker runs: the executor of rounds, or of comparisons."""

    async def run(self, claim: Claim) -> None:
        """Run one claimed attempt to its end (or until it is handed back or lost)."""
        ...

    def cancel(self, object_id: str, reason: str) -> bool:
        """Cancel ``object_id`` if this process runs it; True if it did."""
        ...

    async def hand_back_all(self) -> None:
        """Stop every attempt running here and give each back to the queue."""
        ...

    def running(self) -> int: ...

    async def idle(self) -> None:
        """Return once nothing runs here."""
        ...


class Worker:
    def __init__(
        self,
        *,
        queue: RoundQueue,
        claims: Claims,
        leases: LeaseKeeper,
        runners: dict[str, Runnable],
        signals: Signals,
        sweeper: Sweeper,
        concurrency: int,
    ) -> None:
        self.queue = queue
        self.claims = claims
        self.leases = leases
        self.runners = runners
        self.signals = signals
        self.sweeper = sweeper
        self.concurrency = concurrency
        self._tasks: list[asyncio.Task[None]] = []
        self._consuming: asyncio.Task[None] | None = None
        self.draining = False

    @property
    def worker_id(self) -> str:
        return self.claims.worker_id

    def running(self) -> int:
        return sum(runner.running() for runner in self.runners.values())

    async def start(self) -> None:
        self._consuming = asyncio.create_task(
            self.queue.consume(self._handle, concurrency=self.concurrency), name="worker jobs"
        )
        self._tasks = [
            asyncio.create_task(self.signals.listen(self._on_cancel), name="worker cancels"),
            asyncio.create_task(self.sweeper.run(), name="worker sweeper"),
            asyncio.create_task(self.leases.run(), name="worker leases"),
        ]
        logger.info("worker %s taking jobs, %d at a time", self.worker_id, self.concurrency)

    async def _handle(self, job: Job) -> None:
        if self.draining:
            await self.queue.submit(job)  # not ours to start any more
            return
        claim = await self.claims.acquire(job)
        if claim is None:
            return  # a duplicate wake-up: the round is running elsewhere, or done
        await self.runners[job.kind].run(claim)

    def _on_cancel(self, object_id: str, reason: str) -> None:
        for runner in self.runners.values():
            if runner.cancel(object_id, reason):
                return

    async def drain(self, grace: float) -> None:
        """Stop taking jobs; let running ones finish for ``grace`` s, hand the rest back."""
        self.draining = True
        await self.queue.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.gather(*(runner.idle() for runner in self.runners.values()))
        left = self.running()
        if left:
            logger.warning("worker %s: handing %d unfinished job(s) back", self.worker_id, left)
            for runner in self.runners.values():
                await runner.hand_back_all()
        if self._consuming is not None:
            # The consumer ends by itself once the queue is stopped; cancelling it while the
            # queue library shuts down its own tasks would leave them unawaited (SAQ then logs
            # "_GatheringFuture exception was never retrieved" on every drain).
            await asyncio.wait({self._consuming}, timeout=CONSUMER_STOP_TIMEOUT)
            self._consuming.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._consuming
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
