"""The OpenTelemetry GenAI message schemas, written out by hand as test data.

Source: OpenTelemetry semantic conventions **v1.41.1**, GenAI spans
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/), whose attributes
``gen_ai.input.messages``, ``gen_ai.output.messages`` and ``gen_ai.system_instructions`` are
defined by the JSON Schemas published next to the spec
(https://github.com/open-telemetry/semantic-conventions/tree/v1.41.1/docs/gen-ai,
``gen-ai-input-messages.json``, ``gen-ai-output-messages.json``,
``gen-ai-system-instructions.json``). Those files are not copied here: the same rules are
rebuilt below from the spec's definitions, so the tests hold the service to the spec rather than
to whatever a viewer happens to accept.

What the spec says, in short:

* every attribute is a JSON array, sent as one string;
* a message has a ``role`` (system, user, assistant, tool, or any other string) and ``parts``
  (a list), optionally a ``name``; an *output* message also has a ``finish_reason`` (stop,
  length, content_filter, tool_call, error, or any other string; never null);
* system instructions are a list of parts, with no role;
* a part is an object with a ``type``; the known types each require their own fields
  (``text``: ``content``; ``tool_call``: ``name``; ``tool_call_response``: ``response``;
  ``reasoning``: ``content``; ``blob``/``file``/``uri``: ``modality`` and the data; server tool
  calls: ``name`` and their details); any other type is a generic part;
* objects may carry more properties than the ones named (JSON Schema's default, kept here).

Newer drafts (the conventions moved to open-telemetry/semantic-conventions-genai after v1.41.1)
make ``finish_reason`` optional and deprecated in favour of the span's
``gen_ai.response.finish_reasons``; viewers built on v1.41.1 (Arize Phoenix 20.x) still require
it, so the service sends both and these schemas follow v1.41.1.

Because a generic part accepts any ``type``, a ``text`` part without ``content`` still passes
the schema as a whole; :data:`PART_SCHEMAS` holds each known type's own schema so a test can
hold a part to its declared type.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs installed

SEMCONV_VERSION = "1.41.1"
SPEC_URL = "https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/"

ROLES = ("system", "user", "assistant", "tool")
FINISH_REASONS = ("stop", "length", "content_filter", "tool_call", "error")
MODALITIES = ("image", "video", "audio")

Schema = dict[str, Any]

_NULLABLE_STRING: Schema = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _known_or_any_string(values: tuple[str, ...]) -> Schema:
    """The spec's open enums: the listed values are the known ones, any string is allowed."""
    return {"anyOf": [{"enum": list(values)}, {"type": "string"}]}


def _part(
    kind: str, required: dict[str, Schema], optional: dict[str, Schema] | None = None
) -> Schema:
    """A part of type ``kind``: ``type`` plus the ``required`` fields, maybe ``optional`` ones."""
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **required, **(optional or {})},
        "required": ["type", *required],
    }


def _typed_object() -> Schema:
    """An object with a string ``type`` and anything else (the spec's generic shapes)."""
    return {"type": "object", "properties": {"type": {"type": "string"}}, "required": ["type"]}


_MODALITY = _known_or_any_string(MODALITIES)
_MIME_TYPE = _NULLABLE_STRING
_ANYTHING: Schema = {}

PART_SCHEMAS: dict[str, Schema] = {
    "text": _part("text", {"content": {"type": "string"}}),
    "tool_call": _part(
        "tool_call", {"name": {"type": "string"}}, {"id": _NULLABLE_STRING, "arguments": _ANYTHING}
    ),
    "tool_call_response": _part(
        "tool_call_response", {"response": _ANYTHING}, {"id": _NULLABLE_STRING}
    ),
    "server_tool_call": _part(
        "server_tool_call",
        {"name": {"type": "string"}, "server_tool_call": _typed_object()},
        {"id": _NULLABLE_STRING},
    ),
    "server_tool_call_response": _part(
        "server_tool_call_response",
        {"server_tool_call_response": _typed_object()},
        {"id": _NULLABLE_STRING},
    ),
    "blob": _part(
        "blob", {"modality": _MODALITY, "content": {"type": "string"}}, {"mime_type": _MIME_TYPE}
    ),
    "file": _part(
        "file", {"modality": _MODALITY, "file_id": {"type": "string"}}, {"mime_type": _MIME_TYPE}
    ),
    "uri": _part(
        "uri", {"modality": _MODALITY, "uri": {"type": "string"}}, {"mime_type": _MIME_TYPE}
    ),
    "reasoning": _part("reasoning", {"content": {"type": "string"}}),
}
"""Each known part type's own schema (``type`` is a constant in each)."""

_GENERIC_PART = _typed_object()

_MESSAGE_PART_TYPES = tuple(PART_SCHEMAS)
_INSTRUCTION_PART_TYPES = (
    "text",
    "tool_call",
    "tool_call_response",
    "blob",
    "file",
    "uri",
    "reasoning",
)
"""System instructions take no server tool parts (v1.41.1)."""


def _any_part(types: tuple[str, ...]) -> Schema:
    return {"anyOf": [*(PART_SCHEMAS[t] for t in types), _GENERIC_PART]}


def _message(*, output: bool) -> Schema:
    properties: dict[str, Schema] = {
        "role": _known_or_any_string(ROLES),
        "parts": {"type": "array", "items": _any_part(_MESSAGE_PART_TYPES)},
        "name": _NULLABLE_STRING,
    }
    required = ["role", "parts"]
    if output:
        properties["finish_reason"] = _known_or_any_string(FINISH_REASONS)
        required.append("finish_reason")
    return {"type": "object", "properties": properties, "required": required}


INPUT_MESSAGES: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gen_ai.input.messages",
    "description": "The messages sent to the model: chat history and the current request.",
    "type": "array",
    "items": _message(output=False),
}

OUTPUT_MESSAGES: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gen_ai.output.messages",
    "description": "The messages the model (or agent) produced, one per choice/candidate.",
    "type": "array",
    "items": _message(output=True),
}

SYSTEM_INSTRUCTIONS: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gen_ai.system_instructions",
    "description": "The system prompt (instructions), kept apart from the chat history.",
    "type": "array",
    "items": _any_part(_INSTRUCTION_PART_TYPES),
}

SCHEMAS: dict[str, Schema] = {
    "gen_ai.input.messages": INPUT_MESSAGES,
    "gen_ai.output.messages": OUTPUT_MESSAGES,
    "gen_ai.system_instructions": SYSTEM_INSTRUCTIONS,
}
"""Attribute name → the schema of its (JSON-decoded) value."""

VALIDATORS = {name: Draft202012Validator(schema) for name, schema in SCHEMAS.items()}
PART_VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in PART_SCHEMAS.items()}

for _schema in (*SCHEMAS.values(), *PART_SCHEMAS.values()):
    Draft202012Validator.check_schema(_schema)
