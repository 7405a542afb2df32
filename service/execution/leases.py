"""Where a worker's claims are kept alive: one heartbeat for everything the worker holds.

Every ``interval`` seconds the keeper extends the lease of every round and comparison this
worker runs, with one fenced ``UPDATE ... WHERE worker_id = <me> AND status = 'running'`` per
kind, and learns from what it returns which claims were lost (the row moved to another attempt)
and which carry a cancel request. One statement per worker, not one per round: a worker running
100 rounds makes 0.4 lease writes a second instead of 40.

The keeper has a database connection of its own (a pool of one). Lease renewals used to queue
for the round's pool behind event, trace and checkpoint writes; on an overloaded worker they
waited longer than the lease, the sweeper handed live rounds to another attempt and their work
was thrown away. A renewal now waits for nothing but the database itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update

from ..storage.db import Database
from ..storage.tables import utcnow
from .claims import CLAIMABLE, Claim
from .ports import JobKind

logger = logging.getLogger(__name__)


def _nothing(*_: object) -> None:
    return None


@dataclass
class _Hold:
    claim: Claim
    on_lost: Callable[[], object]
    on_cancel: Callable[[str], object]


class LeaseKeeper:
    def __init__(
        self, database: Database, *, worker_id: str, lease_seconds: float, interval: float
    ) -> None:
        self.db = database
        self.worker_id = worker_id
        self.lease = timedelta(seconds=lease_seconds)
        self.interval = interval
        self._holds: dict[tuple[JobKind, str], _Hold] = {}

    def hold(
        self, claim: Claim, *, on_lost: Callable[[], None], on_cancel: Callable[[str], object]
    ) -> None:
        """Keep ``claim`` alive until :meth:`release`: ``on_lost`` is called (once) if another
        attempt took the row, ``on_cancel`` with the reason of a cancel request found on it."""
        self._holds[(claim.kind, claim.id)] = _Hold(claim, on_lost, on_cancel)

    def ending(self, claim: Claim) -> None:
        """The attempt is ending: keep renewing ``claim`` until :meth:`release`, but tell its
        holder nothing more — the row leaving ``running`` is now the attempt's own doing (its
        final write), not a lost claim. Renewals must go on: an ending waits for the trace writer
        and the final store, which on an overloaded worker took longer than the rest of the
        lease, and the sweeper then handed finished rounds to another attempt."""
        hold = self._holds.get((claim.kind, claim.id))
        if hold is not None and hold.claim.token == claim.token:
            hold.on_lost = _nothing
            hold.on_cancel = _nothing

    def release(self, claim: Claim) -> None:
        """Stop renewing ``claim`` (the attempt has ended)."""
        hold = self._holds.get((claim.kind, claim.id))
        if hold is not None and hold.claim.token == claim.token:
            del self._holds[(claim.kind, claim.id)]

    def held(self) -> int:
        return len(self._holds)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            started = loop.time()
            try:
                await self.renew()
                took = loop.time() - started
                if started - due + took > self.interval:  # a quarter lease late: say why
                    logger.warning(
                        "worker %s: lease renewal late: woke %.1f s late, took %.1f s (%d held)",
                        self.worker_id, started - due, took, len(self._holds),
                    )  # fmt: skip
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: the leases may lapse meanwhile
                logger.warning("worker %s: lease renewal failed (%s)", self.worker_id, exc)

    async def renew(self) -> None:
        """Extend every held lease once; tell the holders of lost or cancelled claims."""
        for kind, table in CLAIMABLE.items():
            holds = {key[1]: hold for key, hold in self._holds.items() if key[0] == kind}
            if not holds:
                continue
            statement = (
                update(table)
                .where(
                    table.worker_id == self.worker_id,
                    table.status == "running",
                    table.id.in_(list(holds)),
                )
                .values(lease_expires_at=utcnow() + self.lease)
                .returning(table.id, table.fencing_token, table.cancel_requested)
                .execution_options(synchronize_session=False)
            )
            async with self.db.transaction() as session:
                rows = (await session.execute(statement)).all()
            alive = {row_id: (token, cancel) for row_id, token, cancel in rows}
            for row_id, hold in holds.items():
                if self._holds.get((kind, row_id)) is not hold:
                    continue  # released (it ended) while the renewal ran
                token, cancel = alive.get(row_id, (None, None))
                if token != hold.claim.token:
                    del self._holds[(kind, row_id)]
                    hold.on_lost()
                elif cancel:
                    hold.on_cancel(cancel)
