"""Failures of the shared servers, and the service's footprint on them: a Redis restart mid-round,
500 SSE clients on one API process, and metrics summed across an API and a worker."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.distributed.conftest import Cluster
from tests.distributed.test_cluster import QUESTION, contiguous, events_of, stream
from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.support.processes import free_port
from tests.support.sse import parse_sse


class PrivateRedis:
    """A redis-server of this test's own, so it can be killed and started again."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (apt-get install redis-server)"
        self.binary = binary
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_a_redis_restart_mid_round_loses_nothing(
    cluster: Callable[..., Cluster], private_redis: PrivateRedis, slow_model: ScriptedOpenAIServer
) -> None:
    c = cluster(QUIZRELAY_REDIS_URL=private_redis.url, QUIZRELAY_LLM_BASE_URL=slow_model.base_url)
    api = c.api("api")
    c.worker("worker")
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{api.url}/api/rounds", json={"pipeline": "agents", **QUESTION}
    ) as response:  # fmt: skip
        lines = response.iter_lines()
        before = events_of(lines, until=lambda e: e.name == "question")
    round_id = before[0].data["runId"]
    private_redis.kill()  # everything live is gone: streams, wake-ups, counters
    time.sleep(1.5)
    during = httpx.get(f"{api.url}/readyz")
    assert during.status_code == 503 and during.json()["dependencies"]["redis"].startswith("down")
    private_redis.start()  # empty
    deadline = time.monotonic() + 60
    while httpx.get(f"{api.url}/api/rounds/{round_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "the round did not finish after Redis came back"
        time.sleep(0.2)
    # The client re-attaches where it stopped and gets the rest, once each (replayed from the
    # database: Redis lost the stream, and the worker may or may not have refilled it yet).
    rest = stream(f"{api.url}/api/rounds/{round_id}/events", method="GET",
                  headers={"Last-Event-ID": str(before[-1].id)})  # fmt: skip
    events = before + rest
    assert contiguous(events) and events[-1].type == "RUN_FINISHED"
    assert len([e for e in events if e.name == "verdict"]) == 1
    assert httpx.get(f"{api.url}/readyz").status_code == 200


def _connections(client: redis.Redis, name_prefix: str) -> int:
    return sum(1 for c in client.client_list() if str(c.get("name", "")).startswith(name_prefix))


def test_500_sse_clients_use_a_fixed_number_of_redis_connections(
    cluster: Callable[..., Cluster], prefix: str, slow_model: ScriptedOpenAIServer
) -> None:
    from tests.support.engines import redis_url

    c = cluster(QUIZRELAY_REDIS_POOL_SIZE="4", QUIZRELAY_LLM_BASE_URL=slow_model.base_url)
    api = c.api("api")
    c.worker("worker")
    pid = api.process.pid
    admin = redis.Redis.from_url(redis_url())
    with httpx.Client(timeout=60) as client, client.stream(
        "POST", f"{api.url}/api/rounds", json={"pipeline": "chat", **QUESTION}
    ) as response:  # fmt: skip
        lines = response.iter_lines()
        first = events_of(lines, until=lambda e: e.name == "round")
        round_id = first[0].data["runId"]
        one_client = _connections(admin, f"{prefix}:{pid}")

        async def follow_all() -> tuple[list[list[int]], int]:
            limits = httpx.Limits(max_connections=600, max_keepalive_connections=0)
            async with httpx.AsyncClient(timeout=120, limits=limits) as many:
                peak = 0

                async def one() -> list[int]:
                    async with many.stream("GET", f"{api.url}/api/rounds/{round_id}/events") as r:
                        text = (await r.aread()).decode()
                    events, _ = parse_sse(text.split("\n"))
                    return [e.id for e in events]

                tasks = [asyncio.create_task(one()) for _ in range(500)]
                while not all(task.done() for task in tasks):
                    peak = max(peak, _connections(admin, f"{prefix}:{pid}"))
                    await asyncio.sleep(0.2)
                return [task.result() for task in tasks], peak

        results, peak = asyncio.run(follow_all())
        rest = events_of(lines)
    full = [e.id for e in first + rest]
    assert all(ids == full for ids in results), "every client got the whole round, in order"
    # The pool (4), the shared live tail (1), the queue's client and the rate limiter's: the
    # same handful whether one client follows the round or five hundred.
    assert peak <= max(one_client, 4 + 1 + 2), (one_client, peak)


def test_metrics_add_up_across_an_api_and_a_worker(
    cluster: Callable[..., Cluster], tmp_path: Path
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    c = cluster(PROMETHEUS_MULTIPROC_DIR=str(shared))
    api = c.api("api")
    c.worker("worker")
    for pipeline in ("agents", "chat"):
        stream(f"{api.url}/api/rounds", {"pipeline": pipeline, **QUESTION})
    samples = metric_samples(httpx.get(f"{api.url}/metrics").text)
    finished = {
        labels["pipeline"]: value
        for name, labels, value in samples
        if name == "quizrelay_rounds_finished_total" and labels["status"] == "completed"
    }
    assert finished == {"agents": 1.0, "chat": 1.0}  # counted by the worker, served by the API
    judge_calls = [
        value
        for name, labels, value in samples
        if name == "quizrelay_model_calls_total"
        and labels == {"pipeline": "agents", "role": "Judge"}
    ]
    assert judge_calls == [2.0]
    names = {name for name, _, _ in samples}
    assert {"quizrelay_time_to_first_token_seconds_bucket", "quizrelay_queue_depth",
            "quizrelay_sse_clients", "quizrelay_rounds_started_total"} <= names  # fmt: skip


def metric_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The samples of a Prometheus text exposition, labels in any order."""
    samples = []
    for line in text.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if match is None or line.startswith("#"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        samples.append((match.group(1), labels, float(match.group(3))))
    return samples
