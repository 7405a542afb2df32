"""llama.cpp's llama-server, on the wire: the scripted server behaves as the real one does
(LlamaServerQuirks), and every pipeline finishes its rounds on it — recognised by itself, its tool
calls sent as structured output, and never a request that ends on an assistant turn."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.fakes.scripted_openai import LlamaServerQuirks, ScriptedOpenAIServer, auto_responder
from tests.fakes.scripted_openai import text as scripted_text
from tests.support.sse import custom, stream_round

QUESTION = {"question": "What is 6 times 7?", "reference_answer": "42"}


@pytest.mark.parametrize("pipeline", ["agents", "agents-tools", "chat"])
def test_rounds_finish_on_llama_server(
    make_settings, serve, http: httpx.Client, pipeline: str
) -> None:
    quirks = LlamaServerQuirks()
    with ScriptedOpenAIServer(model="smollm2", llama_server=quirks) as server:
        server.responder = auto_responder
        # No profile is set: the service asks the server what it is.
        base_url, _ = serve(make_settings(llm_base_url=server.base_url, model_profile="auto"))
        assert http.get(f"{base_url}/healthz").json()["profile"] == "llama-server"
        listed = http.get(f"{base_url}/api/models").json()
        default = [m for m in listed["items"] if m["name"] == listed["default"]]
        assert [m["profile"] for m in default] == ["llama-server"]
        events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION})
        assert events[-1].type == "RUN_FINISHED", events[-1].data
        assert custom(events, "verdict")[0]["decided_by"] == "check_answer"
        calls = [r.body for r in server.requests if r.path == "/v1/chat/completions"]
        assert calls and all("tools" not in body and "tool_choice" not in body for body in calls)
        structured = [body for body in calls if body.get("response_format")]
        assert structured, "tool calls travel as response_format json_schema"
        names = {body["response_format"]["json_schema"]["name"] for body in structured}
        assert {"check_answer", "submit_verdict"} <= names
        assert all(body["messages"][-1]["role"] != "assistant" for body in calls)
        assert quirks.prefills == []  # never a request the server would read as a prefill


def test_a_server_without_jinja_is_a_clear_permanent_error(
    make_settings, serve, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedOpenAIServer(
        model="smollm2", llama_server=LlamaServerQuirks(jinja=False)
    ) as server:
        server.responder = auto_responder
        base_url, _ = serve(
            make_settings(llm_base_url=server.base_url, model_profile="generic", llm_max_retries=3)
        )
        with caplog.at_level(logging.WARNING):
            events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
        assert events[-1].type == "RUN_ERROR"
        assert events[-1].data["code"] == "model_request_rejected"
        assert "--jinja" in events[-1].data["message"]
        assert len(server.requests) == 1  # not retried: no retry can fix it
        round_id = events[0].data["runId"]
        failed = [r.getMessage() for r in caplog.records if round_id in r.getMessage()]
        assert any("model_request_rejected" in line for line in failed)


def test_a_reply_cut_at_max_tokens_says_so(make_settings, serve, http: httpx.Client) -> None:
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.extend([scripted_text("Let me think about which tool to", finish_reason="length")])
        base_url, _ = serve(make_settings(llm_base_url=server.base_url))
        events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
        assert events[-1].type == "RUN_ERROR"
        assert events[-1].data["code"] == "model_output_truncated"
        assert "max_tokens" in events[-1].data["message"]


def test_retries_and_server_errors_are_logged_without_secrets(
    make_settings, serve, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fakes.scripted_openai import error

    key = "sk-do-not-log-me-123456"
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.extend([error(503, f"overloaded {key}"), error(503, "overloaded")])
        base_url, _ = serve(
            make_settings(
                llm_base_url=server.base_url,
                llm_api_key=key,
                llm_max_retries=1,
                llm_retry_base_delay=0.01,
            )
        )
        with caplog.at_level(logging.INFO):
            events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
        assert events[-1].data["code"] == "model_server_error"
        round_id = events[0].data["runId"]
        lines = [r.getMessage() for r in caplog.records]
        assert any(round_id in line and "retry 1 of 1" in line for line in lines)
        assert any(round_id in line and "model_server_error" in line and "failed" in line
                   for line in lines)  # fmt: skip
        assert all(key not in line for line in lines)
