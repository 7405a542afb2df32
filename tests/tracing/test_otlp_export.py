"""OTLP export of both pipelines' traces, checked at a real OTLP/HTTP receiver on loopback.

Rounds are played through the service over HTTP against the scripted OpenAI-compatible server
(real ``openai`` client, real streamed chunks, real token usage). With an OTLP endpoint in the
environment the app lists its OTLP processor after the store processor
(``set_trace_processors([store, otlp.processor])``); the ``otlp_processor_of`` fixture
(``conftest.py``) finds it there.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
from agents import set_trace_processors
from agents.tracing import (
    SpanError,
    agent_span,
    function_span,
    generation_span,
    trace,
)

from quizrelay.errors import REDACTED
from quizrelay.tracing.otlp import build_otlp_processor
from quizrelay.tracing.otlp_endpoint import otlp_endpoint_configured
from tests.support.server import on_app
from tests.support.sse import custom
from tests.tracing.otlp_receiver import ReceivedSpan
from tests.tracing.rounds import QUESTION, play, round_spans, steps

SECRET = "sk-otlp-test-9f8e7d6c5b4a"


# --- the decisive test: one round of each pipeline, span by span -----------------------------
@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_a_round_arrives_as_a_genai_span_tree(
    pipeline, make_settings, serve, http, receiver, otlp_env, model_server, otlp_processor_of
):
    otlp_env(receiver.base_url)
    script, input_tokens, output_tokens = steps(pipeline)
    model_server.extend(script)
    base_url, app = serve(make_settings(llm_base_url=model_server.base_url))
    processor = otlp_processor_of(app)
    events = play(http, base_url, pipeline, game_id="game_otlp_1")
    info = custom(events, "round")[0]
    spans = round_spans(receiver, processor, info["round_id"])

    # One OTel trace: the SDK trace's root with the round's ids, everything else beneath it.
    (root,) = [s for s in spans if s.name == "quiz round"]
    assert root.parent_span_id == "" and root.resource["service.name"] == "quizrelay"
    assert root.attributes["quizrelay.trace_id"] == info["trace_id"]
    for span in spans:
        assert span.trace_id == root.trace_id
        assert span.attributes["quizrelay.game_id"] == "game_otlp_1"
        assert span.attributes["gen_ai.conversation.id"] == "game_otlp_1"
        assert span.attributes["quizrelay.pipeline"] == pipeline
        assert not span.is_error, (span.name, span.status_message)
    by_id = {s.span_id: s for s in spans}

    def parent(span: ReceivedSpan) -> ReceivedSpan:
        return by_id[span.parent_span_id]

    agents = {
        s.attributes["gen_ai.agent.name"]: s for s in spans if s.name.startswith("invoke_agent ")
    }
    assert sorted(agents) == ["Answerer", "Judge", "Questioner"]
    for name, span in agents.items():
        assert span.name == f"invoke_agent {name}" and parent(span) is root
        assert span.attributes["gen_ai.operation.name"] == "invoke_agent"

    chats = [
        s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat" and s is not root
    ]
    assert len(chats) == len(script)
    for span in chats:
        assert span.name == "chat scripted-model"
        assert span.attributes["gen_ai.request.model"] == "scripted-model"
        assert (
            span.attributes["gen_ai.usage.input_tokens"] > 0
            and span.attributes["gen_ai.usage.output_tokens"] > 0
        )
        assert parent(span).name.startswith("invoke_agent ")
    assert sum(s.attributes["gen_ai.usage.input_tokens"] for s in chats) == input_tokens
    assert sum(s.attributes["gen_ai.usage.output_tokens"] for s in chats) == output_tokens

    tools = {
        s.attributes["gen_ai.tool.name"]: s
        for s in spans
        if s.attributes.get("gen_ai.operation.name") == "execute_tool"
    }
    assert sorted(tools) == ["check_answer", "draw_question", "submit_verdict"]
    for name, span in tools.items():
        assert span.name == f"execute_tool {name}"
    assert parent(tools["draw_question"]) is agents["Questioner"]
    assert (
        parent(tools["check_answer"]) is agents["Judge"]
        and parent(tools["submit_verdict"]) is agents["Judge"]
    )

    handoffs = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "agent_handoff"]
    if pipeline == "agents":
        pairs = [
            (
                s.attributes["gen_ai.handoff.from_agent"],
                s.attributes["gen_ai.handoff.to_agent"],
                parent(s).name,
                s.name,
            )
            for s in handoffs
        ]
        assert sorted(pairs) == [
            ("Answerer", "Judge", "invoke_agent Answerer", "handoff Judge"),
            ("Questioner", "Answerer", "invoke_agent Questioner", "handoff Answerer"),
        ]
    else:
        assert handoffs == []  # the baseline moves from role to role by hand

    # Content is on by default: the model's reply arrives as GenAI output messages.
    outputs = " ".join(str(s.attributes.get("gen_ai.output.messages", "")) for s in chats)
    assert '"name":"submit_verdict"' in outputs and "response" not in outputs

    # The local store got the same spans: one per exported span below the root.
    store = app.state.service
    stored = on_app(app, store.traces.spans(info["trace_id"]))
    assert len(stored) == len(spans) - 1
    assert sorted({row.kind for row in stored}) == sorted(
        {"agent", "generation", "function", "guardrail"}
        | ({"handoff"} if pipeline == "agents" else set())
    )


# --- content and secrets -----------------------------------------------------------------------
SYSTEM_TEXT = "You are the Judge; the reference answer is 768."
USER_TEXT = "Start a new quiz round about doubling sequences."
ANSWER_TEXT = "I believe the next number is 768."
ARGS_TEXT = '{"explanation": "because each term doubles"}'
RESULT_TEXT = "Verdict recorded for the doubling answer."
ERROR_DATA_TEXT = "the raw tool input was doubling-input-42"
CONTENT = (
    SYSTEM_TEXT,
    USER_TEXT,
    ANSWER_TEXT,
    ARGS_TEXT,
    RESULT_TEXT,
    ERROR_DATA_TEXT,
    "768",
    "doubl",
    "verdict rejected",
)


def drive_chat_like_spans(*, usage: dict[str, int]) -> Any:
    """The spans the chat pipeline makes, by hand, with content in every field it can fill."""
    metadata = {"round_id": "round_hand", "pipeline": "chat"}
    messages = [{"role": "system", "content": SYSTEM_TEXT}, {"role": "user", "content": USER_TEXT}]
    with (
        trace("quiz round", group_id="game_hand", metadata=metadata),
        agent_span(name="Judge", tools=["submit_verdict"], output_type="str"),
    ):
        with generation_span(
            model="scripted-model",
            input=messages,
            model_config={"base_url": "http://127.0.0.1:9/v1"},
        ) as generation:
            generation.span_data.output = [{"role": "assistant", "content": ANSWER_TEXT}]
            generation.span_data.usage = usage
        with function_span(name="submit_verdict", input=ARGS_TEXT) as tool:
            tool.span_data.output = RESULT_TEXT
            tool.set_error(
                SpanError(message="ERROR: verdict rejected", data={"detail": ERROR_DATA_TEXT})
            )
    return generation


@pytest.mark.parametrize("include_content", [True, False])
def test_content_switch_keeps_structure_and_drops_every_text(include_content, receiver):
    export = build_otlp_processor(
        include_content=include_content, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url}
    )
    assert export is not None
    set_trace_processors([export.processor])
    usage = {"requests": 1, "input_tokens": 33, "output_tokens": 7, "total_tokens": 40}
    generation = drive_chat_like_spans(usage=usage)
    assert export.shutdown(5)
    spans = {s.name: s for s in receiver.spans}

    assert sorted(spans) == [
        "chat scripted-model",
        "execute_tool submit_verdict",
        "invoke_agent Judge",
        "quiz round",
    ]
    chat, tool = spans["chat scripted-model"], spans["execute_tool submit_verdict"]
    assert (
        chat.attributes["gen_ai.usage.input_tokens"] == 33
        and chat.attributes["gen_ai.usage.output_tokens"] == 7
    )
    assert tool.attributes["gen_ai.tool.name"] == "submit_verdict"
    assert tool.is_error
    assert all(s.attributes["quizrelay.round_id"] == "round_hand" for s in spans.values())
    exported = " ".join(x for s in spans.values() for x in s.strings())
    if include_content:  # the same spans do carry every text when content is on
        for value in (SYSTEM_TEXT, USER_TEXT, ANSWER_TEXT, RESULT_TEXT, ERROR_DATA_TEXT):
            assert value in exported
        assert tool.attributes["gen_ai.tool.call.arguments"] == ARGS_TEXT
        assert tool.status_message == f"ERROR: verdict rejected: {{'detail': '{ERROR_DATA_TEXT}'}}"
    else:
        assert tool.status_message == "tool call failed"
        leaked = [value for value in CONTENT if value in exported]
        assert leaked == [], f"content exported with include_content=False: {leaked}"
        assert "gen_ai.input.messages" not in chat.attributes
        assert not any(k.startswith("gen_ai.tool.call.") for k in tool.attributes)
    # The bridge reads a copy: the SDK's own span data (shared with the store) is untouched.
    assert generation.span_data.usage == {
        "requests": 1,
        "input_tokens": 33,
        "output_tokens": 7,
        "total_tokens": 40,
    }


def test_round_without_content_exports_no_message_text(
    make_settings, serve, http, receiver, otlp_env, model_server, otlp_processor_of
):
    otlp_env(receiver.base_url)
    answer = "Surely the answer is 768 (each term doubles)"
    script, _, _ = steps("chat", answer=answer)
    model_server.extend(script)
    base_url, app = serve(
        make_settings(llm_base_url=model_server.base_url, trace_include_content=False)
    )
    processor = otlp_processor_of(app)
    round_id = custom(play(http, base_url, "chat"), "round")[0]["round_id"]
    spans = round_spans(receiver, processor, round_id)

    assert (
        len(spans) == 13
    )  # root, 3 agents, 4 chat calls, 3 tools, 2 guardrails: the structure is all there
    assert sum(s.name == "chat scripted-model" for s in spans) == 4
    exported = " ".join(x for s in spans for x in s.strings())
    for value in (
        answer,
        QUESTION["question"],
        "It doubles.",
        "You are the",
        "Start a new quiz round",
    ):
        assert value not in exported
    assert not any(
        k in s.attributes
        for s in spans
        for k in (
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
        )
    )
    assert sum(s.attributes.get("gen_ai.usage.input_tokens", 0) for s in spans) == 220


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_the_api_key_never_reaches_the_collector(
    pipeline, make_settings, serve, http, receiver, otlp_env, model_server, otlp_processor_of
):
    """The model echoes the key: it is in the SDK's span data, never in what is exported."""
    otlp_env(receiver.base_url)
    script, _, _ = steps(pipeline, answer=f"the key is {SECRET}")
    model_server.extend(script)
    base_url, app = serve(make_settings(llm_base_url=model_server.base_url, llm_api_key=SECRET))
    processor = otlp_processor_of(app)
    round_id = custom(play(http, base_url, pipeline), "round")[0]["round_id"]
    spans = round_spans(receiver, processor, round_id)

    exported = [x for s in spans for x in s.strings()] + [
        str(v) for s in spans for v in s.resource.values()
    ]
    assert not [x for x in exported if SECRET in x]
    assert any(f"the key is {REDACTED}" in x for x in exported)  # the reply was there, scrubbed


# --- a collector that is down ------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_collector_down_costs_the_round_nothing(
    pipeline,
    make_settings,
    serve,
    http,
    otlp_env,
    monkeypatch,
    model_server,
    otlp_processor_of,
    caplog,
):
    otlp_env(f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv(
        "OTEL_BSP_SCHEDULE_DELAY", "20"
    )  # the batch thread exports (and fails) mid-round
    script, _, _ = steps(pipeline)
    model_server.extend(script)
    base_url, app = serve(make_settings(llm_base_url=model_server.base_url))
    processor = otlp_processor_of(app)

    started = time.monotonic()
    events = play(http, base_url, pipeline)
    assert time.monotonic() - started < 3.0  # each failed export takes seconds: not on the loop
    service = app.state.service
    trace_id = custom(events, "round")[0]["trace_id"]
    assert (
        len(on_app(app, service.traces.spans(trace_id))) >= 7
    )  # the local store has the whole round

    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        flushed = processor.flush(1.5)
        closed = processor.close(1.5)
    assert time.monotonic() - started < 4.0
    assert not (flushed and closed)  # nothing could be delivered; both gave up in time
    assert processor.close(1.5) is True  # idempotent: the app's shutdown may call it again


# --- configuration -----------------------------------------------------------------------------
def test_endpoint_configuration_follows_the_standard_variables():
    assert not otlp_endpoint_configured({})
    assert not otlp_endpoint_configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "})
    assert otlp_endpoint_configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert otlp_endpoint_configured(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/x"}
    )
    assert build_otlp_processor(environ={}) is None
    assert (
        build_otlp_processor(
            environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
        )
        is None
    )
    generic = build_otlp_processor(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"})
    specific = build_otlp_processor(
        environ={
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:9/custom",
        }
    )
    assert generic is not None and specific is not None
    assert generic.endpoint == "http://c:4318/v1/traces"  # /v1/traces appended to the generic one
    assert specific.endpoint == "http://t:9/custom"  # the traces-specific one is used as it is
    for export in (generic, specific):
        assert export.shutdown(2)


def test_traces_endpoint_and_headers_reach_the_collector(receiver):
    export = build_otlp_processor(
        environ={
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.base_url}/v1/traces",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=quiz,authorization=Bearer%20collector-token",
            "OTEL_SERVICE_NAME": "quizrelay-staging",
        }
    )
    assert export is not None
    set_trace_processors([export.processor])
    with trace("quiz round", group_id="game_h"), agent_span(name="Questioner"):
        pass
    assert export.force_flush(5)
    (request,) = receiver.requests
    assert request.path == "/v1/traces" and request.span_count == 2
    assert (
        request.headers["x-tenant"] == "quiz"
        and request.headers["authorization"] == "Bearer collector-token"
    )
    assert {s.resource["service.name"] for s in receiver.spans} == {"quizrelay-staging"}
    assert export.shutdown(5)
    assert not export.force_flush(1)  # after shutdown nothing is sent any more
