"""What the scripted server's own tests share: a fresh server per test, and the production
``openai`` client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from .scripted_openai import ScriptedOpenAIServer

MESSAGES: list[Any] = [{"role": "user", "content": "What is six times seven?"}]


@pytest.fixture
def server() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer() as scripted:
        yield scripted


def client_for(server: ScriptedOpenAIServer, **options: Any) -> openai.AsyncOpenAI:
    """The production client, with retries off so each scripted step is one request."""
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0, **options)


async def stream_chunks(client: openai.AsyncOpenAI, **extra: Any) -> list[ChatCompletionChunk]:
    stream = await client.chat.completions.create(
        model="any", messages=MESSAGES, stream=True, **extra
    )
    return [chunk async for chunk in stream]
