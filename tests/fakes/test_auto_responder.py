"""The scripted server's auto responders, which answer whatever a pipeline asks: a named tool
choice gets arguments that satisfy the tool's JSON schema exactly, "required" gets the first tool,
and the paced responder streams a fixed answer at a set pace (what the benchmarks run on)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import MESSAGES, client_for, stream_chunks
from .scripted_openai import (
    PACED_ANSWER,
    ScriptedOpenAIServer,
    TextStep,
    auto_responder,
    paced_auto_responder,
    stream_payloads,
)


@pytest.mark.asyncio
async def test_auto_responder_satisfies_a_named_tool_choice(server: ScriptedOpenAIServer) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "answer": {"type": "integer"},
            "reason": {"type": "string"},
            "confident": {"type": "boolean"},
            "grade": {"enum": ["A", "B"]},
            "detail": {
                "type": "object",
                "properties": {"score": {"type": "number"}},
                "required": ["score"],
                "additionalProperties": False,
            },
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["answer", "reason", "confident", "grade", "detail", "tags"],
        "additionalProperties": False,
    }
    tools: list[Any] = [
        {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "submit", "parameters": parameters}},
    ]
    server.responder = auto_responder
    choice: Any = {"type": "function", "function": {"name": "submit"}}
    async with client_for(server) as client:
        chunks = await stream_chunks(client, tools=tools, tool_choice=choice)
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function and deltas[0].function.name == "submit"
    arguments = json.loads("".join(d.function.arguments or "" for d in deltas if d.function))
    # Exact, so a wrong type, a missing required key or an extra key all fail.
    expected = {
        "answer": 1,
        "reason": "42",
        "confident": True,
        "grade": "A",
        "detail": {"score": 1},
        "tags": [],
    }
    assert arguments == expected
    assert type(arguments["answer"]) is int and type(arguments["confident"]) is bool


def test_auto_responder_required_picks_first_tool_and_otherwise_answers_text() -> None:
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {}}}
        for name in ("first", "second")
    ]
    required = auto_responder({"messages": MESSAGES, "tools": tools, "tool_choice": "required"})
    free = auto_responder({"messages": MESSAGES, "tools": tools, "tool_choice": "auto"})
    assert getattr(required, "name", None) == "first"
    assert getattr(free, "chunks", None) == ("42",)


def test_paced_auto_responder_streams_about_twenty_paced_chunks() -> None:
    step = paced_auto_responder(first_token_delay=0.2, token_interval=0.01)({"messages": MESSAGES})
    assert isinstance(step, TextStep)  # no tools offered: a text answer
    assert step.faults.first_token_delay == 0.2
    assert step.faults.token_interval == 0.01
    payloads = stream_payloads(step, {"id": "x"})
    content = [p for p in payloads if p["choices"] and p["choices"][0]["delta"].get("content")]
    assert 18 <= len(content) <= 24
    assert "".join(p["choices"][0]["delta"]["content"] for p in content) == PACED_ANSWER
