"""Fixtures of the OTLP tests: a real OTLP/HTTP receiver on loopback, the scripted
OpenAI-compatible model server, the standard ``OTEL_*`` variables, and the OTLP processor the app
wired in. The SDK's trace processors are put back after every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agents import set_trace_processors
from agents.tracing import TracingProcessor, get_trace_provider
from agents.tracing.provider import DefaultTraceProvider

from quizrelay.tracing.otlp import OtlpTracingProcessor
from quizrelay.tracing.store_processor import StoreTracingProcessor
from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.tracing.otlp_receiver import OtlpReceiver

OTLP_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
)


def current_processors() -> list[TracingProcessor]:
    """The processors the app installed: the SDK has no public way to list them."""
    provider = get_trace_provider()
    assert isinstance(provider, DefaultTraceProvider)
    return list(provider._multi_processor._processors)


@pytest.fixture(autouse=True)
def restore_trace_processors() -> Iterator[None]:
    saved = current_processors()
    yield
    set_trace_processors(saved)


@pytest.fixture
def otlp_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``otlp_env(url)``: the standard variable pointing at ``url``, every other one cleared."""
    for name in OTLP_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def point_at(url: str) -> None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)

    return point_at


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


@pytest.fixture
def model_server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(model="scripted-model") as server:
        yield server


@pytest.fixture
def otlp_processor_of() -> Callable[[Any], OtlpTracingProcessor]:
    """The OTLP processor the app installed next to its store processor (the app must wire it
    in itself when an endpoint is configured; nothing here adds one)."""

    def find(app: Any) -> OtlpTracingProcessor:
        processors = app.state.service.tracing
        assert isinstance(processors[0], StoreTracingProcessor), "the store processor comes first"
        wired = [p for p in processors if isinstance(p, OtlpTracingProcessor)]
        assert len(wired) == 1, f"the app must install one OTLP processor, found {processors}"
        return wired[0]

    return find
