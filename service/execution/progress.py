"""What a claimed attempt writes to the database, always under its fencing token.

One transaction updates the claimed row and stores the stream's events the database does not
have yet, so a checkpoint never lands without the events that led to it (and a stale worker's
write lands not at all: :class:`~.claims.ClaimLost`). A running round also stores its new events
this way every few seconds with no checkpoint in sight — which is what a reader replays from
when the event log lost them. (Leases are renewed apart, by :class:`~.leases.LeaseKeeper`.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..storage.db import Database
from ..storage.streams import insert_events, stored_events
from ..storage.tables import utcnow
from .claims import Claim, ClaimLost, Claims
from .ports import EventLog, EventRecord
from .publisher import StreamPublisher

logger = logging.getLogger(__name__)


async def save_progress(
    database: Database,
    claim: Claim,
    publisher: StreamPublisher,
    fields: dict[str, Any],
) -> str | None:
    """Write ``fields`` to the claimed row and the unstored events, in one fenced transaction.
    Returns the row's pending cancel request."""
    async with publisher.storing:  # one writer at a time, or both would insert the same events
        unstored = publisher.unstored()
        values = dict(fields)
        if unstored:
            values["events_stored"] = unstored[-1].id
        async with database.transaction() as session:
            cancel_requested = await Claims.write(session, claim, values)
            await insert_events(session, claim.stream, unstored)
        if unstored:
            publisher.stored = unstored[-1].id  # ids are positions: record n is records[n - 1]
    return cancel_requested


async def store_events_every(
    interval: float,
    database: Database,
    claim: Claim,
    publisher: StreamPublisher,
    *,
    on_lost: Callable[[], object],
) -> None:
    """Store the events published since the last store, every ``interval`` s, until cancelled:
    what a reader replays from if the event log lost them (the lease is the keeper's business).
    ``on_lost`` is called, and the loop ends, when the claim went to another attempt."""
    while True:
        await asyncio.sleep(interval)
        if not publisher.unstored():
            continue
        try:
            await save_progress(database, claim, publisher, {})
        except ClaimLost:
            on_lost()
            return
        except Exception as exc:  # the database is away: the next store takes them all
            logger.warning("%s: storing events failed (%s)", claim.stream, exc)


async def hand_back(database: Database, claim: Claim) -> bool:
    """Give the claimed row back to the queue (a draining worker); True if it was still ours."""
    values = {
        "status": "queued",
        "worker_id": None,
        "lease_expires_at": None,
        "queued_at": utcnow(),
    }
    try:
        async with database.transaction() as session:
            await Claims.write(session, claim, values)
    except ClaimLost:
        return False
    return True


async def stream_history(
    database: Database, log: EventLog, claim: Claim, *, stored: int | None = None
) -> list[EventRecord]:
    """Every event the stream has so far, for an attempt that continues it: claims the stream in
    the event log (fencing out the previous writer) and fills in from the database what the log
    no longer holds (it expired, or Redis restarted). ``stored`` is how many events the row says
    the database has, when the caller knows (None: look).

    A round's first attempt with nothing stored has no history and no earlier writer to fence
    out: its first append claims the stream (a newer token always does), which saves a round
    trip to the event log on the path to the round's first token."""
    if claim.attempt == 1 and stored == 0:
        return []
    in_log = await log.claim_stream(claim.stream, claim.token)
    first_in_log = in_log[0].id if in_log else None
    if first_in_log == 1 or (stored == 0 and not in_log):
        return in_log  # all in the log, or a new stream: nothing to read from the database
    upto = (first_in_log - 1) if first_in_log is not None else None
    from_db = [
        record
        for record in await stored_events(database, claim.stream, 0)
        if upto is None or record.id <= upto
    ]
    history = from_db + [record for record in in_log if not from_db or record.id > from_db[-1].id]
    expected = 1
    for record in history:  # keep the contiguous prefix: ids must increase by one
        if record.id != expected:
            return history[: expected - 1]
        expected += 1
    return history
