"""Does a span's GenAI content conform? The semconv schemas, plus what they cannot express.

:func:`problems` returns one line per violation (empty: the span conforms):

* ``gen_ai.input.messages``, ``gen_ai.output.messages`` and ``gen_ai.system_instructions`` are
  JSON strings (a viewer ignores anything else) whose values validate against
  :mod:`tests.tracing.genai_schemas`;
* every part of a known type matches that type's own schema (the schema as a whole lets any
  part through as a generic one): text has ``content``, a tool call a non-empty ``name``, a
  tool-call response a ``response``;
* tool calls and tool-call responses carry their call's ``id``;
* with system instructions present, no input message has the system role (the prompt would be
  shown twice);
* every output message has a non-empty ``finish_reason``, and the span's
  ``gen_ai.response.finish_reasons`` lists them, one per output message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.tracing.genai_schemas import PART_VALIDATORS, VALIDATORS

INPUT = "gen_ai.input.messages"
OUTPUT = "gen_ai.output.messages"
SYSTEM = "gen_ai.system_instructions"
FINISH_REASONS = "gen_ai.response.finish_reasons"
CONTENT_ATTRIBUTES = (INPUT, OUTPUT, SYSTEM)


def decoded(attributes: Mapping[str, Any], name: str) -> Any:
    """The JSON value of a content attribute (None when it is absent or not a JSON string)."""
    raw = attributes.get(name)
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _part_problems(where: str, part: Any) -> list[str]:
    if not isinstance(part, dict):
        return []  # the schema reports it
    kind = part.get("type")
    out: list[str] = []
    validator = PART_VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is not None:
        out += [f"{where}: {kind} part: {e.message}" for e in validator.iter_errors(part)]
    if kind == "tool_call" and not part.get("name"):
        out.append(f"{where}: tool_call part without a name")
    if kind in ("tool_call", "tool_call_response") and not (
        isinstance(part.get("id"), str) and part["id"]
    ):
        out.append(f"{where}: {kind} part without the call's id")
    return out


def _parts_of(value: Any, name: str) -> list[tuple[str, Any]]:
    """``(where, part)`` for every part of a decoded content attribute."""
    if not isinstance(value, list):
        return []
    if name == SYSTEM:
        return [(f"{name}[{i}]", part) for i, part in enumerate(value)]
    return [
        (f"{name}[{i}].parts[{j}]", part)
        for i, message in enumerate(value)
        if isinstance(message, dict) and isinstance(message.get("parts"), list)
        for j, part in enumerate(message["parts"])
    ]


def problems(attributes: Mapping[str, Any]) -> list[str]:
    """What is wrong with a span's GenAI content attributes; empty when nothing is."""
    out: list[str] = []
    values: dict[str, Any] = {}
    for name in CONTENT_ATTRIBUTES:
        if name not in attributes:
            continue
        value = decoded(attributes, name)
        if value is None:
            out.append(f"{name}: not a JSON string: {attributes[name]!r}"[:200])
            continue
        values[name] = value
        for error in VALIDATORS[name].iter_errors(value):
            path = "".join(f"[{p}]" for p in error.absolute_path)
            out.append(f"{name}{path}: {error.message}")
        for where, part in _parts_of(value, name):
            out += _part_problems(where, part)

    if values.get(SYSTEM) and isinstance(values.get(INPUT), list):
        roles = [m.get("role") for m in values[INPUT] if isinstance(m, dict)]
        if "system" in roles:
            out.append(f"{INPUT}: a system message although {SYSTEM} is set (shown twice)")

    output = values.get(OUTPUT)
    if isinstance(output, list):
        reasons = [m.get("finish_reason") if isinstance(m, dict) else None for m in output]
        for i, reason in enumerate(reasons):
            if not (isinstance(reason, str) and reason):
                out.append(f"{OUTPUT}[{i}]: no finish_reason")
        listed = attributes.get(FINISH_REASONS)
        if listed is None or list(listed) != reasons:
            out.append(f"{FINISH_REASONS} is {listed!r}, the output messages say {reasons!r}")
    return out
