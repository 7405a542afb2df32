"""The round queue on SAQ (Redis): how workers are woken for rounds and comparisons.

SAQ only delivers wake-ups. Which worker runs a round, and whether it still may, is decided by
the claim in the database (:mod:`quizrelay.execution.claims`): a duplicate or stale delivery
finds the row no longer ``queued`` and is dropped. So SAQ's own retries are off, and its job
key is the round, the kind and the generation (see :class:`~quizrelay.execution.ports.Job`): a
wake-up that is still waiting is not sent twice, and a wake-up for a resumed attempt is never
mistaken for the dead attempt's job.

Set-up that matters (measured, see the README): the Redis client's socket timeout must exceed
the blocking dequeue (redis-py 8 defaults to 5 s), SAQ's signal handlers are switched off (the
process drains itself), and SAQ's job timeout is finite, so a killed worker's job record is
swept in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from saq import Worker as SaqWorker
from saq.queue.redis import RedisQueue
from saq.types import TimersDict

from ..execution.ports import Job, JobHandler, JobKind

logger = logging.getLogger(__name__)

FUNCTION = "quizrelay_job"
DEQUEUE_TIMEOUT = 5.0
"""Seconds one blocking dequeue waits; below the client's socket timeout."""


TIMERS: TimersDict = {"schedule": 1, "sweep": 60, "abort": 5, "worker_info": 10}
"""SAQ's upkeep: sweeping often makes its pick-up race worse (see the README); aborts are not
used (cancels travel on our own channel)."""


class _QuietWorker(SaqWorker):
    SIGNALS: list[Any] = []  # noqa: RUF012 - SAQ reads this class attribute; the process drains itself


class SaqQueue:
    def __init__(self, client: Redis, *, prefix: str, timeouts: dict[JobKind, int]) -> None:
        self.prefix = prefix
        self.timeouts = timeouts
        self.queue = RedisQueue(client, name=prefix)
        self._worker: SaqWorker | None = None
        self._connected = False

    async def _connect(self) -> None:
        if not self._connected:
            await self.queue.connect()
            self._connected = True

    async def submit(self, job: Job) -> None:
        await self._connect()
        await self.queue.enqueue(
            FUNCTION,
            key=f"{self.prefix}:{job.kind}:{job.id}:{job.generation}",
            kind=job.kind,
            object_id=job.id,
            generation=job.generation,
            timeout=self.timeouts[job.kind],
            retries=1,
            heartbeat=0,
            ttl=60,
        )

    async def depth(self) -> int:
        await self._connect()
        return int(await self.queue.count("queued"))

    async def consume(self, handler: JobHandler, *, concurrency: int) -> None:
        await self._connect()

        async def run(
            ctx: dict[str, Any], *, kind: JobKind, object_id: str, generation: int
        ) -> None:
            await handler(Job(kind, object_id, generation))

        self._worker = _QuietWorker(
            self.queue,
            functions=[(FUNCTION, run)],
            concurrency=concurrency,
            dequeue_timeout=DEQUEUE_TIMEOUT,
            timers=TIMERS,
            shutdown_grace_period_s=0,
        )
        await self._worker.start()

    async def stop(self) -> None:
        if self._worker is not None:
            # No new dequeues; the ones in flight end within DEQUEUE_TIMEOUT.
            self._worker.event.set()

    async def close(self) -> None:
        if self._worker is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._worker.stop()
        if self._connected:
            with contextlib.suppress(Exception):
                await self.queue.disconnect()
