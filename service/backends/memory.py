"""The in-process backends: one process runs the API and the rounds (the embedded default).

Everything here lives in the process's memory; what must outlast it is in the database
(rounds, their claims and checkpoints, events, traces), exactly as in the distributed mode.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ..execution.ports import CancelHandler, Job, JobHandler, StaleWriter
from ..records import EventBatch, EventRecord

logger = logging.getLogger(__name__)

RETIRED_KEPT = 10_000
"""How many retired stream names the log remembers, so that a reader arriving after the end
is sent to the database at once (an older one waits for its reader's database poll)."""


@dataclass
class _Stream:
    records: list[EventRecord] = field(default_factory=list)
    token: int = 0
    retired: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


def _after(records: list[EventRecord], after: int) -> list[EventRecord]:
    return records[bisect.bisect_right(records, after, key=lambda record: record.id) :]


class MemoryEventLog:
    """Streams as lists in memory; readers wait on an :class:`asyncio.Event` per stream.

    A reader may come before its stream: a client's ``POST /api/rounds`` follows the round as
    soon as it is queued, before a worker task has claimed it. Its tail then waits for the stream
    to be created (as ``XREAD BLOCK`` waits for a key in Redis) rather than ending at once and
    making the reader poll."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._retired: OrderedDict[str, None] = OrderedDict()
        self._created = asyncio.Event()
        self._closed = False

    def _state(self, stream: str) -> _Stream:
        state = self._streams.get(stream)
        if state is None:
            state = self._streams[stream] = _Stream()
            self._retired.pop(stream, None)
            created, self._created = self._created, asyncio.Event()
            created.set()
        return state

    async def claim_stream(self, stream: str, token: int) -> list[EventRecord]:
        state = self._state(stream)
        if token < state.token:
            raise StaleWriter(f"{stream}: fencing token {token} is older than {state.token}")
        state.token = token
        return list(state.records)

    async def append(self, stream: str, records: list[EventRecord], *, token: int) -> None:
        state = self._state(stream)
        if token < state.token:
            raise StaleWriter(f"{stream}: fencing token {token} is older than {state.token}")
        state.token = token
        top = state.records[-1].id if state.records else 0
        fresh = [record for record in records if record.id > top]
        if fresh:
            state.records.extend(fresh)
            state.wake()

    async def read(self, stream: str, after: int) -> list[EventRecord]:
        state = self._streams.get(stream)
        if state is None:
            return []
        return _after(state.records, after)

    async def tail(self, stream: str, after: int) -> AsyncIterator[EventBatch]:
        state = self._streams.get(stream)
        while state is None:  # not written yet, or retired
            if stream in self._retired or self._closed:
                return  # the round is stored: the database has it
            created = self._created
            await created.wait()
            state = self._streams.get(stream)
        position = after
        while True:
            changed = state.changed
            batch = _after(state.records, position)
            if batch:
                position = batch[-1].id
                yield batch
                continue
            if state.retired:
                return
            await changed.wait()

    async def retire(self, stream: str) -> None:
        state = self._streams.pop(stream, None)
        self._retired[stream] = None
        while len(self._retired) > RETIRED_KEPT:
            self._retired.popitem(last=False)
        if state is not None:
            state.retired = True
            state.wake()

    async def close(self) -> None:
        for state in self._streams.values():
            state.retired = True
            state.wake()
        self._streams.clear()
        self._closed = True
        self._created.set()  # readers waiting for a stream end


class MemoryQueue:
    """An :class:`asyncio.Queue` of jobs, consumed by tasks of this same process."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._waiting: set[Job] = set()
        self._stopped = asyncio.Event()

    async def submit(self, job: Job) -> None:
        if job in self._waiting:
            return
        self._waiting.add(job)
        self._queue.put_nowait(job)

    async def depth(self) -> int:
        return self._queue.qsize()

    async def consume(self, handler: JobHandler, *, concurrency: int) -> None:
        async def lane() -> None:
            while not self._stopped.is_set():
                getter = asyncio.ensure_future(self._queue.get())
                stopped = asyncio.ensure_future(self._stopped.wait())
                done, _ = await asyncio.wait({getter, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
                    return
                stopped.cancel()
                job = getter.result()
                self._waiting.discard(job)
                try:
                    await handler(job)
                except Exception:  # a handler's failure is its own; the lane goes on
                    logger.exception("job %s %s failed", job.kind, job.id)

        await asyncio.gather(*(lane() for _ in range(concurrency)))

    async def stop(self) -> None:
        self._stopped.set()

    async def close(self) -> None:
        self._stopped.set()


class MemorySignals:
    """Cancel requests and watcher counts within this process."""

    def __init__(self) -> None:
        self._handlers: list[CancelHandler] = []
        self._watchers: dict[str, int] = defaultdict(int)
        self._closed = asyncio.Event()

    async def cancel(self, round_id: str, reason: str) -> None:
        for handler in list(self._handlers):
            handler(round_id, reason)

    async def listen(self, handler: CancelHandler) -> None:
        self._handlers.append(handler)
        try:
            await self._closed.wait()
        finally:
            self._handlers.remove(handler)

    async def watch(self, round_id: str, delta: int) -> int:
        count = max(0, self._watchers[round_id] + delta)
        if count:
            self._watchers[round_id] = count
        else:
            self._watchers.pop(round_id, None)
        return count

    async def close(self) -> None:
        self._closed.set()
