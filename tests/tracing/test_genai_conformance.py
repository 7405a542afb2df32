"""Exported GenAI content conforms to the semantic-conventions message schemas.

Every ``gen_ai.input.messages``, ``gen_ai.output.messages`` and ``gen_ai.system_instructions``
of every span of a real round of each pipeline (played over HTTP against the scripted
OpenAI-compatible server, received by the OTLP receiver on loopback) is validated against the
schemas in :mod:`tests.tracing.genai_schemas` (semconv v1.41.1), plus the rules they cannot
express (:mod:`tests.tracing.genai_conformance`). A viewer that validates these attributes
(Arize Phoenix) drops a whole attribute when one message fails, without a word.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agents import set_trace_processors
from agents.tracing import agent_span, generation_span, trace

from quizrelay.tracing.otlp import OtlpExport, build_otlp_processor
from tests.fakes.openai_steps import TextStep
from tests.support.sse import custom
from tests.tracing.genai_conformance import (
    CONTENT_ATTRIBUTES,
    FINISH_REASONS,
    INPUT,
    OUTPUT,
    SYSTEM,
    decoded,
    problems,
)
from tests.tracing.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.tracing.rounds import PIPELINES, play, round_spans, steps

SYSTEM_PROMPT = "You are the Questioner."
USER_TEXT = "Start a new round."


# --- the checks themselves can fail ----------------------------------------------------------
def _attributes(**values: Any) -> dict[str, Any]:
    names = {"input": INPUT, "output": OUTPUT, "system": SYSTEM, "reasons": FINISH_REASONS}
    return {
        names[key]: json.dumps(value) if key != "reasons" else value
        for key, value in values.items()
    }


_TEXT = {"type": "text", "content": "Which river flows through Paris?"}
_GOOD = _attributes(
    system=[{"type": "text", "content": SYSTEM_PROMPT}],
    input=[
        {"role": "user", "parts": [{"type": "text", "content": USER_TEXT}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "ok"}]},
    ],
    output=[{"role": "assistant", "parts": [_TEXT], "finish_reason": "stop"}],
    reasons=["stop"],
)


def test_a_conforming_span_passes():
    assert problems(_GOOD) == []
    assert problems({}) == []  # no content at all is fine too


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # What the bridge (opentelemetry-instrumentation-openai-agents-v2 0.1.0) sends:
        ({"output": [{"role": "assistant", "parts": [_TEXT]}]}, "'finish_reason' is a required"),
        ({"reasons": None}, "gen_ai.response.finish_reasons is None"),
        (
            {
                "input": [
                    {"role": "system", "parts": [{"type": "text", "content": SYSTEM_PROMPT}]},
                    {"role": "user", "parts": [{"type": "text", "content": USER_TEXT}]},
                ]
            },
            "a system message although",
        ),
        (
            {"input": [{"role": "tool", "parts": [{"type": "tool_call_response", "result": "x"}]}]},
            "'response' is a required property",
        ),
        (
            {
                "output": [
                    {
                        "role": "assistant",
                        "parts": [{"type": "tool_call", "id": "c1", "name": None}],
                        "finish_reason": "tool_call",
                    }
                ],
                "reasons": ["tool_call"],
            },
            "None is not of type 'string'",
        ),
        # Other ways to get it wrong:
        (
            {"output": [{"role": "assistant", "parts": [_TEXT], "finish_reason": None}]},
            "None is not valid",
        ),
        (
            {"output": [{"role": "assistant", "parts": [_TEXT], "finish_reason": ""}]},
            "no finish_reason",
        ),
        ({"reasons": ["length"]}, "the output messages say ['stop']"),
        (
            {"input": [{"role": "user", "parts": [{"type": "text", "text": USER_TEXT}]}]},
            "text part: 'content' is a required property",
        ),
        ({"input": [{"role": "user", "content": USER_TEXT}]}, "'parts' is a required property"),
        (
            {"output": [{"role": "assistant", "parts": [{"type": "tool_call", "name": "f"}]}]},
            "without the call's id",
        ),
        ({"system": "You are the Questioner."}, "is not of type 'array'"),
    ],
)
def test_the_checks_catch_each_mistake(change, expected):
    attributes = dict(_GOOD)
    for key, value in _attributes(**change).items():
        if value is None or value == "null":
            attributes.pop(key, None)
        else:
            attributes[key] = value
    found = problems(attributes)
    assert any(expected in line for line in found), found


def test_content_attributes_must_be_json_strings():
    assert problems({OUTPUT: ["not", "a", "string"]}) == [
        "gen_ai.output.messages: not a JSON string: ['not', 'a', 'string']"
    ]


# --- a real round of each pipeline -----------------------------------------------------------
def _content_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if any(name in s.attributes for name in CONTENT_ATTRIBUTES)]


def _parts(span: ReceivedSpan, name: str) -> Iterator[dict[str, Any]]:
    for message in decoded(span.attributes, name) or []:
        yield from message.get("parts") or []


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_every_exported_message_conforms_to_the_schemas(
    pipeline, make_settings, serve, http, receiver, otlp_env, model_server, otlp_processor_of
):
    otlp_env(receiver.base_url)
    script, _, _ = steps(pipeline)
    model_server.extend(script)
    base_url, app = serve(make_settings(llm_base_url=model_server.base_url))
    round_id = custom(play(http, base_url, pipeline), "round")[0]["round_id"]
    spans = round_spans(receiver, otlp_processor_of(app), round_id)

    found = [(s.name, problems(s.attributes)) for s in _content_spans(spans)]
    assert [(name, lines) for name, lines in found if lines] == []
    # ... and there was something to check: every model call has all three, with the reply.
    chats = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(chats) == len(script)
    for span in chats:
        assert all(name in span.attributes for name in CONTENT_ATTRIBUTES), span.attributes
        assert len(decoded(span.attributes, OUTPUT)) == 1
        assert len(span.attributes[FINISH_REASONS]) == 1
    reasons = [span.attributes[FINISH_REASONS][0] for span in chats]
    assert reasons == ["stop" if isinstance(step, TextStep) else "tool_call" for step in script]
    agents = [s for s in spans if s.name.startswith("invoke_agent ")]
    assert len(agents) == 3 and all(OUTPUT in s.attributes for s in agents)

    # The system prompt once per span, and in its own attribute.
    for span in _content_spans(spans):
        inputs = decoded(span.attributes, INPUT) or []
        assert [m["role"] for m in inputs].count("system") == 0, span.name
        if inputs:
            assert decoded(span.attributes, SYSTEM), span.name
    # Tool results went back to the model, as responses to the calls they answer.
    responses = [
        part
        for span in chats
        for part in _parts(span, INPUT)
        if part.get("type") == "tool_call_response"
    ]
    assert responses and all("response" in p and "result" not in p for p in responses)
    calls = {p["id"] for s in chats for p in _parts(s, OUTPUT) if p.get("type") == "tool_call"}
    assert {p["id"] for p in responses} <= calls


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_without_content_no_message_is_exported(
    pipeline, make_settings, serve, http, receiver, otlp_env, model_server, otlp_processor_of
):
    otlp_env(receiver.base_url)
    script, _, _ = steps(pipeline)
    model_server.extend(script)
    base_url, app = serve(
        make_settings(llm_base_url=model_server.base_url, trace_include_content=False)
    )
    round_id = custom(play(http, base_url, pipeline), "round")[0]["round_id"]
    spans = round_spans(receiver, otlp_processor_of(app), round_id)

    assert sum(s.attributes.get("gen_ai.operation.name") == "chat" for s in spans) == len(script)
    assert _content_spans(spans) == []
    assert not any(k.startswith(("input.", "output.")) for s in spans for k in s.attributes)


# --- finish reasons from the span data --------------------------------------------------------
@pytest.fixture
def export(receiver: OtlpReceiver) -> Iterator[OtlpExport]:
    built = build_otlp_processor(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url})
    assert built is not None
    set_trace_processors([built.processor])
    yield built
    built.shutdown(5)


def _generation(output: list[dict[str, Any]]) -> None:
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_TEXT},
    ]
    with generation_span(model="scripted-model", input=messages) as span:
        span.span_data.output = output
        span.span_data.usage = {"input_tokens": 10, "output_tokens": 2}


def _call(name: str) -> dict[str, Any]:
    return {"id": f"call_{name}", "type": "function", "function": {"name": name, "arguments": "{}"}}


def _response_dump(*entries: dict[str, Any]) -> dict[str, Any]:
    """What the SDK's streamed Chat Completions model records: ``Response.model_dump()``."""
    return {"object": "response", "id": "resp_1", "status": "completed", "output": list(entries)}


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ([{"role": "assistant", "content": "768"}], "stop"),
        (
            [{"role": "assistant", "content": "", "tool_calls": [_call("check_answer")]}],
            "tool_call",
        ),
        ([{"role": "assistant", "content": "76", "finish_reason": "length"}], "length"),
        (
            [{"role": "assistant", "content": "", "finish_reason": "content_filter"}],
            "content_filter",
        ),
        (
            [
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [_call("check_answer")],
                    "finish_reason": "tool_calls",  # OpenAI's word for the spec's tool_call
                }
            ],
            "tool_call",
        ),
        (
            [
                _response_dump(
                    {
                        "type": "function_call",
                        "call_id": "c1",
                        "name": "draw_question",
                        "arguments": "{}",
                    }
                )
            ],
            "tool_call",
        ),
        (
            [
                _response_dump(
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "768"}],
                    }
                )
            ],
            "stop",
        ),
        (
            [
                {
                    **_response_dump(
                        {"type": "message", "content": [{"type": "output_text", "text": "7"}]}
                    ),
                    "status": "incomplete",
                    "incomplete_details": {"reason": "max_output_tokens"},
                }
            ],
            "length",
        ),
    ],
)
def test_finish_reason_comes_from_the_reply(output, reason, export, receiver):
    with trace("quiz round"), agent_span(name="Judge"):
        _generation(output)
    assert export.force_flush(5)
    spans = {s.name: s for s in receiver.spans}
    chat, agent = spans["chat scripted-model"], spans["invoke_agent Judge"]
    for span in (chat, agent):
        assert problems(span.attributes) == [], span.name
        assert [m["finish_reason"] for m in decoded(span.attributes, OUTPUT)] == [reason]
        assert list(span.attributes[FINISH_REASONS]) == [reason]
    assert decoded(chat.attributes, SYSTEM) == [{"type": "text", "content": SYSTEM_PROMPT}]
    assert decoded(chat.attributes, INPUT) == [
        {"role": "user", "parts": [{"type": "text", "content": USER_TEXT}]}
    ]


def test_without_content_the_finish_reason_still_goes_out(receiver):
    """It is no content: the bridge sends the model's own, in the conventions' words here."""
    built = build_otlp_processor(
        include_content=False, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.base_url}
    )
    assert built is not None
    set_trace_processors([built.processor])
    reply = {"role": "assistant", "content": "", "tool_calls": [_call("check_answer")]}
    with trace("quiz round"), agent_span(name="Judge"):
        _generation([{**reply, "finish_reason": "tool_calls"}])
    assert built.shutdown(5)
    (chat,) = [s for s in receiver.spans if s.name == "chat scripted-model"]
    assert list(chat.attributes[FINISH_REASONS]) == ["tool_call"]
    assert _content_spans(receiver.spans) == []
    assert "check_answer" not in " ".join(x for s in receiver.spans for x in s.strings())
