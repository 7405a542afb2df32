"""The backends a process runs on, picked once at start-up from the settings.

No Redis URL: everything live stays in this process (:mod:`.memory`) — the embedded default,
where ``quizrelay serve`` is the API and the worker at once. With ``QUIZRELAY_REDIS_URL``: the
event log on Redis Streams, cancel signals and watcher counts on Redis, the queue on SAQ, the
rate limiter's counters on Redis — so any number of API and worker processes share the work.
Nothing outside this module asks which set is in use.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import BlockingConnectionPool, Redis

from ..execution.ports import EventLog, RoundQueue, Signals
from ..settings import Settings
from .memory import MemoryEventLog, MemoryQueue, MemorySignals

REDIS_SOCKET_TIMEOUT = 10.0
"""Seconds before a Redis read gives up: above every blocking read (hub 5 s, dequeue 5 s)."""


@dataclass
class Backends:
    kind: str
    """``memory`` or ``redis``."""
    log: EventLog
    queue: RoundQueue
    signals: Signals
    limiter: MovingWindowRateLimiter
    shared: bool
    """True when other processes share the work (an API may then run without a worker)."""
    redis: Redis | None = None

    async def ping(self) -> None:
        """Raise if the live backends cannot be reached (``/readyz``)."""
        if self.redis is not None:
            await self.redis.ping()

    async def close(self) -> None:
        for part in (self.queue, self.signals, self.log):
            with contextlib.suppress(Exception):
                await part.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()


QUEUE_SPARE_CONNECTIONS = 20
"""Connections the queue's client keeps beyond one per worker slot (enqueues, upkeep, aborts)."""


def build_backends(settings: Settings, *, concurrency: int | None = None) -> Backends:
    """``concurrency``: the rounds this process's worker plays at once (None: it plays none).
    Each slot blocks one of the queue's Redis connections while it waits for a job, and each
    running round may hold a command connection while it appends: with only
    ``QUIZRELAY_REDIS_POOL_SIZE`` (20) for 100 rounds, appends and claims waited past the pool's
    5 s under overload, so a worker's command pool has a connection per slot on top."""
    if settings.redis_url is None:
        storage = storage_from_string("async+memory://")
        return Backends(
            kind="memory",
            log=MemoryEventLog(),
            queue=MemoryQueue(),
            signals=MemorySignals(),
            limiter=MovingWindowRateLimiter(storage),
            shared=False,
        )
    from .redis_events import RedisEventLog, StreamHub
    from .redis_signals import RedisSignals
    from .saq_queue import SaqQueue

    url = settings.redis_url
    prefix = settings.redis_prefix
    name = f"{prefix}:{os.getpid()}"  # CLIENT LIST shows which process holds a connection
    pool = BlockingConnectionPool.from_url(  # a bounded pool: callers wait for a connection
        url,
        max_connections=settings.redis_pool_size + (concurrency or 0),
        timeout=5,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=5,
        health_check_interval=15,
        client_name=name,
    )
    client = Redis(connection_pool=pool)
    hub_client = Redis.from_url(
        url,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=5,
        max_connections=1,
        client_name=f"{name}:hub",
    )
    hub = StreamHub(hub_client, prefix=prefix)
    hub.use_for_wakeups(client)
    slots = concurrency or settings.worker_concurrency
    queue_client = Redis.from_url(  # SAQ's own: each worker slot blocks one connection
        url,
        max_connections=slots + QUEUE_SPARE_CONNECTIONS,  # redis-py's own default is 100
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=5,
        client_name=f"{name}:queue",
    )
    storage = storage_from_string(
        url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1),
        implementation="redispy",
        key_prefix=f"{prefix}:limits",
    )
    backends = Backends(
        kind="redis",
        log=RedisEventLog(client, hub, prefix=prefix, retired_ttl=settings.stream_ttl),
        queue=SaqQueue(
            queue_client,
            prefix=prefix,
            timeouts={
                "round": int(settings.round_timeout + 120),
                "comparison": 7 * 24 * 3600,
            },
        ),
        signals=RedisSignals(client, prefix=prefix),
        limiter=MovingWindowRateLimiter(storage),
        shared=True,
    )
    backends.redis = client
    return backends
