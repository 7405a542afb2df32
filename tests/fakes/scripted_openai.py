"""A scripted, fault-injecting OpenAI-compatible Chat Completions server on loopback.

Why: the model boundary is where real failures happen (429s, dropped streams, stalls) and a real
model is slow and unpredictable. This server speaks the real wire format, so ``openai.AsyncOpenAI``
and the Agents SDK talk to it unchanged, while a test scripts what the "model" answers, how fast,
and how it breaks. Each POST /v1/chat/completions consumes one queued step; with the queue empty
the ``responder`` (if set) builds one from the request, else the server answers an explanatory 500.

Fault options count *chunks*: the SSE ``data:`` events of a stream in order — the role chunk
(index 0), content and tool-call chunks, the finish chunk, the usage chunk; ``[DONE]`` is none.
Standalone, for a benchmark (serves forever with :func:`paced_auto_responder`):
    python -m tests.fakes.scripted_openai --port 8399 --first-token-delay 0.1 --token-interval 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import uvicorn

_ids = itertools.count(1)


@dataclass(frozen=True)
class Faults:
    """How a streamed step misbehaves; the defaults are a well-behaved, instant stream."""

    first_token_delay: float = 0.0  # seconds before chunk 0 (the headers go out at once)
    token_interval: float = 0.0  # seconds before each later chunk
    cut_after: int | None = None  # drop the connection after N chunks: no finish, no [DONE]
    stream_error_after: int | None = None  # send `data: {"error": ...}` after N chunks


class FaultOptions(TypedDict, total=False):
    """The :class:`Faults` fields, accepted as keyword options by :func:`text`/:func:`tool_call`."""

    first_token_delay: float
    token_interval: float
    cut_after: int | None
    stream_error_after: int | None


@dataclass(frozen=True)
class TextStep:
    """The model answers with plain text, streamed as ``chunks``."""

    chunks: tuple[str, ...]
    usage: tuple[int, int] | None = None
    finish_reason: str = "stop"
    faults: Faults = Faults()


@dataclass(frozen=True)
class ToolCallStep:
    """The model calls one function; ``arguments`` is raw text, so it may be malformed JSON."""

    name: str
    arguments: str
    call_id: str
    argument_chunks: tuple[str, ...]
    text_chunks: tuple[str, ...] = ()
    usage: tuple[int, int] | None = None
    faults: Faults = Faults()


@dataclass(frozen=True)
class ErrorStep:
    """The server rejects the request: HTTP ``status`` and an OpenAI-style error body."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HangStep:
    """The server reads the request and never answers (until the client leaves or we stop)."""


JsonObject = dict[str, Any]
Step = TextStep | ToolCallStep | ErrorStep | HangStep
Responder = Callable[[JsonObject], Step]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def split_words(content: str) -> list[str]:
    """Word-ish pieces (each keeps its spaces), so a stream has several content chunks."""
    return re.findall(r"\s*\S+\s*", content) or ([content] if content else [])


def split_even(raw: str, pieces: int) -> list[str]:
    """``raw`` in at most ``pieces`` contiguous parts, so JSON arrives torn mid-token."""
    size = max(1, -(-len(raw) // max(1, pieces)))
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def text(
    content: str,
    *,
    chunks: list[str] | None = None,
    usage: tuple[int, int] | None = None,
    finish_reason: str = "stop",
    **faults: Unpack[FaultOptions],
) -> TextStep:
    """A text answer; ``chunks`` overrides the word split and must concatenate to ``content``."""
    pieces = split_words(content) if chunks is None else list(chunks)
    if "".join(pieces) != content:
        raise ValueError("text(): chunks must concatenate to content")
    return TextStep(tuple(pieces), usage, finish_reason, Faults(**faults))


def tool_call(
    name: str,
    arguments: str | dict[str, Any],
    *,
    call_id: str | None = None,
    chunks: int = 3,
    usage: tuple[int, int] | None = None,
    text: str | None = None,
    **faults: Unpack[FaultOptions],
) -> ToolCallStep:
    """One function call, after optional ``text``; ``arguments`` torn into ``chunks`` parts."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call_id = call_id or f"call_scripted_{next(_ids):04d}"
    return ToolCallStep(
        name=name,
        arguments=raw,
        call_id=call_id,
        argument_chunks=tuple(split_even(raw, chunks)),
        text_chunks=tuple(split_words(text or "")),
        usage=usage,
        faults=Faults(**faults),
    )


def error(
    status: int, message: str = "Scripted error", *, headers: dict[str, str] | None = None
) -> ErrorStep:
    """An HTTP error, e.g. ``error(429, headers={"retry-after": "1"})`` or ``error(503)``."""
    return ErrorStep(status, message, dict(headers or {}))


def hang() -> HangStep:
    """Accept the request and send nothing: drives client timeout paths."""
    return HangStep()


# --- auto responders ------------------------------------------------------------------------


def value_for_schema(schema: dict[str, Any]) -> Any:
    """A deterministic value for a simple JSON schema: strings "42", numbers 1, booleans true,
    enums their first value, arrays empty, objects their required (else all) properties."""
    arms = [arm for arm in schema.get("anyOf", []) if arm.get("type") != "null"]
    schema = arms[0] if arms else schema  # Optional[X] arrives as anyOf [X, null]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):  # e.g. ["integer", "null"]
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        names = schema.get("required", list(props))
        return {name: value_for_schema(props.get(name, {})) for name in names}
    return {"string": "42", "integer": 1, "number": 1, "boolean": True, "array": []}.get(kind)


def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool definition ``tool_choice`` forces, or None when the model may answer freely."""
    tools = [tool.get("function", {}) for tool in body.get("tools") or []]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        wanted = choice.get("function", {}).get("name")
        return next((tool for tool in tools if tool.get("name") == wanted), {"name": wanted})
    return tools[0] if choice == "required" and tools else None


def count_prompt_words(body: dict[str, Any]) -> int:
    """Rough prompt size in words; the usage numbers a fake needs, no tokenizer required."""
    words = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else [{"text": content or ""}]
        words += sum(len(str(p.get("text", "")).split()) for p in parts if isinstance(p, dict))
    return words


def _auto_step(body: dict[str, Any], answer: str, faults: Faults, arg_chunks: int) -> Step:
    """Forced tool → schema-valid call; ``json_schema`` response format → JSON; else text."""
    forced = _forced_tool(body)
    if forced is not None:
        raw = json.dumps(value_for_schema(forced.get("parameters") or {"type": "object"}))
        step = tool_call(str(forced.get("name")), raw, chunks=arg_chunks)
        usage = (count_prompt_words(body), len(step.argument_chunks))
        return dataclasses.replace(step, usage=usage, faults=faults)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":  # structured output must parse
        answer = json.dumps(value_for_schema(response_format["json_schema"].get("schema", {})))
    pieces = split_words(answer)
    return TextStep(tuple(pieces), (count_prompt_words(body), len(pieces)), "stop", faults)


def auto_responder(body: dict[str, Any]) -> Step:
    """Make any request succeed sensibly and deterministically (``text("42")`` by default)."""
    return _auto_step(body, "42", Faults(), arg_chunks=3)


PACED_ANSWER = (
    "The answer is 42. I read the question carefully, checked every clue twice, "
    "and I am confident it is right."
)  # 20 word chunks: enough for tokens-per-second pacing to mean something


def paced_auto_responder(first_token_delay: float = 0.1, token_interval: float = 0.02) -> Responder:
    """:func:`auto_responder` with model-like pacing on every chunk, for latency benchmarks."""
    faults = Faults(first_token_delay=first_token_delay, token_interval=token_interval)
    return lambda body: _auto_step(body, PACED_ANSWER, faults, arg_chunks=10)


# --- wire format ----------------------------------------------------------------------------


def error_body(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error envelope, with the ``type``/``code`` OpenAI uses for that status."""
    kinds = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error"}
    kind = kinds.get(status, "server_error" if status >= 500 else "invalid_request_error")
    code = "rate_limit_exceeded" if status == 429 else (kind if status >= 500 else None)
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _usage(prompt: int, completion: int) -> dict[str, int]:
    total = prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> JsonObject:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    return {**base, "choices": [choice]}


def stream_payloads(step: TextStep | ToolCallStep, base: dict[str, Any]) -> list[JsonObject]:
    """Every ``chat.completion.chunk`` of a step, in order, shaped the way OpenAI sends them."""
    texts = step.chunks if isinstance(step, TextStep) else step.text_chunks
    payloads = [_chunk(base, {"role": "assistant", "content": ""})]
    payloads += [_chunk(base, {"content": piece}) for piece in texts]
    if isinstance(step, ToolCallStep):
        function = {"name": step.name, "arguments": ""}
        header = {"index": 0, "id": step.call_id, "type": "function", "function": function}
        if texts:
            payloads.append(_chunk(base, {"tool_calls": [header]}))
        else:  # without text, OpenAI puts the call's header into the role chunk
            delta = {"role": "assistant", "content": None, "tool_calls": [header]}
            payloads[0] = _chunk(base, delta)
        for piece in step.argument_chunks:
            arguments = {"index": 0, "function": {"arguments": piece}}
            payloads.append(_chunk(base, {"tool_calls": [arguments]}))
    finish = step.finish_reason if isinstance(step, TextStep) else "tool_calls"
    payloads.append(_chunk(base, {}, finish))
    if step.usage is not None:
        payloads.append({**base, "choices": [], "usage": _usage(*step.usage)})
    return payloads


def completion_body(
    step: TextStep | ToolCallStep, base: JsonObject, request: JsonObject
) -> JsonObject:
    """The non-streaming ``chat.completion`` carrying the same answer as the stream would."""
    texts = step.chunks if isinstance(step, TextStep) else step.text_chunks
    content = "".join(texts)
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    finish = step.finish_reason if isinstance(step, TextStep) else "tool_calls"
    completion_words = len(content.split())
    if isinstance(step, ToolCallStep):
        function = {"name": step.name, "arguments": step.arguments}
        message["content"] = content or None
        message["tool_calls"] = [{"id": step.call_id, "type": "function", "function": function}]
        completion_words += len(step.arguments.split())
    usage = step.usage or (count_prompt_words(request), completion_words)
    choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    return {**base, "object": "chat.completion", "choices": [choice], "usage": _usage(*usage)}


# --- the ASGI side --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received; ``received_at`` is ``time.monotonic()``, to measure gaps."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON; the raw text if it was not JSON; None if empty
    received_at: float


class _AbortConnection(Exception):
    """Raised in the ASGI app after the response started: uvicorn then closes the socket
    without the final chunk — a genuinely broken stream, not a clean end, for the client."""


def _quiet_aborts(record: logging.LogRecord) -> bool:
    """Log filter: drop uvicorn's 'Exception in ASGI application' for deliberate aborts."""
    return not (record.exc_info and isinstance(record.exc_info[1], _AbortConnection))


class _Exchange:
    """One request/response on the server loop. Its waits end early when the client leaves
    or the server stops, so ``stop()`` never waits out a scripted delay or hang."""

    def __init__(self, receive: Receive, send: Send, stopping: asyncio.Event) -> None:
        self.send, self.stopping, self.started = send, stopping, False
        self.left = asyncio.ensure_future(receive())  # the body is read: only disconnect is left

    async def start(self, status: int, headers: dict[str, str]) -> None:
        self.started = True
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        await self.send({"type": "http.response.start", "status": status, "headers": raw})

    async def write(self, data: bytes, *, more: bool = True) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        await self.start(status, {"content-type": "application/json", **(headers or {})})
        await self.write(json.dumps(payload).encode(), more=False)

    async def pause(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (None: forever); False if the client left or the server stops."""
        if seconds is not None and seconds <= 0:
            return not (self.stopping.is_set() or self.left.done())
        stopped = asyncio.ensure_future(self.stopping.wait())
        waits = {stopped, self.left}
        done, _ = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        return not done

    async def interrupted(self) -> None:
        """After a cut-short pause: a departed client needs nothing; a stopping server cuts."""
        if self.left.done():
            return
        if not self.started:
            return await self.json(503, error_body(503, "ScriptedOpenAIServer: stopped"))
        raise _AbortConnection("server stopping")


async def _stream(ex: _Exchange, step: TextStep | ToolCallStep, payloads: list[JsonObject]) -> None:
    """Send SSE chunks at the step's pace, applying cut/error faults at their positions."""
    cut, error_at = step.faults.cut_after, step.faults.stream_error_after
    await ex.start(200, {"content-type": "text/event-stream", "cache-control": "no-cache"})
    for index in range(len(payloads) + 1):
        at_end = index == len(payloads)
        if cut is not None and (cut == index or (at_end and cut > index)):
            raise _AbortConnection(f"cut_after={cut}")
        if error_at is not None and error_at <= index:
            message = f"ScriptedOpenAIServer: injected stream error after {index} chunks"
            await ex.write(f"data: {json.dumps(error_body(500, message))}\n\n".encode())
            break
        if at_end:
            break
        delay = step.faults.first_token_delay if index == 0 else step.faults.token_interval
        if not await ex.pause(delay):
            return await ex.interrupted()
        await ex.write(f"data: {json.dumps(payloads[index])}\n\n".encode())
    await ex.write(b"data: [DONE]\n\n", more=False)


async def _respond_whole(ex: _Exchange, step: TextStep | ToolCallStep, payload: JsonObject) -> None:
    """``stream: false``: one JSON body after ``first_token_delay``; ``cut_after`` sends half
    the body then drops the connection; ``stream_error_after`` becomes an HTTP 500."""
    if not await ex.pause(step.faults.first_token_delay):
        return await ex.interrupted()
    if step.faults.stream_error_after is not None:
        return await ex.json(500, error_body(500, "ScriptedOpenAIServer: injected error"))
    if step.faults.cut_after is None:
        return await ex.json(200, payload)
    data = json.dumps(payload).encode()
    await ex.start(200, {"content-type": "application/json", "content-length": str(len(data))})
    await ex.write(data[: len(data) // 2])
    raise _AbortConnection("cut_after (non-streaming)")


async def _read_json(receive: Receive) -> Any:
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


# --- the server -----------------------------------------------------------------------------


class ScriptedOpenAIServer:
    """Uvicorn in a background thread answering from a queue of scripted steps.

    The queue and the request log are shared by the test thread and the server thread,
    hence ``_lock``; ``requests`` hands out a copy."""

    def __init__(
        self,
        model: str = "scripted-model",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
    ) -> None:
        self.model, self.responder = model, responder
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._steps: deque[Step] = deque()
        self._requests: list[RecordedRequest] = []
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()

    @property
    def base_url(self) -> str:
        """The ``base_url`` for an OpenAI client (the port is known once started)."""
        return f"http://{self._host}:{self._port}/v1"

    def enqueue(self, step: Step) -> None:
        with self._lock:
            self._steps.append(step)

    def extend(self, steps: list[Step]) -> None:
        with self._lock:
            self._steps.extend(steps)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def remaining_steps(self) -> int:
        with self._lock:
            return len(self._steps)

    def assert_complete(self) -> None:
        """Fail when the code under test made fewer model calls than were scripted."""
        with self._lock:
            left = [type(step).__name__ for step in self._steps]
        if left:
            raise AssertionError(f"ScriptedOpenAIServer: {len(left)} step(s) never used: {left}")

    def start(self) -> ScriptedOpenAIServer:
        """Bind (port 0: a free one), serve in a thread; return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("ScriptedOpenAIServer already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        # interface="asgi3": uvicorn cannot infer it from a bound method; lifespan/ws unused.
        config = uvicorn.Config(
            self._asgi,
            host=self._host,
            port=self._port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,  # a backstop: stop() already wakes every waiting step
        )
        if _quiet_aborts not in logging.getLogger("uvicorn.error").filters:
            logging.getLogger("uvicorn.error").addFilter(_quiet_aborts)
        self._server, self._stopping = uvicorn.Server(config), asyncio.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ScriptedOpenAIServer failed to start")
            time.sleep(0.005)
        return self

    def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        self._loop = loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._server.serve(sockets=[sock]))
        finally:
            loop.close()
            sock.close()

    def stop(self) -> None:
        """Wake every scripted delay and hang, then shut uvicorn down and join its thread."""
        thread, server, loop = self._thread, self._server, self._loop
        if thread is None or server is None:
            return
        try:
            if loop is not None:
                loop.call_soon_threadsafe(self._stopping.set)
        except RuntimeError:  # the loop already closed: nothing is waiting
            pass
        server.should_exit = True
        thread.join(timeout=5)
        if thread.is_alive():  # graceful shutdown stuck: make uvicorn skip the waits
            server.force_exit = True
            thread.join(timeout=5)
        self._thread = self._server = self._loop = None
        if thread.is_alive():
            raise RuntimeError("ScriptedOpenAIServer thread did not stop")

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _next_step(self, body: dict[str, Any]) -> Step:
        """The next scripted step, else the responder's, else an explanatory 500."""
        with self._lock:
            if self._steps:
                return self._steps.popleft()
        if self.responder is None:
            return error(500, "ScriptedOpenAIServer: unexpected request (no scripted step left)")
        try:
            return self.responder(body)
        except Exception as exc:  # a broken responder must fail loudly, not hang the client
            return error(500, f"ScriptedOpenAIServer: responder failed: {exc!r}")

    async def _asgi(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_json(receive)
        method, path = scope["method"], scope["path"].rstrip("/")
        headers = {name.decode(): value.decode("latin-1") for name, value in scope["headers"]}
        with self._lock:
            self._requests.append(RecordedRequest(method, path, headers, body, time.monotonic()))
        ex = _Exchange(receive, send, self._stopping)
        try:
            if method == "POST" and path == "/v1/chat/completions":
                await self._complete(ex, body)
            elif method == "GET" and path == "/v1/models":
                model = {"id": self.model, "object": "model", "created": 0, "owned_by": "scripted"}
                await ex.json(200, {"object": "list", "data": [model]})
            else:
                await ex.json(404, error_body(404, f"ScriptedOpenAIServer: no {method} {path}"))
        finally:
            ex.left.cancel()

    async def _complete(self, ex: _Exchange, body: Any) -> None:
        if not isinstance(body, dict):
            return await ex.json(400, error_body(400, "ScriptedOpenAIServer: body is not JSON"))
        step = self._next_step(body)
        if isinstance(step, ErrorStep):
            return await ex.json(step.status, error_body(step.status, step.message), step.headers)
        if isinstance(step, HangStep):
            await ex.pause(None)
            return await ex.interrupted()
        base = {
            "id": f"chatcmpl-scripted{next(_ids):06d}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
        }
        if body.get("stream"):
            return await _stream(ex, step, stream_payloads(step, base))
        return await _respond_whole(ex, step, completion_body(step, base, body))


def main(argv: list[str] | None = None) -> None:
    """Serve forever with the paced auto responder: a stable 'model' for benchmarks."""
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible server (paced).")
    parser.add_argument("--port", type=int, default=8399)
    parser.add_argument("--model", default="scripted-model")
    parser.add_argument("--first-token-delay", type=float, default=0.1)
    parser.add_argument("--token-interval", type=float, default=0.02)
    args = parser.parse_args(argv)
    responder = paced_auto_responder(args.first_token_delay, args.token_interval)
    with ScriptedOpenAIServer(args.model, port=args.port, responder=responder) as server:
        print(f"ScriptedOpenAIServer serving {server.base_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
