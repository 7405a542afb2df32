"""llama.cpp's own ``llama-server``: how quizrelay recognises it and speaks to it.

Measured against llama-server (llama.cpp b1-0c1e570, the one vendored in llama-cpp-python
0.3.36) serving SmolLM2-135M (README, "llama-server"):

* it says who it is: ``owned_by: "llamacpp"`` in ``GET /v1/models`` (and ``Server: llama.cpp``);
* a model whose chat template has no tool section (SmolLM2's) gets its ``tools`` silently
  dropped, and ``tool_choice`` is only ever honoured as a keyword, never a named function; but
  ``response_format: json_schema`` is grammar-constrained, ``maxLength`` included;
* without ``--jinja`` (llama.cpp's own default in older builds) any ``tools`` is HTTP 500
  "tools param requires --jinja flag" — permanent, not worth a retry;
* a history ending on an assistant turn is a prefill: the reply continues (echoes) it.

So for the ``llama-server`` profile this client transport turns each tool call the pipelines ask
for into structured output and back: a request that names its tool (the profile's tool-choice
policy names one per call) is sent without ``tools`` and with ``response_format`` set to that
tool's argument schema; the reply's JSON text streams back as that tool call's argument deltas
(``finish_reason: tool_calls``). Earlier tool turns in the history become plain text (the
arguments the assistant gave; the tool's result as a user turn). The pipelines never know.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2

logger = logging.getLogger(__name__)

OWNED_BY = "llamacpp"


PROBE_TIMEOUT = 3.0


async def is_llama_server(base_url: str) -> bool:
    """Whether the OpenAI-compatible server at ``base_url`` is llama.cpp's llama-server."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
            response = await client.get(f"{base_url.rstrip('/')}/models")
        if "llama.cpp" in response.headers.get("server", ""):
            return True
        models = response.json().get("data", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
    return any(isinstance(m, dict) and m.get("owned_by") == OWNED_BY for m in models)


def _named_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The one tool this request must call: named by ``tool_choice``, or the only one offered."""
    tools = [t.get("function", {}) for t in body.get("tools") or [] if isinstance(t, dict)]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        return next((tool for tool in tools if tool.get("name") == name), None)
    if len(tools) == 1 and choice in (None, "auto", "required"):
        return tools[0]
    return None


def _plain_history(messages: list[Any]) -> list[Any]:
    """Tool turns as text: the template has no tool section, and llama-server would otherwise
    render them literally (or end the request on an assistant turn)."""
    names: dict[str, str] = {}
    plain: list[Any] = []
    for message in messages:
        if not isinstance(message, dict):
            plain.append(message)
            continue
        if message.get("role") == "assistant" and message.get("tool_calls"):
            calls = message["tool_calls"]
            for call in calls:
                names[str(call.get("id"))] = call.get("function", {}).get("name", "tool")
            said = " ".join(call.get("function", {}).get("arguments") or "{}" for call in calls)
            text = (message.get("content") or "").strip()
            plain.append({"role": "assistant", "content": f"{text} {said}".strip()})
        elif message.get("role") == "tool":
            name = names.get(str(message.get("tool_call_id")), "the tool")
            plain.append({"role": "user", "content": f"{name} returned: {message.get('content')}"})
        else:
            plain.append(message)
    return plain


class JsonToolsTransport(httpx2.AsyncBaseTransport):
    """Tool calls as grammar-constrained JSON for llama-server (see the module docstring)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return await self.inner.handle_async_request(request)
        try:
            body: Any = json.loads(request.content)
        except (ValueError, UnicodeDecodeError):
            return await self.inner.handle_async_request(request)
        tool = _named_tool(body) if isinstance(body, dict) else None
        body["messages"] = _plain_history(body.get("messages") or [])
        if tool is not None:
            body.pop("tools", None)
            body.pop("tool_choice", None)
            body.pop("parallel_tool_calls", None)
            schema = tool.get("parameters") or {"type": "object", "properties": {}}
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": tool.get("name", "tool"), "schema": schema, "strict": True},
            }
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
        rewritten = httpx2.Request(
            request.method, request.url, headers=headers, content=json.dumps(body).encode(),
            extensions=request.extensions,
        )  # fmt: skip
        response = await self.inner.handle_async_request(rewritten)
        if tool is None or response.status_code != 200:
            return response
        name = str(tool.get("name"))
        if body.get("stream"):
            return httpx2.Response(
                response.status_code, headers=response.headers,
                stream=_ToolCallStream(response, name), extensions=response.extensions,
            )  # fmt: skip
        data = json.loads(await response.aread())
        for choice in data.get("choices", []):
            message = choice.get("message") or {}
            arguments, message["content"] = message.get("content") or "{}", None
            message["tool_calls"] = [_call(name, arguments)]
            if choice.get("finish_reason") == "stop":
                choice["finish_reason"] = "tool_calls"
        return httpx2.Response(200, headers=_without_length(response.headers), json=data)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _call(name: str, arguments: str) -> dict[str, Any]:
    return {"id": f"call_{uuid.uuid4().hex[:16]}", "type": "function",
            "function": {"name": name, "arguments": arguments}}  # fmt: skip


def _without_length(headers: httpx2.Headers) -> list[tuple[bytes, bytes]]:
    return [
        (k, v) for k, v in headers.raw if k.lower() not in (b"content-length", b"content-encoding")
    ]


class _ToolCallStream(httpx2.AsyncByteStream):
    """The reply's streamed JSON text, re-said as one tool call's argument deltas."""

    def __init__(self, response: httpx2.Response, name: str) -> None:
        self.response = response
        self.name = name
        self.call_id = f"call_{uuid.uuid4().hex[:16]}"
        self.started = False

    def _chunk(self, data: dict[str, Any]) -> dict[str, Any]:
        for choice in data.get("choices", []):
            delta = choice.get("delta") or {}
            content = delta.pop("content", None)
            if content:
                piece: dict[str, Any] = {"index": 0, "function": {"arguments": content}}
                if not self.started:
                    piece.update(id=self.call_id, type="function")
                    piece["function"]["name"] = self.name
                    self.started = True
                delta["tool_calls"] = [piece]
            if choice.get("finish_reason") == "stop":
                choice["finish_reason"] = "tool_calls"
            choice["delta"] = delta
        return data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        buffer = b""
        async for raw in self.response.aiter_raw():
            buffer += raw
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                yield self._line(line) + b"\n"
        if buffer:
            yield self._line(buffer)

    def _line(self, line: bytes) -> bytes:
        text = line.decode("utf-8", errors="replace").rstrip("\r")
        if not text.startswith("data:") or text[5:].strip() == "[DONE]":
            return line
        try:
            data = json.loads(text[5:].strip())
        except ValueError:
            return line
        return ("data: " + json.dumps(self._chunk(data))).encode()

    async def aclose(self) -> None:
        await self.response.aclose()
