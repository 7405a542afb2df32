"""Shared fixtures: settings on a temporary database, scripted models, a served app."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agents.testing import ScriptedModel
from agents.usage import Usage

from quizrelay.app import create_app
from quizrelay.settings import Settings
from tests.support.server import serving

UNUSED_URL = "http://127.0.0.1:9/v1"
"""A base URL nothing listens on (port 9, discard): for tests whose models are all scripted."""

ENV_PREFIXES = ("QUIZRELAY_", "OTEL_")
"""Settings the service (and the OpenTelemetry SDK) read from the environment."""


def _drop_settings_from_environment(patch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            patch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _clean_session_environment() -> Iterator[None]:
    """No ``QUIZRELAY_*`` or ``OTEL_*`` variable from the developer's shell reaches the tests,
    nor the module-scoped sites built before a test runs: a test that needs one sets it itself
    (``monkeypatch.setenv``, or the ``env`` of the subprocess it starts)."""
    with pytest.MonkeyPatch.context() as patch:
        _drop_settings_from_environment(patch)
        yield


@pytest.fixture(autouse=True)
def _clean_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """And none left over by another test or fixture: every test starts without them."""
    _drop_settings_from_environment(monkeypatch)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'quizrelay.db'}",
            "llm_base_url": UNUSED_URL,
            "model": "scripted-model",
            "model_profile": "generic",
            "llm_max_retries": 0,
            "llm_timeout": 10.0,
            "round_timeout": 30.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return factory


def usage(input_tokens: int = 20, output_tokens: int = 5) -> Usage:
    return Usage(
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


class ScriptedRoles:
    """One ScriptedModel per role, handed to the agents pipeline through ``model_factory``."""

    def __init__(self, **steps: list[Any]) -> None:
        self.models = {
            role: ScriptedModel(
                steps.get(role.lower(), []), default_usage=usage(), emit_traces=True
            )
            for role in ("Questioner", "Answerer", "Judge")
        }

    def factory(self, role: str, spec: Any) -> ScriptedModel:
        return self.models[role]

    def tool_choices(self, role: str) -> list[Any]:
        return [call.model_settings.tool_choice for call in self.models[role].calls]


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[str, Any]]]:
    """``serve(settings, model_factory=None)`` → (base_url, app); stopped after the test."""
    stack: list[Any] = []

    def start(settings: Settings, model_factory: Any = None) -> tuple[str, Any]:
        app = create_app(settings, model_factory=model_factory)
        context = serving(app)
        base_url = context.__enter__()
        stack.append(context)
        return base_url, app

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
