"""One contract per port, run against both implementations: the in-process one and the one on
the real servers (Redis; PostgreSQL for claims). The two modes cannot drift apart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ag_ui.core import CustomEvent
from redis.asyncio import Redis

from quizrelay.backends.memory import MemoryEventLog, MemoryQueue
from quizrelay.backends.redis_events import RedisEventLog, StreamHub
from quizrelay.backends.saq_queue import SaqQueue
from quizrelay.execution.claims import ClaimLost, Claims
from quizrelay.execution.leases import LeaseKeeper
from quizrelay.execution.ports import EventLog, Job, RoundQueue, StaleWriter
from quizrelay.execution.progress import save_progress
from quizrelay.execution.publisher import StreamPublisher
from quizrelay.execution.sweeper import Sweeper
from quizrelay.records import EventRecord
from quizrelay.storage.db import Database
from quizrelay.storage.rounds import NewRound, RoundStore
from quizrelay.storage.streams import stored_events
from quizrelay.storage.tables import utcnow
from quizrelay.storage.traces import TraceStore
from tests.support.engines import redis_url


def records(first: int, last: int) -> list[EventRecord]:
    return [EventRecord(i, "CUSTOM", f'{{"n":{i}}}') for i in range(first, last + 1)]


@pytest.fixture(params=["memory", "redis"])
async def event_log(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[EventLog]:
    if request.param == "memory":
        log: EventLog = MemoryEventLog()
    else:
        client = Redis.from_url(redis_url(), socket_timeout=10)
        hub = StreamHub(Redis.from_url(redis_url(), socket_timeout=10), prefix=prefix)
        hub.use_for_wakeups(client)
        log = RedisEventLog(client, hub, prefix=prefix, retired_ttl=5)
    yield log
    await log.close()


async def test_appends_are_ordered_idempotent_and_replayable(event_log: EventLog) -> None:
    assert await event_log.claim_stream("round:a", 1) == []
    await event_log.append("round:a", records(1, 3), token=1)
    await event_log.append("round:a", records(2, 5), token=1)  # a retried write: 2 and 3 again
    assert [r.id for r in await event_log.read("round:a", 0)] == [1, 2, 3, 4, 5]
    assert [r.json for r in await event_log.read("round:a", 3)] == ['{"n":4}', '{"n":5}']
    assert await event_log.read("round:unknown", 0) == []


async def test_a_stale_writer_is_refused(event_log: EventLog) -> None:
    await event_log.claim_stream("round:f", 1)
    await event_log.append("round:f", records(1, 2), token=1)
    history = await event_log.claim_stream("round:f", 2)  # another worker takes the round over
    assert [r.id for r in history] == [1, 2]
    with pytest.raises(StaleWriter):
        await event_log.append("round:f", records(3, 3), token=1)
    await event_log.append("round:f", records(3, 3), token=2)
    assert [r.id for r in await event_log.read("round:f", 0)] == [1, 2, 3]


async def test_tail_replays_then_follows_live(event_log: EventLog) -> None:
    await event_log.claim_stream("round:t", 1)
    await event_log.append("round:t", records(1, 2), token=1)
    seen: list[int] = []

    async def read() -> None:
        async for batch in event_log.tail("round:t", 1):
            seen.extend(r.id for r in batch)
            if seen[-1] >= 6:
                return

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.1)
    for n in (3, 4, 5, 6):
        await event_log.append("round:t", records(n, n), token=1)
        await asyncio.sleep(0.02)
    await asyncio.wait_for(reader, 10)
    assert seen == [2, 3, 4, 5, 6]


async def test_a_tail_that_starts_before_its_stream_gets_the_first_event_at_once(
    event_log: EventLog,
) -> None:
    """A client follows its round as soon as it is queued, before a worker wrote anything: its
    tail must wait for the stream, not end (the follower would poll, and hold the start back)."""
    first = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async for batch in event_log.tail("round:early", 0):
            first.set_result((batch[0].id, asyncio.get_running_loop().time()))
            return

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.2)
    assert not reader.done()
    await event_log.claim_stream("round:early", 1)
    written = asyncio.get_running_loop().time()
    await event_log.append("round:early", records(1, 1), token=1)
    event_id, seen = await asyncio.wait_for(first, 5)
    assert event_id == 1 and seen - written < 0.1


async def test_a_tail_of_a_retired_stream_in_memory_ends() -> None:
    log = MemoryEventLog()
    await log.claim_stream("round:done", 1)
    await log.append("round:done", records(1, 2), token=1)
    await log.retire("round:done")
    batches = [batch async for batch in log.tail("round:done", 0)]  # the database has it now
    assert batches == []


@pytest.fixture(params=["memory", "saq"])
async def queue(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[RoundQueue]:
    if request.param == "memory":
        q: RoundQueue = MemoryQueue()
    else:
        q = SaqQueue(
            Redis.from_url(redis_url(), socket_timeout=10),
            prefix=prefix,
            timeouts={"round": 60, "comparison": 60},
        )
    yield q
    await q.close()


async def test_a_waiting_job_is_not_doubled_but_a_new_generation_is_delivered(
    queue: RoundQueue,
) -> None:
    await queue.submit(Job("round", "r1", 0))
    await queue.submit(Job("round", "r1", 0))  # the same wake-up again: dropped
    await queue.submit(Job("round", "r1", 1))  # a later attempt's: kept
    assert await queue.depth() == 2
    got: list[Job] = []

    async def handle(job: Job) -> None:
        got.append(job)

    consumer = asyncio.create_task(queue.consume(handle, concurrency=2))
    for _ in range(100):
        if len(got) == 2:
            break
        await asyncio.sleep(0.05)
    await queue.stop()
    consumer.cancel()
    assert sorted(got, key=lambda job: job.generation) == [
        Job("round", "r1", 0),
        Job("round", "r1", 1),
    ]


async def test_claims_fence_a_stale_worker_on_postgres(pg_url: str) -> None:
    database = Database(pg_url)
    await database.migrate()
    store = RoundStore(database)
    await store.create_round(
        NewRound(
            id="r_pg", game_id="g_pg", pipeline="chat", mode="ai", model="m", category="c",
            difficulty="easy", seed=1, question_source="dataset", trace_id="t",
        )
    )  # fmt: skip
    first = Claims(database, worker_id="w1", lease_seconds=0.2)
    claim = await first.acquire(Job("round", "r_pg"))
    assert claim is not None and (claim.attempt, claim.token) == (1, 1)
    assert await first.acquire(Job("round", "r_pg")) is None  # claimed once only
    await asyncio.sleep(0.4)  # the lease runs out: the worker is gone, as far as anyone knows
    queue = MemoryQueue()
    report = await Sweeper(database, queue, interval=1, max_attempts=3, requeue_after=60).sweep()
    queued = [await queue._queue.get()]
    assert report.resumed == 1 and queued == [Job("round", "r_pg", 1)]
    second = await Claims(database, worker_id="w2", lease_seconds=30).acquire(queued[0])
    assert second is not None and (second.attempt, second.token) == (2, 2)
    with pytest.raises(ClaimLost):
        await save_progress(
            database, claim, StreamPublisher(MemoryEventLog(), claim.stream, token=claim.token), {}
        )
    lost: list[str] = []
    keeper = LeaseKeeper(database, worker_id="w1", lease_seconds=30, interval=1)
    keeper.hold(claim, on_lost=lambda: lost.append("lost"), on_cancel=lost.append)
    await keeper.renew()
    assert lost == ["lost"]
    row = await store.get("r_pg")
    assert row is not None and row.worker_id == "w2" and row.status == "running"
    await database.close()


def _new(round_id: str) -> NewRound:
    return NewRound(
        id=round_id, game_id="g", pipeline="chat", mode="ai", model="m", category="c",
        difficulty="easy", seed=1, question_source="dataset", trace_id="t",
    )  # fmt: skip


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_one_renewal_keeps_every_claim_of_a_worker_and_reports_lost_and_cancelled(
    engine: str, pg_url: str, tmp_path: Path
) -> None:
    url = pg_url if engine == "postgres" else f"sqlite:///{tmp_path / 'q.db'}"
    database = Database(url)
    await database.migrate()
    store = RoundStore(database)
    for round_id in ("r_kept", "r_taken", "r_cncl", "r_other"):
        await store.create_round(_new(round_id))
    mine = Claims(database, worker_id="w1", lease_seconds=1)
    claims = {rid: await mine.acquire(Job("round", rid)) for rid in ("r_kept", "r_taken", "r_cncl")}
    other = await Claims(database, worker_id="w2", lease_seconds=1).acquire(Job("round", "r_other"))
    assert other is not None and all(claims.values())
    # r_taken goes to another attempt (as after a sweep); r_cancelled gets a cancel request.
    async with database.transaction() as session:
        await Claims.write(session, claims["r_taken"], {"status": "queued"})  # type: ignore[arg-type]
    assert await Claims(database, worker_id="w2", lease_seconds=1).acquire(Job("round", "r_taken"))
    await store.request_cancel("r_cncl", "the player left")

    async def leases() -> dict[str, Any]:
        rows = [await store.get(rid) for rid in (*claims, "r_other")]
        return {row.id: row.lease_expires_at for row in rows if row is not None}

    before = await leases()
    events: list[tuple[str, str]] = []
    keeper = LeaseKeeper(database, worker_id="w1", lease_seconds=600, interval=1)
    for rid, claim in claims.items():
        assert claim is not None
        keeper.hold(
            claim,
            on_lost=lambda rid=rid: events.append((rid, "lost")),  # type: ignore[misc]
            on_cancel=lambda reason, rid=rid: events.append((rid, reason)),  # type: ignore[misc]
        )
    await keeper.renew()
    assert sorted(events) == [("r_cncl", "cancelled: the player left"), ("r_taken", "lost")]
    assert keeper.held() == 2  # the lost one is let go; the cancelled one ends by itself
    after = await leases()
    assert after["r_kept"] > before["r_kept"] and after["r_cncl"] > before["r_cncl"]
    assert after["r_taken"] == before["r_taken"] and after["r_other"] == before["r_other"]
    # An ending attempt is still renewed (its trace and final store may take a while), and the
    # row it then finishes is not taken for a lost claim.
    ending = claims["r_cncl"]
    assert ending is not None
    keeper.ending(ending)
    await asyncio.sleep(0.01)
    await keeper.renew()
    assert (await leases())["r_cncl"] > after["r_cncl"]
    async with database.transaction() as session:
        await Claims.write(session, ending, {"status": "completed", "lease_expires_at": None})
    events.clear()
    await keeper.renew()
    assert events == [] and keeper.held() == 1
    # A released claim is not renewed any more.
    kept = (await leases())["r_kept"]
    keeper.release(claims["r_kept"])  # type: ignore[arg-type]
    await keeper.renew()
    assert (await leases())["r_kept"] == kept
    assert keeper.held() == 0
    await database.close()


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_a_heartbeat_and_a_checkpoint_at_once_store_each_event_once(
    engine: str, pg_url: str, tmp_path: Path
) -> None:
    """Both write the events the database does not have yet: run together, they must not both
    insert the same ones (seen on llama-server: a UNIQUE violation failed the heartbeat)."""
    url = pg_url if engine == "postgres" else f"sqlite:///{tmp_path / 'q.db'}"
    database = Database(url)
    await database.migrate()
    await RoundStore(database).create_round(
        NewRound(
            id="r_both", game_id="g", pipeline="chat", mode="ai", model="m", category="c",
            difficulty="easy", seed=1, question_source="dataset", trace_id="t",
        )
    )  # fmt: skip
    claim = await Claims(database, worker_id="w", lease_seconds=30).acquire(Job("round", "r_both"))
    assert claim is not None
    publisher = StreamPublisher(MemoryEventLog(), claim.stream, token=claim.token)
    for n in range(20):
        publisher.publish(CustomEvent(name="n", value=n))
    await asyncio.gather(
        *(save_progress(database, claim, publisher, {})
          for _ in range(3)),
        save_progress(database, claim, publisher, {"checkpoint": {"step": "Answerer"}}),
    )  # fmt: skip
    stored = await stored_events(database, claim.stream, 0)
    assert [r.id for r in stored] == list(range(1, 21))
    # A save whose commit landed but whose caller never heard (a heartbeat cancelled during the
    # commit) leaves the publisher thinking the events are unstored: writing them again is fine.
    publisher.stored = 10
    publisher.publish(CustomEvent(name="n", value=20))
    await save_progress(database, claim, publisher, {})
    stored = await stored_events(database, claim.stream, 0)
    assert [r.id for r in stored] == list(range(1, 22))
    await publisher.close()
    await database.close()


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_a_trace_opened_again_keeps_its_first_row(
    engine: str, pg_url: str, tmp_path: Path
) -> None:
    """A resumed round opens its trace again — in the same batch, or on another worker at the
    same time: the trace row is written once, never a duplicate-key failure."""
    url = pg_url if engine == "postgres" else f"sqlite:///{tmp_path / 'q.db'}"
    database = Database(url)
    await database.migrate()
    traces = TraceStore(database)

    def opened(attempt: int) -> dict[str, object]:
        return {"id": "trace_again", "workflow_name": "quiz round", "group_id": "g",
                "round_id": "r", "pipeline": "chat", "owner": None,
                "trace_metadata": {"attempt": attempt}, "started_at": utcnow()}  # fmt: skip

    await traces.write_batch([opened(1), opened(2)], [], [])
    await asyncio.gather(*(traces.write_batch([opened(n)], [], []) for n in (3, 4)))
    row = await traces.get_trace("trace_again")
    assert row is not None and row.trace_metadata == {"attempt": 1}
    await database.close()


async def test_the_queue_has_a_redis_connection_for_every_worker_slot(prefix: str) -> None:
    """Each of a worker's slots blocks one of the queue client's connections while it waits for
    a job: at ``--concurrency 120`` that is more than redis-py's default pool of 100 (seen in
    the distributed benchmark as SAQ's upkeep failing with MaxConnectionsError)."""
    from quizrelay.backends import build_backends
    from quizrelay.settings import Settings

    settings = Settings(redis_url=redis_url(), redis_prefix=prefix, llm_base_url="http://x/v1",
                        model="m", database_url="sqlite:///unused.db")  # fmt: skip
    backends = build_backends(settings, concurrency=120)
    queue = backends.queue
    assert isinstance(queue, SaqQueue)
    client = queue.queue.redis
    waiting = [client.blpop([f"{prefix}:nothing"], timeout=1) for _ in range(125)]
    assert await asyncio.gather(*waiting) == [None] * 125
    await backends.close()


async def test_a_worker_has_a_redis_command_connection_for_every_round_it_plays(
    prefix: str,
) -> None:
    """100 rounds appending at once on a worker whose command pool had only the API's 20 waited
    past the pool's 5 s under overload ('No connection available': appends retried, claims
    failed). A worker's pool has one more per slot; an API process keeps the configured 20."""
    from quizrelay.backends import build_backends
    from quizrelay.settings import Settings

    settings = Settings(redis_url=redis_url(), redis_prefix=prefix, llm_base_url="http://x/v1",
                        model="m", database_url="sqlite:///unused.db")  # fmt: skip
    worker = build_backends(settings, concurrency=100)
    assert worker.redis is not None
    held = [await worker.redis.connection_pool.get_connection() for _ in range(110)]
    started = asyncio.get_running_loop().time()
    assert await worker.redis.ping()  # one left over: no wait for a connection
    assert asyncio.get_running_loop().time() - started < 1
    for connection in held:
        await worker.redis.connection_pool.release(connection)
    await worker.close()
    api = build_backends(settings)
    assert api.redis is not None
    assert api.redis.connection_pool.max_connections == settings.redis_pool_size
    await api.close()
