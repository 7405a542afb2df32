"""Cancel requests and watcher counts on Redis, for rounds that run in other processes.

A cancel is published on one channel that every worker listens to (one pub/sub connection per
worker process); the worker that runs the round acts on it, the others ignore it. A message is
not durable, so the request is also kept in the database (``rounds.cancel_requested``), which a
worker reads when it claims a round and at every heartbeat: a cancel is never lost, only at
worst a heartbeat late.

Watchers are counted in one key per round (``INCRBY``), so "no client is left" holds across
every API process, not just the one a client happened to leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..execution.ports import CancelHandler

logger = logging.getLogger(__name__)

WATCHERS_TTL_SECONDS = 86_400


class RedisSignals:
    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.channel = f"{prefix}:cancel"
        self._closed = asyncio.Event()

    async def cancel(self, round_id: str, reason: str) -> None:
        try:
            await self.client.publish(self.channel, f"{round_id}\t{reason}")
        except RedisError as exc:  # the database keeps the request; heartbeats will see it
            logger.warning("could not publish the cancel of %s (%s)", round_id, exc)

    async def listen(self, handler: CancelHandler) -> None:
        backoff = 0.1
        while not self._closed.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                backoff = 0.1
                while not self._closed.is_set():
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    data = message["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    round_id, _, reason = text.partition("\t")
                    handler(round_id, reason)
            except (RedisError, OSError) as exc:
                logger.warning("cancel listener: Redis failed (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def watch(self, round_id: str, delta: int) -> int:
        key = f"{self.prefix}:watchers:{round_id}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incrby(key, delta)
                pipe.expire(key, WATCHERS_TTL_SECONDS)
                count, _ = await pipe.execute()
        except RedisError as exc:
            logger.warning("could not count the watchers of %s (%s)", round_id, exc)
            return 1  # unknown: never cancel a round for want of a count
        return max(0, int(count))

    async def close(self) -> None:
        self._closed.set()
