"""Agent definitions as data: load and validate ``agents_config/``.

Prompts, tool descriptions, model settings and per-server quirks live in YAML files so that a
prompt change is a data change. Both pipelines read the same :class:`AgentSpec`, which is what
makes their comparison fair. This module is pure data: it imports neither the Agents SDK nor
``openai``.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

RoleName = Literal["Questioner", "Answerer", "Judge", "Quizmaster"]
ROLES: tuple[RoleName, ...] = ("Questioner", "Answerer", "Judge")
QUIZMASTER: RoleName = "Quizmaster"
"""Not a role of the round: the agent of the ``agents-tools`` pipeline that calls the three
roles as tools (``quizmaster.yaml``)."""

ToolChoiceSpec = str | list[str]
"""``"auto"``, ``"required"``, ``"none"``, a tool name, or a list of tool names to force in
order."""

# Placeholders a prompt may use, per role: what is known when that role runs. The Answerer's
# list has no reference answer on purpose.
ALLOWED_PLACEHOLDERS: dict[str, set[str]] = {
    "Questioner": {"category", "difficulty", "task"},
    "Answerer": {"category", "difficulty", "question"},
    "Judge": {"category", "difficulty", "question", "answer", "reference_answer", "check_result"},
    "Quizmaster": {"category", "difficulty"},
    "kickoff": {"category", "difficulty"},
    "task": {"category", "difficulty"},
}


MODEL_SETTING_KEYS = {
    "temperature",
    "top_p",
    "max_tokens",
    "frequency_penalty",
    "presence_penalty",
    # OpenAI's reasoning models (o-series, gpt-5): they take these instead of max_tokens.
    "max_completion_tokens",
    "reasoning_effort",
}
"""Chat Completions parameters a role may set; both pipelines send them as named here."""


def _known_model_settings(value: dict[str, Any]) -> dict[str, Any]:
    unknown = set(value) - MODEL_SETTING_KEYS
    if unknown:
        raise ValueError(
            f"unknown model_settings {sorted(unknown)}; allowed: {sorted(MODEL_SETTING_KEYS)}"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileOverride(_Strict):
    """Settings that replace the defaults for one server profile (``llama-cpp``, ``ollama``...)."""

    model: str | None = None
    model_settings: dict[str, Any] = Field(default_factory=dict)
    """Merged into the role's settings key by key; ``null`` removes a default (a reasoning model
    rejects ``temperature`` and ``max_tokens``)."""
    tool_choice: ToolChoiceSpec | None = None

    @field_validator("model_settings")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _known_model_settings(value)


class AgentSpec(_Strict):
    """One role's definition, after a profile has been applied (see :meth:`AgentsConfig.agent`)."""

    name: RoleName
    handoff_description: str
    instructions: str
    agents_instructions: str = ""
    tasks: dict[str, str] = Field(default_factory=dict)
    tools: list[str] = Field(default_factory=list)
    model: str | None = None
    model_settings: dict[str, Any] = Field(default_factory=dict)
    tool_choice: ToolChoiceSpec = "required"
    profiles: dict[str, ProfileOverride] = Field(default_factory=dict)

    @field_validator("model_settings")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _known_model_settings(value)

    def for_profile(self, profile: str) -> AgentSpec:
        """This spec with the profile's overrides merged in (model settings key by key)."""
        override = self.profiles.get(profile)
        if override is None:
            return self
        merged = {**self.model_settings, **override.model_settings}
        merged_settings = {key: value for key, value in merged.items() if value is not None}
        return self.model_copy(
            update={
                "model": override.model or self.model,
                "model_settings": merged_settings,
                "tool_choice": override.tool_choice or self.tool_choice,
            }
        )


class ToolParameterSpec(_Strict):
    description: str
    max_length: int | None = Field(default=None, gt=0)


class ToolSpec(_Strict):
    """What a model is told about one tool, and limits on its string arguments."""

    description: str
    parameters: dict[str, ToolParameterSpec] = Field(default_factory=dict)


class RoundSpec(_Strict):
    kickoff: str
    max_turns: int = Field(default=12, ge=3, le=50)


class CategorySpec(_Strict):
    title: str
    description: str
    dataset: str | None
    difficulties: dict[str, dict[str, Any]] = Field(default_factory=dict)


class QuestionsSpec(_Strict):
    default_difficulty: str = "medium"
    categories: dict[str, CategorySpec]


class ModelPrice(_Strict):
    input: float = Field(ge=0)
    """Per million input tokens."""
    output: float = Field(ge=0)
    """Per million output tokens."""


class PricesSpec(_Strict):
    currency: str = "USD"
    models: dict[str, ModelPrice] = Field(default_factory=dict)

    def cost(self, model: str | None, input_tokens: int, output_tokens: int) -> float | None:
        """Estimated cost of one call; None when the model has no price (unknown, not free)."""
        price = self.models.get(model or "")
        if price is None:
            return None
        return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


class AgentsConfig(BaseModel):
    """Everything in ``agents_config/``, validated once at start-up."""

    model_config = ConfigDict(frozen=True)

    agents: dict[str, AgentSpec]
    tools: dict[str, ToolSpec]
    round: RoundSpec
    questions: QuestionsSpec
    prices: PricesSpec = Field(default_factory=PricesSpec)
    source_dir: Path

    def agent(self, role: str, profile: str) -> AgentSpec:
        return self.agents[role].for_profile(profile)


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} is missing; agents_config/ needs it (see README).") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc


def _placeholders(template: str) -> set[str]:
    names = set()
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is not None:
            names.add(field_name)
    return names


def _check_template(where: str, template: str, allowed: set[str]) -> None:
    used = _placeholders(template)
    unknown = used - allowed
    if unknown:
        raise ConfigError(
            f"{where} uses placeholders {sorted(unknown)} that are not available there; "
            f"allowed: {sorted(allowed)}"
        )


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{placeholders}``; values are inserted verbatim (braces in them are not re-read)."""
    return template.format_map(values).strip()


def load_agents_config(directory: Path) -> AgentsConfig:
    """Read and validate every file; a mistake fails here, with the file and field named."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(
            f"agents config folder {directory} does not exist; set QUIZRELAY_AGENTS_CONFIG_DIR"
        )
    try:
        agents = {}
        for role in (*ROLES, QUIZMASTER):
            path = directory / f"{role.lower()}.yaml"
            spec = AgentSpec.model_validate(_read_yaml(path))
            if spec.name != role:
                raise ConfigError(f"{path}: name must be {role!r}, not {spec.name!r}")
            agents[role] = spec
        raw_tools = _read_yaml(directory / "tools.yaml")
        tools = {name: ToolSpec.model_validate(body) for name, body in raw_tools.items()}
        round_spec = RoundSpec.model_validate(_read_yaml(directory / "round.yaml"))
        questions = QuestionsSpec.model_validate(_read_yaml(directory / "questions.yaml"))
        prices_path = directory / "prices.yaml"
        prices = (
            PricesSpec.model_validate(_read_yaml(prices_path))
            if prices_path.exists()
            else PricesSpec()
        )
    except ValidationError as exc:
        raise ConfigError(f"invalid agents config in {directory}: {exc}") from exc

    for role, spec in agents.items():
        _check_template(f"{role}.instructions", spec.instructions, ALLOWED_PLACEHOLDERS[role])
        _check_template(
            f"{role}.agents_instructions", spec.agents_instructions, ALLOWED_PLACEHOLDERS[role]
        )
        for task_name, task in spec.tasks.items():
            _check_template(f"{role}.tasks.{task_name}", task, ALLOWED_PLACEHOLDERS["task"])
        for tool in spec.tools:
            if tool not in tools:
                raise ConfigError(f"{role} lists tool {tool!r}, which tools.yaml does not describe")
    _check_template("round.kickoff", round_spec.kickoff, ALLOWED_PLACEHOLDERS["kickoff"])
    if questions.default_difficulty not in DIFFICULTIES:
        raise ConfigError(f"questions.yaml default_difficulty must be one of {DIFFICULTIES}")
    return AgentsConfig(
        agents=agents,
        tools=tools,
        round=round_spec,
        questions=questions,
        prices=prices,
        source_dir=directory,
    )


DIFFICULTIES = ("easy", "medium", "hard")
