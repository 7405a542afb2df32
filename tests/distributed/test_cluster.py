"""The distributed mode over real connections: two API processes and two workers on loopback,
sharing a real PostgreSQL and a real Redis. Any API serves any stream, takes any answer and
any cancel; a round whose worker is killed is resumed elsewhere and the client's stream goes on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.distributed.conftest import Cluster
from tests.support.processes import Service
from tests.support.sse import SseEvent, parse_sse

QUESTION = {"question": "What is 6 times 7?", "reference_answer": "42"}


def events_of(
    lines: Iterator[str], *, until: Callable[[SseEvent], bool] | None = None
) -> list[SseEvent]:
    """Parse an SSE response line by line, stopping early once ``until`` holds."""
    buffer: list[str] = []
    seen: list[SseEvent] = []
    for line in lines:
        buffer.append(line)
        if line == "":
            parsed, _ = parse_sse(buffer)
            buffer = []
            seen += parsed
            if until is not None and parsed and until(parsed[-1]):
                return seen
    parsed, _ = parse_sse([*buffer, ""])
    return seen + parsed


def stream(url: str, body: dict[str, Any] | None = None, *, method: str = "POST",
           headers: dict[str, str] | None = None,
           until: Callable[[SseEvent], bool] | None = None) -> list[SseEvent]:  # fmt: skip
    with httpx.Client(timeout=120) as client, client.stream(
        method, url, json=body, headers=headers
    ) as response:  # fmt: skip
        assert response.status_code == 200, response.read().decode()
        return events_of(response.iter_lines(), until=until)


def contiguous(events: list[SseEvent], start: int = 1) -> bool:
    return [e.id for e in events] == list(range(start, start + len(events)))


def running_on(workers: list[Service]) -> Service:
    """The worker that runs a round right now (the test starts one round at a time)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.health()["worker"]["running"]:
                return worker
        time.sleep(0.05)
    raise AssertionError("no worker took the round")


def test_started_on_one_api_streamed_from_the_other(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    a, b = c.api("api-a"), c.api("api-b")
    c.worker("worker-1")
    first = stream(f"{a.url}/api/rounds", {"pipeline": "agents", **QUESTION},
                   until=lambda e: e.type == "TOOL_CALL_ARGS")  # fmt: skip
    round_id = first[0].data["runId"]
    rest = stream(f"{b.url}/api/rounds/{round_id}/events", method="GET",
                  headers={"Last-Event-ID": str(first[-1].id)})  # fmt: skip
    assert contiguous(first + rest)
    assert rest[-1].type == "RUN_FINISHED" and rest[-1].data["result"]["verdict"] is not None
    stored = httpx.get(f"{a.url}/api/rounds/{round_id}").json()
    assert stored["status"] == "completed"
    replay = stream(f"{a.url}/api/rounds/{round_id}/events", method="GET")
    assert [e.data for e in replay] == [e.data for e in first + rest]  # what B streamed, A stored
    health = b.health()
    assert health["mode"] == "redis" and health["model_server"] == "none"
    assert health["dependencies"] == {"database": "ok", "redis": "ok"}


def test_a_human_answer_posted_to_the_other_api(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    a, b = c.api("api-a"), c.api("api-b")
    c.worker("worker-1")
    first = stream(f"{a.url}/api/rounds", {"pipeline": "chat", "mode": "human", **QUESTION})
    assert first[-1].type == "RUN_FINISHED" and first[-1].data["outcome"]["type"] == "interrupt"
    round_id = first[0].data["runId"]
    second = stream(f"{b.url}/api/rounds/{round_id}/answer", {"answer": "42"})
    assert second[0].type == "RUN_STARTED" and second[0].id == first[-1].id + 1
    verdict = [e.data["value"] for e in second if e.name == "verdict"]
    assert verdict and verdict[0]["correct"] is True
    again = httpx.post(f"{a.url}/api/rounds/{round_id}/answer", json={"answer": "41"})
    assert again.status_code == 409 and "completed" in again.json()["detail"]


def test_a_human_round_waits_in_the_database_across_restarts(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    api = c.api("api-a")
    worker = c.worker("worker-1")
    first = stream(f"{api.url}/api/rounds", {"pipeline": "agents", "mode": "human", **QUESTION})
    round_id = first[0].data["runId"]
    assert worker.health()["worker"]["running"] == 0  # nothing waits for the player
    api.terminate()
    worker.terminate()
    api, _ = c.api("api-b"), c.worker("worker-2")  # every process is new
    second = stream(f"{api.url}/api/rounds/{round_id}/answer", {"answer": "forty-two"})
    assert [e.data["value"]["correct"] for e in second if e.name == "verdict"] == [True]


KILLED_AT = {  # the event after which the worker dies, and the steps it may be resumed at
    "answer": ("Answerer", "Judge"),  # mid-round: the question and the answer are checkpointed
    "round": ("Questioner", "Answerer"),  # at once: nothing is stored but the stream's start
}


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
@pytest.mark.parametrize("killed_at", list(KILLED_AT))
def test_a_killed_worker_is_resumed_elsewhere_and_the_stream_goes_on(
    cluster: Callable[..., Cluster], pipeline: str, killed_at: str
) -> None:
    c = cluster()
    api = c.api("api")
    workers = [c.worker("worker-1"), c.worker("worker-2")]
    with httpx.Client(timeout=120) as client, client.stream(
        "POST", f"{api.url}/api/rounds", json={"pipeline": pipeline, **QUESTION}
    ) as response:  # fmt: skip
        lines = response.iter_lines()
        before = events_of(lines, until=lambda e: e.name == killed_at)
        victim = running_on(workers)
        victim.kill()
        after = events_of(lines)  # the same connection: no reconnect
    events = before + after
    assert contiguous(events), [e.id for e in events]
    resumed = [e.data["value"] for e in events if e.name == "resumed"]
    assert resumed and resumed[0]["attempt"] == 2 and resumed[0]["step"] in KILLED_AT[killed_at]
    assert len([e for e in events if e.name == "question"]) == 1
    assert len([e for e in events if e.name == "round"]) == 1
    assert events[-1].type == "RUN_FINISHED"
    assert [e.type for e in events].count("RUN_STARTED") == 1
    assert len([e for e in events if e.name == "verdict"]) == 1
    stored = httpx.get(f"{api.url}/api/rounds/{events[0].data['runId']}").json()
    assert stored["status"] == "completed" and stored["attempt"] == 2


def test_sigterm_drains_a_worker_and_hands_unfinished_rounds_back(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster(QUIZRELAY_DRAIN_GRACE="0.5")
    api = c.api("api")
    workers = [c.worker("worker-1"), c.worker("worker-2")]
    with httpx.Client(timeout=120) as client, client.stream(
        "POST", f"{api.url}/api/rounds", json={"pipeline": "agents", **QUESTION}
    ) as response:  # fmt: skip
        lines = response.iter_lines()
        before = events_of(lines, until=lambda e: e.name == "question")
        draining = running_on(workers)
        # uvicorn ends a clean shutdown by re-raising the signal it caught: -15 is a clean exit.
        stopping = time.monotonic()
        assert draining.terminate(timeout=30) in (0, -15)
        stopped_in = time.monotonic() - stopping
        after = events_of(lines)
    events = before + after
    assert contiguous(events) and events[-1].type == "RUN_FINISHED"
    assert [e.data["value"]["attempt"] for e in events if e.name == "resumed"] == [2]
    log = draining.log_text()
    assert "handing 1 unfinished job(s) back" in log and "Application shutdown complete" in log
    assert stopped_in < 0.5 + 10, stopped_in  # the grace, then the queue's own stop (≤ 5 s)
    idle = next(worker for worker in workers if worker is not draining)
    assert idle.terminate(timeout=30) in (0, -15)
    for worker in workers:  # a quiet, clean stop, busy or idle
        log = worker.log_text()
        assert "Traceback" not in log and "never retrieved" not in log, log


def test_a_cancel_sent_to_the_other_api_reaches_the_worker(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    a, b = c.api("api-a"), c.api("api-b")
    c.worker("worker-1")
    with httpx.Client(timeout=120) as client, client.stream(
        "POST", f"{a.url}/api/rounds", json={"pipeline": "chat", **QUESTION}
    ) as response:  # fmt: skip
        lines = response.iter_lines()
        before = events_of(lines, until=lambda e: e.type == "TOOL_CALL_ARGS")
        round_id = before[0].data["runId"]
        sent = time.monotonic()
        cancelled = httpx.post(f"{b.url}/api/rounds/{round_id}/cancel", json={"reason": "enough"})
        assert cancelled.status_code == 200
        after = events_of(lines)
        took = time.monotonic() - sent
    assert after[-1].type == "RUN_ERROR" and after[-1].data["code"] == "cancelled"
    assert "enough" in after[-1].data["message"]
    assert took < 3.0  # the signal, not a heartbeat or the round's end
    assert httpx.get(f"{b.url}/api/rounds/{round_id}").json()["status"] == "failed"


def test_the_rate_limit_is_shared_across_apis(cluster: Callable[..., Cluster]) -> None:
    c = cluster(QUIZRELAY_RATE_LIMIT_ROUNDS_PER_MINUTE="3")
    a, b = c.api("api-a"), c.api("api-b")
    c.worker("worker-1")
    codes = []
    for api in (a, b, a, b):
        response = httpx.post(f"{api.url}/api/games", json={"pipeline": "chat"})  # not limited
        assert response.status_code == 201
        with httpx.Client(timeout=60) as client, client.stream(
            "POST", f"{api.url}/api/rounds", json={"pipeline": "chat", **QUESTION}
        ) as started:  # fmt: skip
            codes.append(started.status_code)
            if started.status_code == 429:
                assert int(started.headers["Retry-After"]) >= 1
                assert "at most 3 per minute" in json.loads(started.read())["detail"]
    assert codes == [200, 200, 200, 429]
