"""Fixtures of the distributed tests: a fresh PostgreSQL database and Redis prefix per test, a
paced scripted model server, and clusters of real ``quizrelay`` processes on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, paced_auto_responder
from tests.support.engines import fresh_database, fresh_redis_prefix, redis_url
from tests.support.processes import Service, start


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def prefix() -> Iterator[str]:
    with fresh_redis_prefix() as value:
        yield value


@pytest.fixture
def paced_model() -> Iterator[ScriptedOpenAIServer]:
    """A model that answers every call, at about a model's pace (a round takes seconds)."""
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = paced_auto_responder(first_token_delay=0.1, token_interval=0.03)
        yield server


@pytest.fixture
def slow_model() -> Iterator[ScriptedOpenAIServer]:
    """A slower model: a round takes long enough to restart a server in the middle of it."""
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = paced_auto_responder(first_token_delay=0.3, token_interval=0.08)
        yield server


@dataclass
class Cluster:
    env: dict[str, str]
    logs: Path
    apis: list[Service] = field(default_factory=list)
    workers: list[Service] = field(default_factory=list)

    def api(self, name: str, **extra_env: str) -> Service:
        service = start("serve", {**self.env, **extra_env}, logs=self.logs, name=name)
        self.apis.append(service)
        return service

    def worker(self, name: str, *, concurrency: int = 4, **extra_env: str) -> Service:
        service = start(
            "worker", {**self.env, **extra_env}, logs=self.logs, name=name,
            extra=["--concurrency", str(concurrency)],
        )  # fmt: skip
        self.workers.append(service)
        return service

    def stop(self) -> None:
        for service in self.workers + self.apis:
            if service.process.poll() is None:
                service.terminate(timeout=30)


@pytest.fixture
def cluster_env(pg_url: str, prefix: str, paced_model: ScriptedOpenAIServer) -> dict[str, str]:
    return {
        "QUIZRELAY_DATABASE_URL": pg_url,
        "QUIZRELAY_REDIS_URL": redis_url(),
        "QUIZRELAY_REDIS_PREFIX": prefix,
        "QUIZRELAY_LLM_BASE_URL": paced_model.base_url,
        "QUIZRELAY_MODEL": "scripted-model",
        "QUIZRELAY_MODEL_PROFILE": "llama-cpp",
        "QUIZRELAY_LEASE_SECONDS": "2",
        "QUIZRELAY_DRAIN_GRACE": "2",
        "QUIZRELAY_LLM_MAX_RETRIES": "0",
    }


@pytest.fixture
def cluster(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(**overrides: str) -> Cluster:
        made.append(Cluster({**cluster_env, **overrides}, tmp_path / "logs"))
        return made[-1]

    yield make
    for each in made:
        each.stop()
