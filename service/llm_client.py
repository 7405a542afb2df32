"""The ``openai`` client both pipelines share, and the one request fix-up some servers need.

llama-cpp-python's server rejects an assistant message whose ``content`` is null (its request
model wants a string), yet that is how the Agents SDK replays a tool-calling turn. For the
``llama-cpp`` profile the client's transport rewrites such messages to ``content: ""`` on the
way out; everything else about the request is left alone.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from .llama_server import JsonToolsTransport
from .settings import Settings


class NullContentFixTransport(httpx2.AsyncBaseTransport):
    """Rewrites ``"content": null`` in assistant messages of chat completion requests."""

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/chat/completions"):
            request = _rewrite(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _rewrite(request: httpx2.Request) -> httpx2.Request:
    try:
        body: Any = json.loads(request.content)
    except (ValueError, UnicodeDecodeError):
        return request
    changed = False
    for message in body.get("messages", []) if isinstance(body, dict) else []:
        if (
            isinstance(message, dict)
            and message.get("role") == "assistant"
            and message.get("content") is None
        ):
            message["content"] = ""
            changed = True
    if not changed:
        return request
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    return httpx2.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps(body).encode(),
        extensions=request.extensions,
    )


def build_client(
    settings: Settings, base_url: str, *, profile: str | None = None, api_key: str | None = None
) -> AsyncOpenAI:
    """The client for ``base_url`` with its key (the settings' by default) and read timeout."""
    profile = profile or settings.profile()
    transport: httpx2.AsyncBaseTransport | None = None
    if profile == "llama-cpp":
        transport = NullContentFixTransport()
    elif profile == "llama-server":
        transport = JsonToolsTransport()
    http_client = DefaultAsyncHttpxClient(transport=transport) if transport else None
    timeout = httpx2.Timeout(connect=10.0, read=settings.llm_read_timeout, write=30.0, pool=30.0)
    return AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or settings.api_key_value(),
        timeout=timeout,
        max_retries=0,  # retries are service/retry.py's job, visible as events and spans
        http_client=http_client,
    )
