"""Proves the scripted server against the real ``openai.AsyncOpenAI`` client (and the Agents
SDK), so tests that rely on it exercise the same wire format and the same exception types as
production. Observed exception mapping of openai 3.57 (httpx2 transport):

* ``cut_after``          → ``openai.APIConnectionError`` while iterating; its ``__cause__`` is
                           ``httpx2.RemoteProtocolError`` ("incomplete chunked read").
* ``stream_error_after`` → plain ``openai.APIError`` (not an ``APIStatusError``) while iterating.
* ``hang()`` + timeout   → ``openai.APITimeoutError`` from ``create()``, caused by
                           ``httpx2.ReadTimeout`` (the headers never arrive).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageFunctionToolCall

from tests.conftest import wait_until

from .conftest import MESSAGES, client_for, stream_chunks
from .scripted_openai import (
    PACED_ANSWER,
    ScriptedOpenAIServer,
    error,
    hang,
    text,
    tool_call,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def joined_content(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.asyncio
async def test_text_streams_in_several_chunks_and_reassembles(server: ScriptedOpenAIServer) -> None:
    server.enqueue(text("Six times seven is 42."))
    async with client_for(server) as client:
        chunks = await stream_chunks(client)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) >= 4
    assert joined_content(chunks) == "Six times seven is 42."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" and c.model == "scripted-model" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    server.assert_complete()


@pytest.mark.asyncio
async def test_explicit_chunks_are_sent_as_given(server: ScriptedOpenAIServer) -> None:
    server.enqueue(text("forty-two", chunks=["for", "ty-", "two"]))
    async with client_for(server) as client:
        chunks = await stream_chunks(client)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == ["for", "ty-", "two"]


@pytest.mark.asyncio
async def test_tool_call_reassembles_name_id_and_arguments(server: ScriptedOpenAIServer) -> None:
    arguments = {"question": "6 x 7", "answer": 42}
    server.enqueue(tool_call("submit_answer", arguments, call_id="call_abc", chunks=4))
    async with client_for(server) as client:
        chunks = await stream_chunks(client)
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    first, rest = deltas[0], deltas[1:]
    assert (first.id, first.type, first.function and first.function.name) == (
        "call_abc",
        "function",
        "submit_answer",
    )
    assert len(rest) == 4
    assert all(d.id is None and d.function and d.function.name is None for d in rest)
    assert all(d.index == 0 for d in deltas)
    raw = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(raw) == arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.asyncio
async def test_tool_call_with_leading_text_and_raw_malformed_arguments(
    server: ScriptedOpenAIServer,
) -> None:
    server.enqueue(tool_call("submit_answer", '{"answer": 4', text="Let me submit."))
    async with client_for(server) as client:
        chunks = await stream_chunks(client)
    assert joined_content(chunks) == "Let me submit."
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert "".join(d.function.arguments or "" for d in deltas if d.function) == '{"answer": 4'


@pytest.mark.asyncio
async def test_usage_chunk_arrives_only_when_given(server: ScriptedOpenAIServer) -> None:
    server.extend([text("forty two", usage=(12, 3)), text("forty two")])
    async with client_for(server) as client:
        with_usage = await stream_chunks(client)
        without_usage = await stream_chunks(client)
    last = with_usage[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        12,
        3,
        15,
    )
    assert all(c.usage is None for c in without_usage)


@pytest.mark.asyncio
async def test_rate_limit_raises_rate_limit_error(server: ScriptedOpenAIServer) -> None:
    server.enqueue(error(429, "slow down", headers={"retry-after": "7"}))
    async with client_for(server) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await stream_chunks(client)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert isinstance(caught.value.body, dict) and caught.value.body["message"] == "slow down"


@pytest.mark.asyncio
async def test_server_error_raises_internal_server_error(server: ScriptedOpenAIServer) -> None:
    server.extend([error(500, "boom"), error(503, "overloaded")])
    async with client_for(server) as client:
        for status in (500, 503):
            with pytest.raises(openai.InternalServerError) as caught:
                await stream_chunks(client)
            assert caught.value.status_code == status


@pytest.mark.asyncio
async def test_cut_after_breaks_the_stream_with_connection_error(
    server: ScriptedOpenAIServer,
) -> None:
    server.enqueue(text("one two three four five six", cut_after=3))
    received: list[ChatCompletionChunk] = []
    async with client_for(server) as client:
        stream = await client.chat.completions.create(model="any", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIConnectionError) as caught:
            async for chunk in stream:
                received.append(chunk)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert len(received) == 3  # role chunk + "one " + "two "
    assert all(c.choices[0].finish_reason is None for c in received)


@pytest.mark.asyncio
async def test_hang_times_out_on_the_client_and_stop_does_not_wait() -> None:
    scripted = ScriptedOpenAIServer().start()
    try:
        scripted.enqueue(hang())
        async with client_for(scripted, timeout=0.5) as client:
            started = time.monotonic()
            with pytest.raises(openai.APITimeoutError) as caught:
                await stream_chunks(client)
        assert time.monotonic() - started < 2.0
        assert isinstance(caught.value.__cause__, httpx2.TimeoutException)
    finally:
        stopping = time.monotonic()
        scripted.stop()
    assert time.monotonic() - stopping < 3.0


@pytest.mark.asyncio
async def test_stop_while_a_client_waits_on_hang_returns_promptly() -> None:
    scripted = ScriptedOpenAIServer().start()
    scripted.enqueue(hang())
    payload = {"model": "m", "messages": MESSAGES, "stream": True}
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{scripted.base_url}/chat/completions"
        pending = asyncio.ensure_future(http.post(url, json=payload))
        # The server records the request on its own thread: wait for it there, bounded.
        await asyncio.to_thread(wait_until, lambda: scripted.requests, timeout=5)
        stopping = time.monotonic()
        await asyncio.to_thread(scripted.stop)
        assert time.monotonic() - stopping < 3.0
        response = await pending
    assert response.status_code == 503


@pytest.mark.asyncio
async def test_stream_error_after_raises_api_error(server: ScriptedOpenAIServer) -> None:
    server.enqueue(text("one two three four", stream_error_after=2))
    received: list[ChatCompletionChunk] = []
    async with client_for(server) as client:
        stream = await client.chat.completions.create(model="any", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError) as caught:
            async for chunk in stream:
                received.append(chunk)
    assert not isinstance(caught.value, (openai.APIStatusError, openai.APIConnectionError))
    assert "injected stream error" in caught.value.message
    assert len(received) == 2


@pytest.mark.asyncio
async def test_pacing_delays_first_chunk_and_spaces_the_rest(server: ScriptedOpenAIServer) -> None:
    server.enqueue(text("a b c d e", first_token_delay=0.3, token_interval=0.05))
    async with client_for(server) as client:
        started = time.monotonic()
        stream = await client.chat.completions.create(model="any", messages=MESSAGES, stream=True)
        arrivals = [time.monotonic() - started async for _ in stream]
    assert arrivals[0] >= 0.28
    assert arrivals[-1] - arrivals[0] >= 0.05 * (len(arrivals) - 1) * 0.8


@pytest.mark.asyncio
async def test_recorded_request_holds_the_messages_sent(server: ScriptedOpenAIServer) -> None:
    server.enqueue(text("42"))
    async with client_for(server) as client:
        await stream_chunks(client, temperature=0.0)
    [recorded] = server.requests
    assert recorded.method == "POST" and recorded.path == "/v1/chat/completions"
    assert recorded.body["messages"] == MESSAGES
    assert recorded.body["stream"] is True and recorded.body["temperature"] == 0.0
    assert recorded.headers["authorization"] == "Bearer test"


@pytest.mark.asyncio
async def test_empty_queue_answers_500_with_an_explanation(server: ScriptedOpenAIServer) -> None:
    async with client_for(server) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await stream_chunks(client)
    assert "unexpected request (no scripted step left)" in caught.value.message
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_non_streaming_request_gets_a_chat_completion(server: ScriptedOpenAIServer) -> None:
    server.extend([text("forty two"), tool_call("submit", {"answer": 42}, call_id="call_1")])
    async with client_for(server) as client:
        answer = await client.chat.completions.create(model="any", messages=MESSAGES)
        call = await client.chat.completions.create(model="any", messages=MESSAGES)
    assert answer.choices[0].message.content == "forty two"
    assert answer.usage is not None and answer.usage.completion_tokens == 2
    assert answer.usage.prompt_tokens == len(MESSAGES[0]["content"].split())
    [made] = call.choices[0].message.tool_calls or []
    assert isinstance(made, ChatCompletionMessageFunctionToolCall)
    assert made.id == "call_1" and made.function.name == "submit"
    assert json.loads(made.function.arguments) == {"answer": 42}
    assert call.choices[0].finish_reason == "tool_calls"


@pytest.mark.asyncio
async def test_models_endpoint_and_unknown_paths(server: ScriptedOpenAIServer) -> None:
    async with client_for(server) as client:
        models = await client.models.list()
        assert [m.id for m in models.data] == ["scripted-model"]
        with pytest.raises(openai.NotFoundError):
            await client.embeddings.create(model="any", input="x")


def test_assert_complete_fails_when_steps_remain(server: ScriptedOpenAIServer) -> None:
    server.extend([text("unused"), error(500)])
    assert server.remaining_steps == 2
    with pytest.raises(AssertionError, match="2 step"):
        server.assert_complete()


@pytest.mark.asyncio
async def test_agents_sdk_runs_against_the_server_unchanged(server: ScriptedOpenAIServer) -> None:
    from agents import Agent, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool

    seen: list[int] = []

    @function_tool
    def record_answer(answer: int) -> str:
        """Record the final answer."""
        seen.append(answer)
        return "recorded"

    server.extend(
        [
            tool_call("record_answer", {"answer": 42}, usage=(20, 5)),
            text("I recorded 42.", usage=(30, 4)),
        ]
    )
    async with client_for(server) as client:
        model = OpenAIChatCompletionsModel(model="scripted-model", openai_client=client)
        agent = Agent(name="quizzer", instructions="Answer.", model=model, tools=[record_answer])
        run = Runner.run_streamed(agent, "6 x 7?", run_config=RunConfig(tracing_disabled=True))
        async for _ in run.stream_events():
            pass
    assert seen == [42]
    assert run.final_output == "I recorded 42."
    assert server.requests[1].body["messages"][-1]["role"] == "tool"
    server.assert_complete()


def test_module_runs_standalone_with_paced_auto_responder() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    module = "tests.fakes.scripted_openai"
    command = [sys.executable, "-m", module, "--port", str(port), "--first-token-delay", "0.05"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    options: dict[str, Any] = {"cwd": PROJECT_ROOT, "env": env, "stdout": subprocess.PIPE}
    with subprocess.Popen(command, text=True, **options) as process:
        try:
            assert process.stdout is not None
            assert f"127.0.0.1:{port}/v1" in process.stdout.readline()
            payload = {"model": "m", "messages": MESSAGES}
            response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=payload)
            assert response.json()["choices"][0]["message"]["content"] == PACED_ANSWER
        finally:
            process.send_signal(signal.SIGINT)  # the clean Ctrl-C path must exit 0
            try:
                code = process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()  # never leave the suite waiting on it
                raise
            assert code == 0
