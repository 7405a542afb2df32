"""Data: a service killed mid-round resumes the round after a restart (its claim's lease ran
out), and never leaves one that claims to be running; a claimed round's writes are
all-or-nothing and fenced."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from quizrelay.backends.memory import MemoryEventLog
from quizrelay.execution.claims import Claim, ClaimLost, Claims
from quizrelay.execution.leases import LeaseKeeper
from quizrelay.execution.ports import Job
from quizrelay.execution.progress import save_progress
from quizrelay.execution.publisher import StreamPublisher
from quizrelay.records import EventRecord
from quizrelay.storage.db import Database
from quizrelay.storage.rounds import NewRound, RoundStore
from quizrelay.storage.streams import stored_events
from tests.fakes.scripted_openai import ScriptedOpenAIServer, paced_auto_responder
from tests.support.processes import start
from tests.support.sse import parse_sse


def _env(database_url: str, model_url: str) -> dict[str, str]:
    return {
        "QUIZRELAY_DATABASE_URL": database_url,
        "QUIZRELAY_LLM_BASE_URL": model_url,
        "QUIZRELAY_MODEL": "scripted-model",
        "QUIZRELAY_MODEL_PROFILE": "llama-cpp",
        "QUIZRELAY_LEASE_SECONDS": "2",
    }


def test_a_round_killed_mid_way_is_resumed_after_restart(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    with ScriptedOpenAIServer(model="scripted-model") as model_server:
        model_server.responder = paced_auto_responder(first_token_delay=0.2, token_interval=0.1)
        service = start("serve", _env(database_url, model_server.base_url), logs=tmp_path, name="a")
        round_id = None
        try:
            with (
                httpx.Client(timeout=30) as client,
                client.stream(
                    "POST",
                    f"{service.url}/api/rounds",
                    json={"pipeline": "agents", "question": "1+1?", "reference_answer": "2"},
                ) as response,
            ):
                answers = 0
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        round_id = round_id or event.get("runId")
                        if event.get("type") == "CUSTOM" and event["name"] == "answer":
                            answers += 1
                        if answers and event.get("type") == "TOOL_CALL_ARGS":
                            break  # the Judge is in the middle of a model call
            assert httpx.get(f"{service.url}/api/rounds/{round_id}").json()["status"] == "running"
        finally:
            service.kill()  # no clean shutdown: the claim is left to expire

        service = start("serve", _env(database_url, model_server.base_url), logs=tmp_path, name="b")
        try:
            with httpx.Client(timeout=60) as client:
                text = client.get(f"{service.url}/api/rounds/{round_id}/events").text
            events, _ = parse_sse(text.split("\n"))
            assert [e.id for e in events] == list(range(1, len(events) + 1))  # none twice, no gap
            resumed = [e.data["value"] for e in events if e.name == "resumed"]
            assert resumed and resumed[0]["attempt"] == 2 and resumed[0]["step"] == "Judge"
            assert events[-1].type == "RUN_FINISHED"
            assert [e.type for e in events].count("RUN_STARTED") == 1  # one run, resumed
            stored = httpx.get(f"{service.url}/api/rounds/{round_id}").json()
            assert stored["status"] == "completed" and stored["verdict"] is not None
            assert stored["attempt"] == 2 and stored["answer"]  # the answer survived the crash
        finally:
            service.terminate()


def _new_round(round_id: str) -> NewRound:
    return NewRound(
        id=round_id,
        game_id="game_tx",
        pipeline="chat",
        mode="ai",
        model="m",
        category="c",
        difficulty="easy",
        seed=1,
        question_source="dataset",
        trace_id="trace_tx",
    )


async def _claimed(database: Database, round_id: str) -> tuple[RoundStore, Claims, Claim]:
    await database.migrate()
    store = RoundStore(database)
    await store.create_round(_new_round(round_id))
    claims = Claims(database, worker_id="w1", lease_seconds=30)
    claim = await claims.acquire(Job("round", round_id))
    assert claim is not None and claim.attempt == 1 and claim.token == 1
    return store, claims, claim


def test_a_claimed_rounds_writes_are_all_or_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        database = Database(f"sqlite:///{tmp_path / 'tx.db'}")
        store, _, claim = await _claimed(database, "round_tx")
        publisher = StreamPublisher(MemoryEventLog(), "round:round_tx", token=1)
        # The second event cannot be stored (its JSON is missing: NOT NULL), so the insert fails.
        broken = EventRecord(2, "X", None)  # type: ignore[arg-type]
        publisher.records += [EventRecord(1, "RUN_STARTED", "{}"), broken]
        with pytest.raises(IntegrityError):
            await save_progress(database, claim, publisher, {"status": "completed", "answer": "2"})
        row = await store.get("round_tx")
        assert row is not None and row.status == "running" and row.answer is None
        assert await stored_events(database, "round:round_tx", 0) == []  # nothing half-written
        await publisher.close()
        await database.close()

    asyncio.run(scenario())


def test_a_worker_that_lost_its_claim_cannot_write(tmp_path: Path) -> None:
    async def scenario() -> None:
        database = Database(f"sqlite:///{tmp_path / 'fence.db'}")
        store, _, stale = await _claimed(database, "round_f")
        # The lease lapses and another worker claims the round (as the sweeper would queue it).
        async with database.transaction() as session:
            await Claims.write(session, stale, {"status": "queued"})
        fresh = await Claims(database, worker_id="w2", lease_seconds=30).acquire(
            Job("round", "round_f")
        )
        assert fresh is not None and fresh.attempt == 2 and fresh.token == 2
        publisher = StreamPublisher(MemoryEventLog(), "round:round_f", token=1)
        publisher.records.append(EventRecord(1, "RUN_STARTED", "{}"))
        with pytest.raises(ClaimLost):
            await save_progress(database, stale, publisher, {"status": "completed"})
        # Its lease keeper learns the claim is gone, and renews nothing of w2's.
        lost: list[str] = []
        keeper = LeaseKeeper(database, worker_id="w1", lease_seconds=600, interval=1)
        keeper.hold(stale, on_lost=lambda: lost.append("lost"), on_cancel=lost.append)
        before = await store.get("round_f")
        await keeper.renew()
        assert lost == ["lost"] and keeper.held() == 0
        after = await store.get("round_f")
        assert before is not None and after is not None
        assert after.lease_expires_at == before.lease_expires_at
        row = await store.get("round_f")
        assert row is not None and row.status == "running" and row.worker_id == "w2"
        assert await stored_events(database, "round:round_f", 0) == []
        await publisher.close()
        await database.close()

    asyncio.run(scenario())
