"""The event log on Redis Streams: one stream per round (or comparison), ids of our own.

Each event is an entry whose id is ``<event id>-0``, so a client's ``Last-Event-ID: N`` is
``XRANGE key (N-0 +`` and a retried append cannot duplicate an event (Redis refuses an id at or
below the stream's top; the append script skips those). Appends go through one Lua script that
first checks the stream's fencing key: a worker whose claim was taken over holds an older token
and is refused (:class:`StaleWriter`), whatever it still believes.

Reading live is :class:`StreamHub`'s job: one blocking ``XREAD`` per API process over every
stream that has a local reader, fanned out to bounded per-reader queues — not one blocking
connection per SSE client. A reader too slow to keep up loses its stream (it reconnects with
``Last-Event-ID`` and replays, cheaply); the hub never waits for it.

The database stays the truth: a stream lives while its round runs (a sliding TTL cleans up
after a worker that vanished) and for ``retired_ttl`` seconds after the round is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ..execution.ports import StaleWriter
from ..records import EventBatch, EventRecord

logger = logging.getLogger(__name__)

STALE = "STALE"

# KEYS: stream, fence.  ARGV: token, ttl, then (id, type, json, interrupt) per record.
_APPEND = """
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = tonumber(ARGV[1])
if token < current then
  return redis.error_reply('STALE fencing token ' .. token .. ' < ' .. current)
end
if token > current then
  redis.call('SET', KEYS[2], token, 'EX', ARGV[2])
end
local top = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  top = tonumber(string.match(last[1][1], '^(%d+)'))
end
local added = 0
for i = 3, #ARGV, 4 do
  local id = tonumber(ARGV[i])
  if id > top then
    redis.call('XADD', KEYS[1], id .. '-0', 't', ARGV[i + 1], 'd', ARGV[i + 2], 'x', ARGV[i + 3])
    top = id
    added = added + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return added
"""

# KEYS: fence.  ARGV: token, ttl.
_CLAIM = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local token = tonumber(ARGV[1])
if token < current then
  return redis.error_reply('STALE fencing token ' .. token .. ' < ' .. current)
end
redis.call('SET', KEYS[1], token, 'EX', ARGV[2])
return current
"""


def _record(entry_id: Any, fields: Any) -> EventRecord:
    return EventRecord(
        id=int(entry_id.split(b"-", 1)[0]),
        type=fields[b"t"].decode(),
        json=fields[b"d"].decode(),
        interrupt=fields.get(b"x") == b"1",
    )


def _stale(exc: ResponseError) -> bool:
    return str(exc).startswith(STALE)


class RedisEventLog:
    def __init__(
        self,
        client: Redis,
        hub: StreamHub,
        *,
        prefix: str,
        live_ttl: int = 86_400,
        retired_ttl: int = 300,
    ) -> None:
        self.client = client
        self.hub = hub
        self.prefix = prefix
        self.live_ttl = live_ttl
        self.retired_ttl = retired_ttl
        self._append = client.register_script(_APPEND)
        self._claim = client.register_script(_CLAIM)

    def key(self, stream: str) -> str:
        return f"{self.prefix}:stream:{stream}"

    def _fence(self, stream: str) -> str:
        return f"{self.prefix}:fence:{stream}"

    async def claim_stream(self, stream: str, token: int) -> list[EventRecord]:
        try:
            await self._claim(keys=[self._fence(stream)], args=[token, self.live_ttl])
        except ResponseError as exc:
            if _stale(exc):
                raise StaleWriter(f"{stream}: {exc}") from exc
            raise
        return await self.read(stream, 0)

    async def append(self, stream: str, records: list[EventRecord], *, token: int) -> None:
        if not records:
            return
        args: list[Any] = [token, self.live_ttl]
        for record in records:
            args += [record.id, record.type, record.json, "1" if record.interrupt else "0"]
        try:
            await self._append(keys=[self.key(stream), self._fence(stream)], args=args)
        except ResponseError as exc:
            if _stale(exc):
                raise StaleWriter(f"{stream}: {exc}") from exc
            raise

    async def read(self, stream: str, after: int) -> list[EventRecord]:
        records: list[EventRecord] = []
        start = f"({after}-0" if after > 0 else "-"
        while True:
            entries: Any = await self.client.xrange(self.key(stream), start, "+", count=1000)
            records += [_record(entry_id, fields) for entry_id, fields in entries]
            if len(entries) < 1000:
                return records
            start = f"({records[-1].id}-0"

    async def tail(self, stream: str, after: int) -> AsyncIterator[EventBatch]:
        replay = await self.read(stream, after)
        if replay:
            after = replay[-1].id
            yield replay
        async for batch in self.hub.follow(self.key(stream), after):
            yield batch

    async def retire(self, stream: str) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.expire(self.key(stream), self.retired_ttl)
            pipe.expire(self._fence(stream), self.retired_ttl)
            await pipe.execute()

    async def close(self) -> None:
        await self.hub.close()


class ReaderTooSlow(Exception):
    """A reader's queue filled up: it is dropped, and may re-attach with ``Last-Event-ID``."""


@dataclass(eq=False)
class _Reader:
    key: str
    position: int
    queue: asyncio.Queue[EventBatch | ReaderTooSlow] = field(
        default_factory=lambda: asyncio.Queue(maxsize=256)
    )


class StreamHub:
    """One blocking ``XREAD`` loop per process, shared by every reader in it.

    The loop reads all streams that have readers, from the lowest position any reader of each
    needs, and hands every reader the entries it has not seen. A new reader wakes the loop
    through the hub's own control stream, so it never waits out a ``BLOCK``.
    """

    BLOCK_MS = 5_000
    COUNT = 500

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.client = client  # a dedicated connection: socket timeout above BLOCK_MS
        self._control = f"{prefix}:hub:{uuid.uuid4().hex}"
        self._control_position = "0-0"
        self._readers: dict[str, set[_Reader]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake_client: Redis | None = None
        self._has_readers = asyncio.Event()

    @property
    def reader_count(self) -> int:
        return sum(len(readers) for readers in self._readers.values())

    def use_for_wakeups(self, client: Redis) -> None:
        """The pooled client that adds wake-up entries (never the blocking one)."""
        self._wake_client = client

    async def follow(self, key: str, after: int) -> AsyncIterator[EventBatch]:
        reader = _Reader(key, after)
        self._readers.setdefault(key, set()).add(reader)
        self._has_readers.set()
        self._ensure_running()
        await self._wake()
        try:
            while True:
                item = await reader.queue.get()
                if isinstance(item, ReaderTooSlow):
                    raise item
                yield item
        finally:
            readers = self._readers.get(key)
            if readers is not None:
                readers.discard(reader)
                if not readers:
                    del self._readers[key]

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="redis stream hub")

    async def _wake(self) -> None:
        client = self._wake_client or self.client
        with contextlib.suppress(RedisError):
            await client.xadd(self._control, {"w": "1"}, maxlen=16, approximate=True)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            if not self._readers:
                self._has_readers.clear()
                await self._has_readers.wait()
            streams: dict[Any, Any] = {self._control: self._control_position}
            for key, readers in self._readers.items():
                streams[key] = f"{min(reader.position for reader in readers)}-0"
            try:
                answer = await self.client.xread(streams, count=self.COUNT, block=self.BLOCK_MS)
            except (RedisError, OSError) as exc:
                logger.warning("stream hub: Redis read failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            self._dispatch(answer or [])

    def _dispatch(self, answer: Any) -> None:
        items = answer.items() if isinstance(answer, dict) else answer
        for raw_key, entries in items:
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            if isinstance(entries, list) and entries and isinstance(entries[0], list):
                entries = entries[0]  # RESP3 wraps the entries once more
            if key == self._control:
                if entries:
                    last = entries[-1][0]
                    self._control_position = last.decode() if isinstance(last, bytes) else last
                continue
            records = [_record(entry_id, fields) for entry_id, fields in entries]
            for reader in list(self._readers.get(key, ())):
                fresh = [record for record in records if record.id > reader.position]
                if not fresh:
                    continue
                reader.position = fresh[-1].id
                try:
                    reader.queue.put_nowait(fresh)
                except asyncio.QueueFull:
                    self._drop(reader)

    def _drop(self, reader: _Reader) -> None:
        readers = self._readers.get(reader.key)
        if readers is not None:
            readers.discard(reader)
            if not readers:
                del self._readers[reader.key]
        with contextlib.suppress(asyncio.QueueEmpty):
            reader.queue.get_nowait()
        reader.queue.put_nowait(ReaderTooSlow(f"{reader.key}: reader fell behind"))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(RedisError, OSError):
            await (self._wake_client or self.client).delete(self._control)
        await self.client.aclose()
