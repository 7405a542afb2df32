"""The round's tools, implemented once and offered to the models of both pipelines.

Each :class:`RoundTool` has a JSON schema (what the model sees) and a ``run`` function on the
:class:`RoundContext`. The Agents SDK pipeline wraps them as ``FunctionTool`` objects, the
baseline dispatches them by hand; the behaviour is this module's in both cases.

A tool that gets unusable arguments returns a message starting with :data:`TOOL_ERROR_PREFIX`
instead of raising, so the model can try again within the round's turn budget; the tool-choice
policy treats such a call as not done.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..agent_specs import AgentsConfig, ToolSpec
from ..questions.checker import check_answer as run_answer_check
from ..questions.source import authored_question
from .context import RoundContext, clean_model_text
from .models import Verdict

TOOL_ERROR_PREFIX = "ERROR:"

ToolRun = Callable[[RoundContext, dict[str, Any]], str]


class ToolArgumentError(ValueError):
    """Arguments a model sent that a tool cannot use; reported back to the model."""


@dataclass(frozen=True)
class RoundTool:
    name: str
    description: str
    properties: dict[str, dict[str, Any]]
    """JSON-schema properties, each with its ``description`` from tools.yaml."""
    max_lengths: dict[str, int]
    run: ToolRun

    def parameters_schema(self, *, bound_strings: bool) -> dict[str, Any]:
        """The strict JSON schema of the arguments.

        ``bound_strings`` adds ``maxLength`` to string arguments; grammar-constrained servers
        then always close the JSON before ``max_tokens`` (OpenAI's strict mode rejects it,
        so it is off there).
        """
        properties = {}
        for name, schema in self.properties.items():
            schema = dict(schema)
            if bound_strings and name in self.max_lengths:
                schema["maxLength"] = self.max_lengths[name]
            properties[name] = schema
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }

    def invoke(self, ctx: RoundContext, arguments_json: str) -> str:
        """Parse the model's JSON arguments and run the tool; bad arguments become a tool error."""
        try:
            arguments = parse_arguments(arguments_json)
            for name, limit in self.max_lengths.items():
                if isinstance(arguments.get(name), str):
                    arguments[name] = arguments[name][:limit]
            return self.run(ctx, arguments)
        except json.JSONDecodeError as exc:
            return (
                f"{TOOL_ERROR_PREFIX} the arguments are not valid JSON ({exc.msg}); "
                f"call {self.name} again."
            )
        except ToolArgumentError as exc:
            return f"{TOOL_ERROR_PREFIX} {exc}; call {self.name} again."


def parse_arguments(arguments_json: str) -> dict[str, Any]:
    """Parse a model's tool arguments.

    Lenient about raw control characters inside strings (``strict=False``): llama-cpp-python's
    JSON grammar lets a model write a literal newline in a string, which is otherwise the only
    way a grammar-constrained call produces "invalid" JSON.
    """
    arguments = json.loads(arguments_json, strict=False) if arguments_json.strip() else {}
    if not isinstance(arguments, dict):
        raise ToolArgumentError("arguments must be a JSON object")
    return arguments


def _string_arg(arguments: dict[str, Any], name: str) -> str:
    value = arguments.get(name)
    if not isinstance(value, str) or not clean_model_text(value):
        raise ToolArgumentError(f"`{name}` must be a non-empty string")
    return clean_model_text(value)


def _bool_arg(arguments: dict[str, Any], name: str) -> bool:
    value = arguments.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"  # small models quote booleans
    raise ToolArgumentError(f"`{name}` must be true or false")


# Tool bodies --------------------------------------------------------------------------------
def draw_question(ctx: RoundContext, arguments: dict[str, Any]) -> str:
    if ctx.question is None:
        if ctx.question_provider is None:
            raise ToolArgumentError("this round has no question bank; use pose_question")
        ctx.set_question(ctx.question_provider())
    assert ctx.question is not None
    return ctx.question.text


def pose_question(ctx: RoundContext, arguments: dict[str, Any]) -> str:
    if ctx.question is not None:
        return "The question is already set. Hand the round on."
    question = _string_arg(arguments, "question")
    reference = _string_arg(arguments, "reference_answer")
    ctx.set_question(authored_question(question, reference, difficulty=ctx.difficulty))
    return "Question set."


def check_answer(ctx: RoundContext, arguments: dict[str, Any]) -> str:
    if ctx.question is None or ctx.answer is None:
        raise ToolArgumentError("there is no question and answer to check yet")
    ctx.check = run_answer_check(
        ctx.answer, ctx.question.reference_answer, dataset_score=ctx.question.scorer
    )
    return json.dumps(
        {
            "correct": ctx.check.correct,
            "match": ctx.check.match,
            "understood_answer": ctx.check.extracted_answer,
            "reason": ctx.check.reason,
        }
    )


def submit_verdict(ctx: RoundContext, arguments: dict[str, Any]) -> str:
    if ctx.verdict is not None:
        return "The verdict is already recorded."
    if ctx.check is None or ctx.question is None:
        raise ToolArgumentError("call check_answer before submit_verdict")
    judge_says = _bool_arg(arguments, "correct")
    explanation = arguments.get("explanation")
    explanation = clean_model_text(explanation) if isinstance(explanation, str) else ""
    ctx.set_verdict(compose_verdict(ctx, judge_says, explanation))
    return "Verdict recorded."


def compose_verdict(ctx: RoundContext, judge_says: bool, explanation: str) -> Verdict:
    """Combine the deterministic check with the Judge's opinion.

    For a verified or supplied question the check is conclusive: an answer is right or wrong
    whatever any model (or any text inside the answer) says. For a free-form question the
    checker can only confirm a match; a mismatch may still be right in meaning, so the Judge
    decides those.
    """
    assert ctx.check is not None and ctx.question is not None
    check = ctx.check
    conclusive = ctx.question.source != "freeform" or check.correct
    correct = check.correct if conclusive else judge_says
    score = check.score if conclusive else (1.0 if correct else 0.0)
    agreed = judge_says == correct
    return Verdict(
        correct=correct,
        score=score,
        explanation=(explanation if agreed and explanation else check.reason),
        reference_answer=ctx.question.reference_answer,
        decided_by="check_answer" if conclusive else "judge",
        judge_agreed=agreed,
        judge_explanation=explanation,
    )


_BODIES: dict[str, tuple[ToolRun, dict[str, dict[str, Any]]]] = {
    "draw_question": (draw_question, {}),
    "pose_question": (
        pose_question,
        {"question": {"type": "string"}, "reference_answer": {"type": "string"}},
    ),
    "check_answer": (check_answer, {}),
    "submit_verdict": (
        submit_verdict,
        {"correct": {"type": "boolean"}, "explanation": {"type": "string"}},
    ),
}

TRANSFER_TO_JUDGE = "transfer_to_judge"
TRANSFER_TO_ANSWERER = "transfer_to_answerer"


def _describe(
    spec: ToolSpec, properties: dict[str, dict[str, Any]], name: str
) -> tuple[dict, dict]:
    described: dict[str, dict[str, Any]] = {}
    limits: dict[str, int] = {}
    for prop, schema in properties.items():
        param = spec.parameters.get(prop)
        if param is None:
            raise ValueError(f"tools.yaml: {name} is missing parameter {prop!r}")
        described[prop] = {**schema, "description": param.description}
        if param.max_length:
            limits[prop] = param.max_length
    return described, limits


def build_tools(config: AgentsConfig) -> dict[str, RoundTool]:
    """The round tools with their descriptions and limits from ``agents_config/tools.yaml``."""
    tools = {}
    for name, (run, properties) in _BODIES.items():
        spec = config.tools[name]
        described, limits = _describe(spec, properties, name)
        tools[name] = RoundTool(name, spec.description.strip(), described, limits, run)
    return tools


def answer_handoff_schema(config: AgentsConfig, *, bound_strings: bool) -> dict[str, Any]:
    """Arguments of ``transfer_to_judge``: the Answerer's answer travels with the handoff."""
    spec = config.tools[TRANSFER_TO_JUDGE]
    described, limits = _describe(spec, {"answer": {"type": "string"}}, TRANSFER_TO_JUDGE)
    tool = RoundTool(TRANSFER_TO_JUDGE, spec.description, described, limits, lambda c, a: "")
    return tool.parameters_schema(bound_strings=bound_strings)
