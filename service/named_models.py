"""Named models: which model servers a round, a game or a comparison arm may name.

Always there: the configured model (``QUIZRELAY_LLM_BASE_URL`` + ``QUIZRELAY_MODEL``, or the
embedded model when none is set), under its model name, and the embedded model under the fixed
name ``embedded`` (started on first use when it is not the default). More come from a YAML file
(``QUIZRELAY_MODELS_FILE``, or ``models.yaml`` in the agents config folder)::

    models:
      gpt-4.1-mini:
        base_url: https://api.openai.com/v1
        model: gpt-4.1-mini
        api_key_env: OPENAI_API_KEY      # the variable's name: keys never live in the file
      local-qwen:
        base_url: http://localhost:11434/v1
        model: qwen2.5:7b
        profile: ollama                  # optional; inferred from the URL and model otherwise

``GET /api/models`` lists them, without secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .settings import EMBEDDED_MODEL_NAME, ModelProfileName, Settings, infer_profile

EMBEDDED = "embedded"


@dataclass(frozen=True)
class NamedModel:
    name: str
    base_url: str | None
    """None: the embedded model, served by this worker."""
    model: str
    """What requests send as ``model``."""
    profile: str
    api_key_env: str | None = None
    auto: bool = False
    """The profile was inferred, not set: a worker may refine it by asking the server."""

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    def api_key(self, settings: Settings) -> str | None:
        if self.api_key_env is None:
            return None
        return settings.env_secret(self.api_key_env)

    def public(self, settings: Settings) -> dict[str, Any]:
        """What the API shows: never the key, only whether its variable is set."""
        key = None if self.api_key_env is None else ("set" if self.api_key(settings) else "missing")
        return {
            "name": self.name, "model": self.model, "profile": self.profile,
            "base_url": self.base_url, "embedded": self.embedded,
            "api_key_env": self.api_key_env, "api_key": key,
        }  # fmt: skip


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    model: str = Field(min_length=1, max_length=200)
    profile: ModelProfileName = "auto"
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, _Entry] = Field(default_factory=dict)


def _models_file(settings: Settings) -> Path | None:
    if settings.models_file is not None:
        if not settings.models_file.is_file():
            raise ConfigError(f"QUIZRELAY_MODELS_FILE {settings.models_file} does not exist")
        return settings.models_file
    candidate = Path(settings.agents_config_dir) / "models.yaml"
    return candidate if candidate.is_file() else None


def load_models(settings: Settings) -> dict[str, NamedModel]:
    """Every named model, the configured one first; a mistake fails here, naming it."""
    default = NamedModel(
        name=settings.model_name,
        base_url=settings.llm_base_url,
        model=settings.model_name,
        profile=settings.profile(),
        auto=settings.model_profile == "auto",
    )
    models = {default.name: default}
    models[EMBEDDED] = NamedModel(EMBEDDED, None, EMBEDDED_MODEL_NAME, "llama-cpp")
    path = _models_file(settings)
    if path is None:
        return models
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = _File.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path} is not a valid models file: {exc}") from exc
    for name, entry in parsed.models.items():
        if name in models:
            raise ConfigError(f"{path}: the model name {name!r} is taken (configured or built in)")
        profile = infer_profile(entry.profile, entry.base_url, entry.model)
        models[name] = NamedModel(
            name, entry.base_url, entry.model, profile, entry.api_key_env, entry.profile == "auto"
        )
    return models


def model_secrets(settings: Settings, models: dict[str, NamedModel]) -> list[str]:
    """The keys of every named model: scrubbed wherever the settings' own secrets are."""
    keys = [model.api_key(settings) for model in models.values()]
    return [key for key in keys if key and len(key) >= 4]
