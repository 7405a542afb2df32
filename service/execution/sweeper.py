"""Where lost rounds are found and sent on: the sweeper every worker runs.

Every ``interval`` seconds it looks in the database for work nobody is doing, and hands it back
to the queue; the row changes only through a compare-and-set on its fencing token, so sweepers of
several workers can race without harm and a duplicate wake-up finds nothing to claim.

* a ``running`` round or comparison whose lease expired (its worker died or hung): queued again
  to be resumed from its checkpoint, or, after ``max_attempts`` attempts, queued to be ended
  with ``worker_lost``;
* a human round whose player did not answer by ``answer_deadline``: queued to end with
  ``answer_timeout``;
* a ``queued`` one that has waited longer than a wake-up should take (its queue entry was lost,
  as in a Redis restart): its wake-up is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from ..storage.db import Database
from ..storage.tables import RoundRow, utcnow
from ..vocabulary import WORKER_LOST
from .claims import CLAIMABLE
from .ports import Job, JobKind, RoundQueue

logger = logging.getLogger(__name__)

BATCH = 200
KINDS: tuple[JobKind, ...] = ("round", "comparison")


@dataclass
class SweepReport:
    resumed: int = 0
    given_up: int = 0
    answer_timeouts: int = 0
    rewoken: int = 0

    def __bool__(self) -> bool:
        return bool(self.resumed or self.given_up or self.answer_timeouts or self.rewoken)


class Sweeper:
    def __init__(
        self,
        database: Database,
        queue: RoundQueue,
        *,
        interval: float,
        max_attempts: int,
        requeue_after: float,
    ) -> None:
        self.db = database
        self.queue = queue
        self.interval = interval
        self.max_attempts = max_attempts
        self.requeue_after = timedelta(seconds=requeue_after)

    async def run(self) -> None:
        while True:
            try:
                report = await self.sweep()
                if report:
                    logger.info("sweeper: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database outage: retry at the next interval
                logger.warning("sweeper: sweep failed (%s); will retry", exc)
            await asyncio.sleep(self.interval)

    async def sweep(self) -> SweepReport:
        report = SweepReport()
        for kind in KINDS:
            await self._expired_leases(kind, report)
            await self._lost_wakeups(kind, report)
        await self._answer_timeouts(report)
        return report

    async def _expired_leases(self, kind: JobKind, report: SweepReport) -> None:
        table = CLAIMABLE[kind]
        now = utcnow()
        async with self.db.reading() as session:
            rows = (
                await session.execute(
                    select(table.id, table.attempt, table.fencing_token)
                    .where(table.status == "running", table.lease_expires_at < now)
                    .limit(BATCH)
                )
            ).all()
        for row_id, attempt, token in rows:
            give_up = attempt >= self.max_attempts
            values: dict[str, object] = {
                "status": "queued",
                "worker_id": None,
                "lease_expires_at": None,
                "queued_at": now,
            }
            if give_up:
                values["cancel_requested"] = (
                    f"{WORKER_LOST}: the worker running it was lost {attempt} time(s)"
                )
            async with self.db.transaction() as session:
                result = await session.execute(
                    update(table)
                    .where(  # still expired: a heartbeat that came back meanwhile wins
                        table.id == row_id,
                        table.fencing_token == token,
                        table.status == "running",
                        table.lease_expires_at < now,
                    )
                    .values(**values)
                )
            if (result.rowcount or 0) == 0:  # type: ignore[attr-defined]
                continue  # another sweeper, or the worker came back in time
            logger.warning(
                "%s %s: lease expired on attempt %d; %s",
                kind,
                row_id,
                attempt,
                "giving up" if give_up else "resuming it",
            )
            await self.queue.submit(Job(kind, row_id, attempt))
            if give_up:
                report.given_up += 1
            else:
                report.resumed += 1

    async def _lost_wakeups(self, kind: JobKind, report: SweepReport) -> None:
        table = CLAIMABLE[kind]
        now = utcnow()
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    update(table)
                    .where(table.status == "queued", table.queued_at < now - self.requeue_after)
                    .values(queued_at=now)
                    .returning(table.id, table.attempt)
                )
            ).all()
        for row_id, attempt in rows:
            await self.queue.submit(Job(kind, row_id, attempt))
            report.rewoken += 1

    async def _answer_timeouts(self, report: SweepReport) -> None:
        table = RoundRow
        now = utcnow()
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    update(table)
                    .where(table.status == "awaiting_answer", table.answer_deadline < now)
                    .values(status="queued", queued_at=now)
                    .returning(table.id, table.attempt)
                )
            ).all()
        for row_id, attempt in rows:
            await self.queue.submit(Job("round", row_id, attempt))
            report.answer_timeouts += 1
