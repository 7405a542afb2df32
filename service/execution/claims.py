"""Where a round (or comparison) is claimed, kept and given up: its row in the database.

A worker owns a round while its claim holds: ``status='running'``, its ``worker_id``, a lease
that the worker's :class:`~.leases.LeaseKeeper` pushes forward, and a ``fencing_token`` that
grew by one when it claimed the round. Every write the owner makes (checkpoints, events, the
outcome) is an ``UPDATE ... WHERE fencing_token = <its token>``; when the lease lapsed and
another worker claimed the round, that matches nothing and the write is refused with
:class:`ClaimLost` — a worker that lost its claim can no longer write, whatever it still believes.
The same SQL runs on SQLite and PostgreSQL.

    queued ──acquire──▶ running ──finish──▶ completed | failed
      ▲                  │  │
      └──hand back / ────┘  └──await player──▶ awaiting_answer ──answer──▶ queued
         lease expired
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.db import Database
from ..storage.tables import ComparisonRow, RoundRow, utcnow
from .ports import Job, JobKind

ClaimableTable = type[RoundRow] | type[ComparisonRow]
CLAIMABLE: dict[JobKind, ClaimableTable] = {"round": RoundRow, "comparison": ComparisonRow}


class ClaimLost(Exception):
    """The claim is no longer this worker's: the lease lapsed and the round moved on."""


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one round or comparison, and what it starts from."""

    kind: JobKind
    id: str
    worker_id: str
    attempt: int
    """1 for the first run; each resume after a lost worker adds one."""
    token: int
    """The fencing token every write of this attempt must carry."""
    checkpoint: dict[str, Any] | None
    """What earlier attempts completed (None: nothing yet)."""
    cancel_requested: str | None
    row: RoundRow | ComparisonRow | None = field(default=None, compare=False, repr=False)
    """The claimed row as the claim left it (returned by the claim's own ``UPDATE``: the
    attempt needs no second read)."""

    @property
    def stream(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def table(self) -> ClaimableTable:
        return CLAIMABLE[self.kind]


class Claims:
    def __init__(self, database: Database, *, worker_id: str, lease_seconds: float) -> None:
        self.db = database
        self.worker_id = worker_id
        self.lease = timedelta(seconds=lease_seconds)

    def _expiry(self) -> datetime:
        return utcnow() + self.lease

    async def acquire(self, job: Job) -> Claim | None:
        """Claim a queued round or comparison; None when it is not queued (another worker has
        it, it was finished, or the job was a duplicate)."""
        table = CLAIMABLE[job.kind]
        statement = (
            update(table)
            .where(table.id == job.id, table.status == "queued")
            .values(
                status="running",
                worker_id=self.worker_id,
                lease_expires_at=self._expiry(),
                attempt=table.attempt + 1,
                fencing_token=table.fencing_token + 1,
            )
            .returning(table)
            .execution_options(synchronize_session=False)
        )
        async with self.db.transaction() as session:
            row: RoundRow | ComparisonRow | None = (
                (await session.execute(statement)).scalars().first()  # type: ignore[assignment]
            )
        if row is None:
            return None
        return Claim(
            job.kind, job.id, self.worker_id, row.attempt, row.fencing_token, row.checkpoint,
            row.cancel_requested, row,
        )  # fmt: skip

    @staticmethod
    async def write(session: AsyncSession, claim: Claim, values: dict[str, Any]) -> str | None:
        """Update the claimed row inside ``session``'s transaction, only if the claim holds;
        returns the row's pending cancel request (None: there is none)."""
        table = claim.table
        # Running, too: once a sweeper requeued the row, the attempt that lost it stops writing
        # (the token only changes when the next attempt claims it).
        statement = update(table).where(
            table.id == claim.id, table.fencing_token == claim.token, table.status == "running"
        )
        if values:
            statement = statement.values(**values)
        else:  # a store of events only: it checks the claim
            statement = statement.values(fencing_token=table.fencing_token)
        row = (await session.execute(statement.returning(table.cancel_requested))).first()
        if row is None:
            raise ClaimLost(f"{claim.stream}: a newer attempt owns it; this write was refused")
        return row[0]
