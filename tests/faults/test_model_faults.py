"""Model faults against a scripted, fault-injecting OpenAI-compatible server, for both
pipelines: transient faults are retried with backoff, persistent ones end the round with a
stable code, a stored failed round and the error on the trace."""

from __future__ import annotations

import time

import pytest

from tests.fakes.scripted_openai import (
    ScriptedOpenAIServer,
    auto_responder,
    error,
    hang,
    text,
    tool_call,
)
from tests.support.sse import custom, stream_round

PIPELINES = ["agents", "chat"]
QUESTION = {"question": "2, 4, 8, ?", "reference_answer": "16"}


@pytest.fixture
def model_server():
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = auto_responder  # after the scripted faults, every call succeeds
        yield server


def settings_for(make_settings, model_server, **overrides):
    values = {
        "llm_base_url": model_server.base_url,
        "model_profile": "llama-cpp",
        "llm_max_retries": 2,
        "llm_retry_base_delay": 0.01,
        "llm_read_timeout": 1.0,
    }
    values.update(overrides)
    return make_settings(**values)


def play(http, base_url, pipeline):
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION})
    info = custom(events, "round")[0]
    stored = http.get(f"{base_url}/api/rounds/{info['round_id']}").json()
    trace = http.get(f"{base_url}/api/traces/{info['trace_id']}").json()
    return events, stored, trace


TRANSIENT = {
    "http_500": lambda: error(500, "try again"),
    "http_503": lambda: error(503, "overloaded"),
    "http_429": lambda: error(429, "slow down", headers={"retry-after": "0"}),
    "cut_mid_stream": lambda: tool_call("draw_question", {}, chunks=4, cut_after=2),
    "error_mid_stream": lambda: tool_call("draw_question", {}, chunks=4, stream_error_after=2),
    "silent_before_first_token": lambda: hang(),
    "silent_mid_stream": lambda: tool_call("draw_question", {}, chunks=4, token_interval=3.0),
}


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_one_transient_fault_is_retried_and_the_round_completes(
    make_settings, serve, http, model_server, pipeline, fault
):
    model_server.enqueue(TRANSIENT[fault]())
    base_url, _ = serve(settings_for(make_settings, model_server))
    events, stored, trace = play(http, base_url, pipeline)
    assert events[-1].type == "RUN_FINISHED", events[-1].data
    retries = custom(events, "retry")
    assert len(retries) == 1 and retries[0]["role"] == "Questioner" and retries[0]["retry"] == 1
    assert stored["status"] == "completed" and stored["verdict"] is not None
    generations = [
        s for s in trace["spans"] if s["kind"] == "generation" and s["role"] == "Questioner"
    ]
    assert generations[0]["status"] == "error"  # the failed attempt stays visible
    assert custom(events, "usage")[0]["roles"]["Questioner"]["unreported_requests"] == 1


PERSISTENT = {
    "http_500": (lambda: error(500, "broken"), "model_server_error"),
    "http_429": (lambda: error(429, "quota", headers={"retry-after": "0"}), "model_rate_limited"),
    "cut_mid_stream": (
        lambda: tool_call("draw_question", {}, chunks=4, cut_after=2),
        "model_stream_interrupted",
    ),
    "silent_before_first_token": (lambda: hang(), "model_timeout"),
}


@pytest.mark.parametrize("pipeline", PIPELINES)
@pytest.mark.parametrize("fault", sorted(PERSISTENT))
def test_a_persistent_fault_fails_the_round_after_the_retry_budget(
    make_settings, serve, http, model_server, pipeline, fault
):
    make_step, code = PERSISTENT[fault]
    model_server.extend([make_step() for _ in range(3)])  # 1 call + 2 retries
    base_url, _ = serve(settings_for(make_settings, model_server))
    events, stored, trace = play(http, base_url, pipeline)
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == code, events[-1].data
    assert "Questioner" in events[-1].data["message"]
    assert [r["retry"] for r in custom(events, "retry")] == [1, 2]
    assert stored["status"] == "failed" and stored["error"]["code"] == code
    assert trace["trace"]["status"] == "error"
    failed = [s for s in trace["spans"] if s["status"] == "error" and s["kind"] == "generation"]
    assert len(failed) == 3
    assert len(model_server.requests) == 3


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_backoff_honours_retry_after(make_settings, serve, http, model_server, pipeline):
    model_server.enqueue(error(429, "wait a bit", headers={"retry-after": "1"}))
    base_url, _ = serve(settings_for(make_settings, model_server))
    events, _, _ = play(http, base_url, pipeline)
    assert events[-1].type == "RUN_FINISHED"
    assert custom(events, "retry")[0]["delay_ms"] == 1000
    first, second = model_server.requests[0].received_at, model_server.requests[1].received_at
    assert second - first >= 0.95


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_unreachable_server_fails_fast_after_retries(make_settings, serve, http, pipeline):
    base_url, _ = serve(
        make_settings(
            llm_base_url="http://127.0.0.1:9/v1", llm_max_retries=2, llm_retry_base_delay=0.01
        )
    )
    started = time.monotonic()
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION})
    assert events[-1].data["code"] == "model_unreachable"
    assert len(custom(events, "retry")) == 2 and time.monotonic() - started < 10


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_a_call_that_never_ends_is_cut_by_the_call_limit(
    make_settings, serve, http, model_server, pipeline
):
    """A server that trickles forever (each chunk inside the read timeout) still cannot hold a
    round: the per-call limit ends it."""
    model_server.enqueue(
        text("one two three four five six seven eight nine ten " * 20, token_interval=0.2)
    )
    base_url, _ = serve(
        settings_for(
            make_settings, model_server, llm_timeout=1.5, llm_max_retries=0, model_profile="generic"
        )
    )
    started = time.monotonic()
    events, stored, _ = play(http, base_url, pipeline)
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "model_timeout", events[
        -1
    ].data
    assert time.monotonic() - started < 10
    assert stored["status"] == "failed"


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_the_round_limit_ends_a_slow_round(make_settings, serve, http, model_server, pipeline):
    model_server.extend(
        [tool_call("draw_question", {}, chunks=3, token_interval=0.5) for _ in range(3)]
    )
    base_url, _ = serve(settings_for(make_settings, model_server, round_timeout=1.0))
    events, stored, _ = play(http, base_url, pipeline)
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "round_timeout"
    assert stored["status"] == "failed" and stored["error"]["code"] == "round_timeout"
