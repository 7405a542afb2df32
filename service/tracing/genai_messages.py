"""GenAI messages as the semantic conventions define them, for OTLP export.

The OpenTelemetry GenAI conventions (v1.41.1, https://opentelemetry.io/docs/specs/semconv/gen-ai/)
give ``gen_ai.input.messages``, ``gen_ai.output.messages`` and ``gen_ai.system_instructions`` a
JSON Schema each. The bridge (``opentelemetry-instrumentation-openai-agents-v2`` 0.1.0) builds
these lists by hand and strays from them in ways a viewer that validates them (Arize Phoenix)
punishes by dropping the whole attribute, silently:

* output messages have no ``finish_reason`` (required by v1.41.1; newer drafts deprecate it for
  the span's ``gen_ai.response.finish_reasons``, so both are sent);
* the system prompt is both ``gen_ai.system_instructions`` and the first input message, so a
  viewer shows it twice;
* a tool message becomes a text part *and* a ``tool_call_response`` part whose field is
  ``result`` (the schema's is ``response``);
* an assistant turn with ``content: ""`` gets an empty text part.

The functions here take the bridge's lists (or the SDK's span data) and return conforming ones;
:class:`~quizrelay.tracing.otlp.OtlpTracingProcessor` applies them before anything is exported.
They only run with content capture on: without it there are no messages at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TOOL_CALL = "tool_call"
STOP = "stop"

SYSTEM_ROLES = frozenset({"system", "ai"})
"""The roles whose text the bridge copies into ``gen_ai.system_instructions``."""

_TOOL_ROLES = frozenset({"tool", "function"})

_FINISH_REASON_WORDS = {"tool_calls": TOOL_CALL, "function_call": TOOL_CALL}
"""Chat Completions' words for the conventions' ``tool_call``; stop, length and content_filter
are the same word in both."""

_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
"""A Responses-API dump's ``incomplete_details.reason`` as a finish reason."""


def finish_reason(raw: object, parts: Iterable[Any]) -> str:
    """The conventions' finish reason: the model's own when known (in the conventions' words),
    else ``tool_call`` for a reply that calls a tool and ``stop`` for one that does not."""
    if isinstance(raw, str) and raw.strip():
        return _FINISH_REASON_WORDS.get(raw.strip(), raw.strip())
    calls = any(isinstance(p, Mapping) and p.get("type") == TOOL_CALL for p in parts)
    return TOOL_CALL if calls else STOP


def _tool_call(call_id: object, name: object, arguments: object) -> dict[str, Any]:
    return {
        "type": TOOL_CALL,
        "id": call_id,
        "name": name if isinstance(name, str) else "",  # required, a string
        "arguments": arguments,
    }


def _response_dump_parts(item: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """Parts and finish reason of a streamed SDK call's output: ``[Response.model_dump()]``."""
    parts: list[dict[str, Any]] = []
    for entry in item.get("output") or []:
        if entry.get("type") == "function_call":
            parts.append(
                _tool_call(entry.get("call_id"), entry.get("name"), entry.get("arguments"))
            )
        elif entry.get("type") == "message":
            text = "".join(str(c.get("text") or "") for c in entry.get("content") or [])
            if text:
                parts.append({"type": "text", "content": text})
    reason: str | None = None
    if item.get("status") == "incomplete":
        details = item.get("incomplete_details") or {}
        reason = _INCOMPLETE_REASONS.get(str(details.get("reason")))
    elif item.get("status") == "failed":
        reason = "error"
    return parts, reason


def output_messages(output: object) -> list[dict[str, Any]] | None:
    """A generation span's ``output`` as GenAI output messages, tool calls included.

    ``output`` is a list of Chat Completions messages (the chat pipeline, or the SDK without
    streaming) or ``[Response.model_dump()]`` (the SDK's streamed calls). None when it is
    neither, for the bridge to read; ``[]`` when the reply holds nothing to show (an empty reply
    with a finish reason, such as ``content_filter``, is shown: the reason is the news).
    """
    if not isinstance(output, list) or not all(isinstance(item, dict) for item in output):
        return None
    parts: list[dict[str, Any]] = []
    raw_reason: str | None = None
    for item in output:
        if item.get("object") == "response":
            dump_parts, dump_reason = _response_dump_parts(item)
            parts += dump_parts
            raw_reason = raw_reason or dump_reason
            continue
        if isinstance(item.get("content"), str) and item["content"]:
            parts.append({"type": "text", "content": item["content"]})
        for call in item.get("tool_calls") or []:
            function = call.get("function") or {}
            parts.append(
                _tool_call(call.get("id"), function.get("name"), function.get("arguments"))
            )
        raw_reason = raw_reason or item.get("finish_reason")
    if not parts and not raw_reason:
        return []  # nothing said, no reason given: nothing to show
    return [
        {"role": "assistant", "parts": parts, "finish_reason": finish_reason(raw_reason, parts)}
    ]


def _conform_part(part: Any) -> Any:
    if not isinstance(part, dict):
        return part
    kind = part.get("type")
    if kind == "tool_call_response" and "response" not in part:
        part = {**part, "response": part.get("result")}
        part.pop("result", None)
    elif kind == TOOL_CALL and not isinstance(part.get("name"), str):
        part = {**part, "name": ""}
    return part


def _is_empty_text(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "text" and not part.get("content")


def _conform_message(message: dict[str, Any]) -> dict[str, Any]:
    parts = [_conform_part(p) for p in message.get("parts") or [] if not _is_empty_text(p)]
    if message.get("role") in _TOOL_ROLES and any(
        isinstance(p, dict) and p.get("type") == "tool_call_response" for p in parts
    ):  # the bridge puts the result in a text part too: the response alone carries it
        parts = [p for p in parts if not (isinstance(p, dict) and p.get("type") == "text")]
    return {**message, "parts": parts}


def conform_input_messages(
    messages: list[dict[str, Any]], *, instructions_apart: bool
) -> list[dict[str, Any]]:
    """The bridge's input messages, made to conform; without the system messages when
    ``instructions_apart`` (their text is in ``gen_ai.system_instructions``)."""
    return [
        _conform_message(m) if isinstance(m, dict) else m
        for m in messages
        if not (instructions_apart and isinstance(m, dict) and m.get("role") in SYSTEM_ROLES)
    ]


def conform_output_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Output messages, each with its parts conforming and a ``finish_reason``."""
    conformed: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        message = _conform_message(message)
        message["finish_reason"] = finish_reason(message.get("finish_reason"), message["parts"])
        conformed.append(message)
    return conformed


def finish_reasons(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """``gen_ai.response.finish_reasons``: one per output message, in order."""
    return [str(m.get("finish_reason")) for m in messages]
