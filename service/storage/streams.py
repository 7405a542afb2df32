"""The stored events of every stream (``round:<id>``, ``comparison:<id>``), in order.

Each event's JSON is stored as the publisher encoded it, next to its type, so replaying a
finished round is reading rows and writing them out: nothing is decoded or encoded again.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..records import EventRecord
from .db import Database, insert_new
from .tables import StreamEventRow


def _interrupt(kind: str, payload: str) -> bool:
    if kind != "RUN_FINISHED":
        return False
    outcome = json.loads(payload).get("outcome")
    return isinstance(outcome, dict) and outcome.get("type") == "interrupt"


async def insert_events(session: AsyncSession, stream: str, records: list[EventRecord]) -> None:
    """Store the records; one already stored is left as it is. An event never changes once
    published (its writer holds the stream's fencing token), so a write repeated after its
    confirmation was lost (a cancelled heartbeat, a retried commit) must not fail the round."""
    if records:
        await session.execute(
            insert_new(session, StreamEventRow),
            [{"stream": stream, "seq": r.id, "type": r.type, "data": r.json} for r in records],
        )


async def stored_events(database: Database, stream: str, after: int) -> list[EventRecord]:
    async with database.reading() as session:
        rows = (
            await session.execute(
                select(StreamEventRow.seq, StreamEventRow.type, StreamEventRow.data)
                .where(StreamEventRow.stream == stream, StreamEventRow.seq > after)
                .order_by(StreamEventRow.seq)
            )
        ).all()
    return [EventRecord(seq, kind, data, _interrupt(kind, data)) for seq, kind, data in rows]
