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
import contextlib
import dataclasses
import json
import logging
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import uvicorn

# The steps and their wire format live in openai_steps; they are re-exported here so a test
# imports the server and what it plays from one place.
from .openai_steps import (  # noqa: F401
    PACED_ANSWER,
    ErrorStep,
    FaultOptions,
    Faults,
    HangStep,
    JsonObject,
    Receive,
    Responder,
    Send,
    Step,
    TextStep,
    ToolCallStep,
    _ids,
    auto_responder,
    completion_body,
    error,
    error_body,
    hang,
    paced_auto_responder,
    stream_payloads,
    text,
    tool_call,
    value_for_schema,
)

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


@dataclass
class LlamaServerQuirks:
    """Behave as llama.cpp's ``llama-server`` does with a model whose chat template has no tool
    section (SmolLM2), as measured against the real one (README, "llama-server"):

    * it says who it is: ``Server: llama.cpp`` and ``owned_by: "llamacpp"`` in ``/v1/models``;
    * with ``jinja`` (its default), ``tools`` and ``tool_choice`` are silently dropped; without,
      any ``tools`` is HTTP 500 "tools param requires --jinja flag";
    * ``response_format: json_schema`` is honoured (the scripted reply is schema-valid JSON);
    * a history ending on one assistant turn is a prefill: the reply continues it (and is
      counted in ``prefills``); on two or more, HTTP 400.
    """

    jinja: bool = True
    prefills: list[str] = dataclasses.field(default_factory=list)


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
        llama_server: LlamaServerQuirks | None = None,
    ) -> None:
        self.model, self.responder = model, responder
        self.llama_server = llama_server
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
                owner = "llamacpp" if self.llama_server else "scripted"
                model = {"id": self.model, "object": "model", "created": 0, "owned_by": owner}
                extra = {"server": "llama.cpp"} if self.llama_server else None
                await ex.json(200, {"object": "list", "data": [model]}, extra)
            else:
                await ex.json(404, error_body(404, f"ScriptedOpenAIServer: no {method} {path}"))
        finally:
            ex.left.cancel()

    def _llama_server(self, body: dict[str, Any]) -> ErrorStep | None:
        """Apply llama-server's quirks to a request; an error step when it would refuse it."""
        quirks = self.llama_server
        assert quirks is not None
        if body.get("tools") and not quirks.jinja:
            return error(500, "tools param requires --jinja flag")
        body.pop("tools", None)  # the template has no tool section: dropped, silently
        body.pop("tool_choice", None)
        messages = body.get("messages") or []
        trailing = 0
        for message in reversed(messages):
            if not (isinstance(message, dict) and message.get("role") == "assistant"):
                break
            trailing += 1
        if trailing >= 2:
            return error(400, "Cannot have 2 or more assistant messages at the end of the list.")
        if trailing == 1:
            quirks.prefills.append(str(messages[-1].get("content")))
        return None

    async def _complete(self, ex: _Exchange, body: Any) -> None:
        if not isinstance(body, dict):
            return await ex.json(400, error_body(400, "ScriptedOpenAIServer: body is not JSON"))
        refused = None
        if self.llama_server is not None:  # on a copy: the request log keeps what was sent
            body = json.loads(json.dumps(body))
            refused = self._llama_server(body)
        step = refused or self._next_step(body)
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
    # Ctrl-C stops it even when started from a shell's background job, which ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with ScriptedOpenAIServer(args.model, port=args.port, responder=responder) as server:
        print(f"ScriptedOpenAIServer serving {server.base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
