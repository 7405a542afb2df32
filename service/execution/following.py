"""The reading end of a stream: everything after a client's last event id, then live events.

Any API process can follow any stream, whichever worker writes it. The event log serves the
live part; the database fills in whatever the log no longer holds (the stream expired after the
round was stored, or Redis restarted and lost it), so a reader gets every event once and in
order. While a stream is quiet the reader looks at the database every ``poll`` seconds: a round
that ended (or events stored while the event log was away) is noticed without any live event.

Where a reader stops is its :data:`StopRule`:

* ``run`` — after the first ``RUN_FINISHED``/``RUN_ERROR`` (a POST streams one run of a round);
* ``pause`` — at the end, or where a human round waits for its player (a re-attaching client);
* ``end`` — only at the end (a comparison).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

from ..records import EventBatch, EventRecord
from ..storage.db import Database
from ..storage.streams import stored_events
from .ports import EventLog

StopRule = Literal["run", "pause", "end"]

Progress = Callable[[], Awaitable[tuple[bool, int]]]
"""(the stream is finished, how many of its events the database has)."""

_END = object()


def _cut(
    records: list[EventRecord], stop: StopRule, *, last_of_batch: bool
) -> tuple[EventBatch, bool]:
    """The records to send, up to and including the one the rule stops at; and whether it did."""
    for index, record in enumerate(records):
        if stop == "run" and record.ends_run:
            return records[: index + 1], True
        if record.ends_stream:
            return records[: index + 1], True
        if stop == "pause" and record.interrupt and index == len(records) - 1 and last_of_batch:
            return records, True
    return records, False


class _Catcher:
    """Keeps a reader's records contiguous: what the log skipped comes from the database."""

    def __init__(self, database: Database, stream: str, position: int) -> None:
        self.database = database
        self.stream = stream
        self.position = position

    async def fresh(self, records: list[EventRecord]) -> list[EventRecord]:
        records = [record for record in records if record.id > self.position]
        if records and records[0].id > self.position + 1:  # a gap: the log lost these
            stored = await stored_events(self.database, self.stream, self.position)
            records = [r for r in stored if r.id < records[0].id] + records
        contiguous: list[EventRecord] = []
        for record in records:
            if record.id != self.position + len(contiguous) + 1:
                break
            contiguous.append(record)
        return contiguous


async def follow(
    log: EventLog,
    database: Database,
    stream: str,
    after: int,
    *,
    stop: StopRule,
    progress: Progress,
    poll: float = 5.0,
    new: bool = False,
) -> AsyncIterator[EventBatch]:
    """The batches of ``stream`` after ``after``, cut by ``stop``. ``new``: the round was queued
    by the caller a moment ago, so nothing can be stored yet and the catch-up is skipped — the
    live tail from ``after`` has everything (two database reads fewer before a round's first
    event, on the path every new round takes)."""
    catcher = _Catcher(database, stream, after)

    async def send(records: list[EventRecord]) -> tuple[EventBatch, bool]:
        fresh = await catcher.fresh(records)
        batch, done = _cut(fresh, stop, last_of_batch=True)
        if batch:
            catcher.position = batch[-1].id
        return batch, done

    if not new:  # catch up: what the log holds, after what only the database still has
        records = await log.read(stream, after)
        if not records or records[0].id > after + 1:
            stored = await stored_events(database, stream, after)
            records = [r for r in stored if not records or r.id < records[0].id] + records
        batch, done = await send(records)
        if batch:
            yield batch
        if done:
            return
        finished, stored_count = await progress()
        if finished and stored_count <= catcher.position:
            return

    inbox: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for records in log.tail(stream, catcher.position):
                inbox.put_nowait(records)
        except Exception as exc:  # the reader fell behind, or the log failed: end this stream
            inbox.put_nowait(exc)
            return
        inbox.put_nowait(_END)

    pumping = asyncio.create_task(pump(), name=f"follow {stream}")
    try:
        while True:
            try:
                item = await asyncio.wait_for(inbox.get(), poll)
            except TimeoutError:
                item = None
            if isinstance(item, Exception):
                raise item
            if isinstance(item, list):
                batch, done = await send(item)
            else:  # quiet, or the log's tail ended: ask the database
                finished, stored_count = await progress()
                batch, done = [], False
                if stored_count > catcher.position:
                    batch, done = await send(
                        await stored_events(database, stream, catcher.position)
                    )
                elif finished:
                    return
                if item is _END and not finished:
                    await asyncio.sleep(min(poll, 0.5))
                    pumping = asyncio.create_task(pump(), name=f"follow {stream}")
            if batch:
                yield batch
            if done:
                return
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pumping
