"""The ``agents`` pipeline with the real ``OpenAIChatCompletionsModel`` over HTTP, against a
scripted OpenAI-compatible server: what the SDK actually sends, and upstream faults."""

from __future__ import annotations

import json

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, error, tool_call
from tests.support.server import on_app
from tests.support.sse import custom, stream_round

QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}


@pytest.fixture
def model_server():
    with ScriptedOpenAIServer(model="scripted-model") as server:
        yield server


def test_full_chain_over_http_with_usage_and_hidden_reference(
    make_settings, serve, http, model_server
):
    secret = "Zanzibar-42"
    model_server.extend(
        [
            tool_call(
                "pose_question",
                {"question": "Which island?", "reference_answer": secret},
                usage=(80, 20),
            ),
            tool_call("transfer_to_answerer", {}, usage=(90, 2)),
            tool_call("transfer_to_judge", {"answer": "Zanzibar-42"}, usage=(60, 9)),
            tool_call("check_answer", {}, usage=(100, 2)),
            tool_call(
                "submit_verdict", {"correct": True, "explanation": "Exactly."}, usage=(110, 8)
            ),
        ]
    )
    base_url, _ = serve(
        make_settings(llm_base_url=model_server.base_url, model_profile="llama-cpp")
    )
    events = stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "agents", "category": "freeform"}
    )
    assert events[-1].type == "RUN_FINISHED", events[-1].data
    assert custom(events, "verdict")[0]["correct"] is True
    usage = custom(events, "usage")[0]
    assert usage["roles"]["Questioner"]["input_tokens"] == 170
    assert usage["total"]["output_tokens"] == 41 and usage["total"]["requests"] == 5

    bodies = [r.body for r in model_server.requests]
    assert [b["tool_choice"]["function"]["name"] for b in bodies] == [
        "pose_question",
        "transfer_to_answerer",
        "transfer_to_judge",
        "check_answer",
        "submit_verdict",
    ]
    # The Questioner's second call replays its tool call: content must not be null on this profile.
    replayed = [m for m in bodies[1]["messages"] if m["role"] == "assistant"]
    assert replayed and all(m["content"] == "" for m in replayed)
    # What the Answerer's request carried, byte for byte: the question, never the reference.
    answerer_wire = json.dumps(bodies[2])
    assert "Which island?" in answerer_wire and secret not in answerer_wire
    assert all(m["role"] in ("system", "user") for m in bodies[2]["messages"])
    assert secret in json.dumps(bodies[3])


def test_handoff_arguments_with_a_raw_newline_still_hand_off(
    make_settings, serve, http, model_server
):
    """llama-cpp-python's grammar lets a model put a literal newline inside a JSON string."""
    model_server.extend(
        [
            tool_call("draw_question", {}),
            tool_call("transfer_to_answerer", {}),
            tool_call("transfer_to_judge", '{ "answer": "76\n8"}'),
            tool_call("check_answer", {}),
            tool_call("submit_verdict", {"correct": False, "explanation": "no"}),
        ]
    )
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].type == "RUN_FINISHED", events[-1].data
    assert custom(events, "answer")[0]["text"] == "76\n8"


@pytest.mark.parametrize(
    ("step", "code"),
    [
        (error(503, "overloaded"), "model_server_error"),
        (error(429, "slow down"), "model_rate_limited"),
        (
            tool_call("transfer_to_judge", {"answer": "768"}, cut_after=2),
            "model_stream_interrupted",
        ),
        (tool_call("transfer_to_judge", '{"answer": "76', chunks=2), "invalid_tool_arguments"),
    ],
)
def test_upstream_failures_in_the_agents_pipeline(
    make_settings, serve, http, model_server, step, code
):
    model_server.extend(
        [tool_call("draw_question", {}), tool_call("transfer_to_answerer", {}), step]
    )
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == code, events[-1].data
    assert "Answerer" in events[-1].data["message"]
    round_id = custom(events, "round")[0]["round_id"]
    stored = http.get(f"{base_url}/api/rounds/{round_id}").json()
    assert stored["status"] == "failed" and stored["error"]["code"] == code


def test_api_key_never_leaks_into_errors_events_or_spans(make_settings, serve, http, model_server):
    key = "sk-test-SECRET-0123456789"
    model_server.extend(
        [tool_call("draw_question", {}), error(401, f"Incorrect API key provided: {key}")]
    )
    base_url, app = serve(make_settings(llm_base_url=model_server.base_url, llm_api_key=key))
    with http.stream(
        "POST", f"{base_url}/api/rounds", json={"pipeline": "chat", **QUESTION}
    ) as response:
        raw = response.read().decode()
    assert "RUN_ERROR" in raw and "model_request_rejected" in raw
    assert key not in raw and "[redacted]" in raw
    assert model_server.requests[0].headers["authorization"] == f"Bearer {key}"  # it was used
    round_id = json.loads(raw.split("data: ", 2)[1].split("\n")[0])["runId"]
    assert key not in http.get(f"{base_url}/api/rounds/{round_id}").text
    service = app.state.service
    trace_id = http.get(f"{base_url}/api/rounds/{round_id}").json()["trace_id"]
    spans = on_app(app, service.traces.spans(trace_id))
    assert spans and key not in json.dumps([(s.data, s.error) for s in spans], default=str)
