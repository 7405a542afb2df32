"""The ``chat`` pipeline against a scripted OpenAI-compatible server on loopback: the real
``openai`` client, real streamed chunks, and the faults a real server produces."""

from __future__ import annotations

import json

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, error, text, tool_call
from tests.support.sse import custom, outline, stream_round

QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}


@pytest.fixture
def model_server():
    with ScriptedOpenAIServer(model="scripted-model") as server:
        yield server


def happy_steps(answer: str = "The answer is 768.") -> list:
    return [
        tool_call("draw_question", {}, usage=(50, 3)),
        text(answer, usage=(40, 6)),
        tool_call("check_answer", {}, usage=(60, 3)),
        tool_call(
            "submit_verdict", {"correct": True, "explanation": "768 doubles 384."}, usage=(70, 12)
        ),
    ]


def test_round_streams_roles_in_order_without_handoffs(make_settings, serve, http, model_server):
    model_server.extend(happy_steps())
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})

    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert outline(events) == [
        "RUN_STARTED",
        "CUSTOM:round",
        "STEP_STARTED:Questioner",
        "TOOL_CALL_START:draw_question",
        "CUSTOM:question",
        "STEP_FINISHED:Questioner",
        "STEP_STARTED:Answerer",
        "CUSTOM:answer",
        "CUSTOM:guardrail",
        "STEP_FINISHED:Answerer",
        "STEP_STARTED:Judge",
        "TOOL_CALL_START:check_answer",
        "TOOL_CALL_START:submit_verdict",
        "CUSTOM:verdict",
        "STEP_FINISHED:Judge",
        "CUSTOM:usage",
        "RUN_FINISHED",
    ]
    assert custom(events, "handoff") == []
    # The Answerer's text arrived token by token, inside one text message.
    deltas = [
        e
        for e in events
        if e.type == "TEXT_MESSAGE_CONTENT" and not e.data["messageId"].startswith("fact_")
    ]
    assert len(deltas) > 2 and "".join(d.data["delta"] for d in deltas) == "The answer is 768."
    assert len({d.data["messageId"] for d in deltas}) == 1
    assert custom(events, "answer")[0]["text"] == "The answer is 768."
    verdict = custom(events, "verdict")[0]
    assert verdict["correct"] is True and verdict["explanation"] == "768 doubles 384."
    usage = custom(events, "usage")[0]
    assert usage["roles"]["Questioner"] == {
        "requests": 1,
        "input_tokens": 50,
        "output_tokens": 3,
        "total_tokens": 53,
        "unreported_requests": 0,
    }
    assert usage["total"]["requests"] == 4 and usage["total"]["input_tokens"] == 220
    model_server.assert_complete()

    # What went over the wire: streamed, usage asked for, the tool choice forced per call.
    bodies = [r.body for r in model_server.requests]
    assert all(
        b["stream"] is True and b["stream_options"] == {"include_usage": True} for b in bodies
    )
    assert [b.get("tool_choice") for b in bodies] == ["required", None, "required", "required"]
    assert "tools" not in bodies[1]  # the Answerer answers in text
    # The Judge's second call carries its first call and the tool result, by hand.
    judge_second = bodies[3]["messages"]
    assert (
        judge_second[-2]["role"] == "assistant"
        and judge_second[-2]["tool_calls"][0]["function"]["name"] == "check_answer"
    )
    assert (
        judge_second[-1]["role"] == "tool"
        and json.loads(judge_second[-1]["content"])["correct"] is True
    )


def test_answerer_request_never_contains_the_reference(make_settings, serve, http, model_server):
    secret = "Zanzibar-42"
    model_server.extend(
        [
            tool_call("pose_question", {"question": "Which island?", "reference_answer": secret}),
            text("Zanzibar"),
            tool_call("check_answer", {}),
            tool_call("submit_verdict", {"correct": False, "explanation": "Close."}),
        ]
    )
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "chat", "category": "freeform"}
    )
    assert events[-1].type == "RUN_FINISHED"
    answerer_request = json.dumps(model_server.requests[1].body)
    assert "Which island?" in answerer_request
    assert secret not in answerer_request
    assert secret in json.dumps(model_server.requests[2].body)  # the Judge has it


def test_llama_cpp_profile_names_tools_and_bounds_strings(make_settings, serve, http, model_server):
    model_server.extend(happy_steps())
    base_url, _ = serve(
        make_settings(llm_base_url=model_server.base_url, model_profile="llama-cpp")
    )
    stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    bodies = [r.body for r in model_server.requests]
    choices = [b.get("tool_choice") for b in bodies]
    assert choices == [
        {"type": "function", "function": {"name": "draw_question"}},
        None,
        {"type": "function", "function": {"name": "check_answer"}},
        {"type": "function", "function": {"name": "submit_verdict"}},
    ]
    verdict_tool = next(t for t in bodies[3]["tools"] if t["function"]["name"] == "submit_verdict")
    assert verdict_tool["function"]["parameters"]["properties"]["explanation"]["maxLength"] == 160
    # llama-cpp-python rejects null content: assistant turns are sent with "".
    assert all(m.get("content") is not None for b in bodies for m in b["messages"])
    assert bodies[3]["max_tokens"] == 256 and bodies[1]["max_tokens"] == 128


def test_questioner_without_a_tool_call_fails_the_round(make_settings, serve, http, model_server):
    model_server.enqueue(text("What is 2 + 2?"))
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "missing_tool_call"
    assert (
        "Questioner" in events[-1].data["message"] and "draw_question" in events[-1].data["message"]
    )


def test_invalid_verdict_arguments_are_retried_then_fail(make_settings, serve, http, model_server):
    model_server.extend(
        [
            tool_call("draw_question", {}),
            text("768"),
            tool_call("check_answer", {}),
            tool_call("submit_verdict", '{"correct": "perhaps"'),  # malformed JSON
            tool_call("submit_verdict", {"correct": "perhaps", "explanation": "x"}),
            tool_call("submit_verdict", {"correct": "perhaps", "explanation": "x"}),
        ]
    )
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "max_turns_exceeded"
    assert "Judge" in events[-1].data["message"]
    results = [e.data["content"] for e in events if e.type == "TOOL_CALL_RESULT"]
    assert any("not valid JSON" in r for r in results)
    assert custom(events, "verdict") == []


def test_a_repaired_verdict_is_accepted(make_settings, serve, http, model_server):
    model_server.extend(
        [
            tool_call("draw_question", {}),
            text("768"),
            tool_call("check_answer", {}),
            tool_call("submit_verdict", {"correct": "perhaps", "explanation": "x"}),
            tool_call("submit_verdict", {"correct": True, "explanation": "Right."}),
        ]
    )
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    assert events[-1].type == "RUN_FINISHED"
    assert custom(events, "verdict")[0]["correct"] is True


@pytest.mark.parametrize(
    ("step", "code"),
    [
        (error(500, "llama exploded"), "model_server_error"),
        (error(429, "slow down", headers={"retry-after": "0"}), "model_rate_limited"),
        (error(400, "bad request: tool_choice"), "model_request_rejected"),
        (text("The answer is seven hundred", cut_after=3), "model_stream_interrupted"),
        (text("The answer is", stream_error_after=2), "model_stream_interrupted"),
    ],
)
def test_upstream_failures_end_the_round_with_a_stable_code(
    make_settings, serve, http, model_server, step, code
):
    model_server.extend([tool_call("draw_question", {}), step])
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == code
    assert "Answerer" in events[-1].data["message"]
    round_id = custom(events, "round")[0]["round_id"]
    stored = http.get(f"{base_url}/api/rounds/{round_id}").json()
    assert stored["status"] == "failed" and stored["error"]["code"] == code
    assert stored["question"] == QUESTION["question"]


def test_unreachable_model_server(make_settings, serve, http):
    base_url, _ = serve(make_settings(llm_base_url="http://127.0.0.1:9/v1"))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "model_unreachable"
    assert "Questioner" in events[-1].data["message"]
