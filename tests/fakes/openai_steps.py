"""The steps a scripted model server plays, and their OpenAI wire format.

A step is what the "model" answers to one request — text, a tool call, an HTTP error, silence —
and how it misbehaves (delays, a cut stream, an error mid-stream). ``stream_payloads`` and
``completion_body`` turn a step into exactly the chunks and bodies OpenAI sends. The server that
plays them is :mod:`tests.fakes.scripted_openai`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

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
