"""A PostgreSQL restart mid-round, on a server of the test's own: the worker's writes wait and are
retried (nothing crashes, nothing is lost), ``/readyz`` says the database is down meanwhile, and
the client's stream goes on without reconnecting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.distributed.conftest import Cluster
from tests.distributed.test_cluster import QUESTION, contiguous, events_of, stream
from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.support.private_postgres import PrivatePostgres
from tests.support.sse import SseEvent


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_a_postgres_restart_mid_round_is_retried(
    cluster: Callable[..., Cluster],
    private_postgres: PrivatePostgres,
    slow_model: ScriptedOpenAIServer,
    pipeline: str,
) -> None:
    c = cluster(
        QUIZRELAY_DATABASE_URL=private_postgres.url,
        QUIZRELAY_LLM_BASE_URL=slow_model.base_url,
        QUIZRELAY_LEASE_SECONDS="10",  # the restart must not look like a dead worker
    )
    api = c.api("api")
    worker = c.worker("worker")
    with httpx.Client(timeout=120) as client, client.stream(
        "POST", f"{api.url}/api/rounds", json={"pipeline": pipeline, **QUESTION}
    ) as response:  # fmt: skip
        lines = response.iter_lines()
        before = events_of(lines, until=lambda e: e.name == "question")
        round_id = before[0].data["runId"]
        private_postgres.stop()  # the question's checkpoint is stored; the rest is to come
        down = httpx.get(f"{api.url}/readyz")
        assert down.status_code == 503
        assert down.json()["dependencies"]["database"].startswith("down")
        for refused in (  # what needs the database now: a 503 that says why, never a 500
            httpx.post(f"{api.url}/api/rounds", json={"pipeline": pipeline, **QUESTION}),
            httpx.get(f"{api.url}/api/rounds/{round_id}"),
        ):
            assert refused.status_code == 503, refused.text
            assert "the database is unavailable" in refused.json()["detail"]
            assert refused.headers["retry-after"] == "5"
        time.sleep(1.5)  # the round goes on meanwhile: its tokens reach the client through Redis
        private_postgres.start()
        rest = events_of(lines)  # the same response: the client never reconnected
    events = before + rest
    assert contiguous(events), [e.id for e in events]
    assert events[-1].type == "RUN_FINISHED", events[-1].data
    assert len([e for e in events if e.name == "verdict"]) == 1
    assert not [e for e in events if e.name == "resumed"]  # the worker kept its claim
    row = httpx.get(f"{api.url}/api/rounds/{round_id}").json()
    assert row["status"] == "completed" and row["attempt"] == 1, row
    replay = stream(f"{api.url}/api/rounds/{round_id}/events", method="GET")
    assert [e.id for e in replay] == [e.id for e in events]
    assert httpx.get(f"{api.url}/readyz").status_code == 200
    # Its trace lost nothing either: the same spans as a round played with the database up.
    calm = stream(f"{api.url}/api/rounds", {"pipeline": pipeline, **QUESTION})
    assert calm[-1].type == "RUN_FINISHED"
    assert span_kinds(api.url, trace_of(events)) == span_kinds(api.url, trace_of(calm))
    assert worker.process.poll() is None and api.process.poll() is None  # no crash


def trace_of(events: list[SseEvent]) -> str:
    return next(e.data["value"]["trace_id"] for e in events if e.name == "round")


def span_kinds(api: str, trace_id: str) -> list[tuple[str, str]]:
    trace = httpx.get(f"{api}/api/traces/{trace_id}").json()
    kinds = sorted((span["kind"], span["name"]) for span in trace["spans"])
    assert len(kinds) > 5, kinds
    return kinds
