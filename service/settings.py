"""Settings: the one place where quizrelay reads its environment.

Every value comes from an environment variable prefixed ``QUIZRELAY_`` or from a ``.env`` file in
the working directory. Nothing else in the package reads ``os.environ`` for configuration, so a
test can build a :class:`Settings` object and hand it to :func:`quizrelay.app.create_app`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ModelProfileName = Literal[
    "auto", "openai", "openai-reasoning", "ollama", "llama-cpp", "llama-server", "generic"
]
"""Which server quirks to expect. ``auto`` infers it from the base URL and model name (see
:meth:`Settings.profile`)."""

OPENAI_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)(?!-chat)")
"""OpenAI's reasoning models (o1, o3, o4-mini, gpt-5, gpt-5-mini...): they reject ``max_tokens``
and any ``temperature`` but the default. ``gpt-5-chat-latest`` is a plain chat model."""

PACKAGE_DIR = Path(__file__).resolve().parent


def default_agents_config_dir() -> Path:
    """The agent definitions shipped with quizrelay.

    An installed wheel carries them as package data (``quizrelay/agents_config/``); an editable
    install or a checkout reads the repository's ``agents_config/`` beside the source folder.
    ``QUIZRELAY_AGENTS_CONFIG_DIR`` overrides both (``quizrelay config export DIR`` writes a copy
    to edit).
    """
    packaged = PACKAGE_DIR / "agents_config"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "agents_config"


EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"


def infer_profile(profile: str, base_url: str | None, model: str) -> str:
    """The quirk profile of a model server: ``profile`` unless it is ``auto``, else inferred from
    the URL (none: the embedded llama-cpp-python server) and, for OpenAI, the model name."""
    if profile != "auto":
        return profile
    if base_url is None:
        return "llama-cpp"
    if "api.openai.com" in base_url:
        return "openai-reasoning" if OPENAI_REASONING_MODEL.match(model) else "openai"
    if ":11434" in base_url:
        return "ollama"
    return "generic"


class Settings(BaseSettings):
    """Typed configuration for the service, the CLI and the embedded model."""

    model_config = SettingsConfigDict(
        env_prefix="QUIZRELAY_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
    )

    llm_base_url: str | None = None
    """Base URL of an OpenAI-compatible API (``https://api.openai.com/v1``,
    ``http://localhost:11434/v1``, ...). Unset means: start the embedded model."""

    llm_api_key: SecretStr | None = None
    """API key for ``llm_base_url``. Never logged, traced or returned."""

    model: str | None = None
    """Model name sent to the server. Defaults to the embedded model's name when it is used."""

    model_profile: ModelProfileName = "auto"
    """Server quirks to work around; see ``agents_config/*.yaml`` ``profiles``."""

    database_url: str = "sqlite:///quizrelay.db"
    """Where what must last is kept (rounds, games, events, traces, comparisons): SQLite
    (``sqlite:///quizrelay.db``) or PostgreSQL (``postgresql://user@host/db``)."""

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    """Connections one process may hold: ``db_pool_size`` + ``db_max_overflow`` at most."""

    redis_url: str | None = None
    """Redis for what is live (event streams, wake-ups, cancels, the rate limiter). Unset: all of
    it stays in this one process, which then plays the rounds itself."""

    redis_pool_size: int = Field(default=20, ge=2, le=1000)
    """Redis connections one process may open for commands (live tails share one more); a
    process that plays rounds has one more per round it plays at once."""

    redis_prefix: str = Field(default="quizrelay", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    """Prefix of every Redis key (and the queue's name): deployments sharing a Redis differ here."""

    worker_concurrency: int = Field(default=50, ge=1, le=1000)
    """Rounds one worker plays at once (``quizrelay worker --concurrency`` overrides it)."""

    lease_seconds: float = Field(default=10.0, ge=1.0, le=600.0)
    """How long a worker's claim on a round lasts without a renewal (each worker renews all of its
    claims every quarter of it): a worker that died is noticed within this, plus a sweep (a
    quarter of it)."""

    max_attempts: int = Field(default=3, ge=1, le=20)
    """Attempts of a round whose worker keeps getting lost, before it fails with worker_lost."""

    drain_grace: float = Field(default=30.0, ge=0.0)
    """Seconds a stopping worker lets its rounds finish before handing the rest back."""

    stream_ttl: int = Field(default=300, ge=1)
    """Seconds a finished round's stream stays in Redis (then it is read from the database)."""

    migrate_on_start: bool = True
    """Apply the database migrations at start-up (``quizrelay migrate`` does it on its own)."""

    models_file: Path | None = None
    """A YAML file of named models (default: ``models.yaml`` in the agents config folder, when
    there is one). Each names a server, a model and the *variable* that holds its key."""

    agents_config_dir: Path = Field(default_factory=default_agents_config_dir)
    """Folder with the agent definitions, prompts and question categories."""

    llm_timeout: float = Field(default=120.0, gt=0)
    """Seconds allowed for one model call, its retries included."""

    llm_read_timeout: float = Field(default=30.0, gt=0)
    """Seconds a model server may stay silent (before the first token or mid-stream)."""

    llm_max_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a model call after a transient failure (connection, timeout, 408/409/429/5xx,
    a stream cut or an error mid-stream), with exponential backoff or Retry-After."""

    llm_retry_base_delay: float = Field(default=0.5, ge=0)
    """Backoff before the first retry; it doubles for each further retry (at most 8 s)."""

    round_timeout: float = Field(default=300.0, gt=0)
    """Seconds a whole round may take before it is ended with ``RUN_ERROR`` ``round_timeout``
    (in human rounds, not counting the time the player takes to answer)."""

    answer_timeout: float = Field(default=600.0, gt=0)
    """Seconds a human round waits for the player's answer before it fails (``answer_timeout``)."""

    trace_include_content: bool = True
    """Store model inputs/outputs and tool arguments on spans. Off keeps structure and timings."""

    trace_retention_max_traces: int | None = Field(default=None, ge=1)
    """Keep at most this many traces (the newest); older ones and their spans are removed."""
    trace_retention_days: float | None = Field(default=None, gt=0)
    """Remove traces older than this many days. Rounds are never removed with their traces."""

    api_tokens: SecretStr | None = None
    """``name:token`` pairs, comma-separated. When set, every ``/api`` route needs
    ``Authorization: Bearer <token>`` and each player sees only their own games, rounds,
    traces and comparisons."""

    cors_origins: str = ""
    """Comma-separated origins allowed to call the API from a browser (``*`` for any)."""

    rate_limit_rounds_per_minute: int = Field(default=120, ge=0)
    """Rounds (and comparisons) one client may start per minute; 0 switches the limit off."""

    max_body_bytes: int = Field(default=65_536, ge=1024)
    """Largest request body accepted (413 above it)."""

    on_disconnect: Literal["finish", "cancel"] = "finish"
    """What a round does when its last client disconnects: play on and be stored, or be
    cancelled after ``disconnect_grace`` seconds without a client (a reconnect in time saves it)."""
    disconnect_grace: float = Field(default=10.0, ge=0)

    sse_heartbeat: float = Field(default=15.0, gt=0)
    """Seconds of silence after which a stream gets a ``: ping`` comment (keeps proxies open)."""

    embedded_host: str = "127.0.0.1"
    embedded_port: int = Field(default=0, ge=0, le=65535)
    """Port of the embedded model server; 0 picks a free port."""
    embedded_threads: int = Field(default=2, ge=1)
    embedded_context: int = Field(default=4096, ge=512)
    embedded_start_timeout: float = Field(default=120.0, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "QUIZRELAY_REDIS_URL must start with redis://, rediss:// or unix://, for example "
                f"redis://127.0.0.1:6379/0 (got {value!r})"
            )
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _strip_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "QUIZRELAY_LLM_BASE_URL must start with http:// or https://, "
                f"for example http://localhost:11434/v1 (got {value!r})"
            )
        return value

    @model_validator(mode="after")
    def _require_model_for_remote(self) -> Settings:
        if self.llm_base_url and not self.model:
            raise ValueError(
                "QUIZRELAY_MODEL is required when QUIZRELAY_LLM_BASE_URL is set "
                "(for example QUIZRELAY_MODEL=gpt-4.1-mini or QUIZRELAY_MODEL=gpt-oss:20b)"
            )
        return self

    @field_validator("api_tokens")
    @classmethod
    def _tokens_well_formed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        for entry in value.get_secret_value().split(","):
            name, sep, token = entry.strip().partition(":")
            if not sep or not name.strip() or len(token.strip()) < 8:
                raise ValueError(
                    "QUIZRELAY_API_TOKENS must be name:token pairs separated by commas, each token "
                    "at least 8 characters (for example alice:3f9c2a71e0,bob:77ab91c4d2)"
                )
        return value

    @property
    def uses_embedded_model(self) -> bool:
        """True when no external server is configured and the embedded model must be started."""
        return self.llm_base_url is None

    @property
    def model_name(self) -> str:
        return self.model or EMBEDDED_MODEL_NAME

    def profile(self) -> str:
        """The quirk profile in effect, inferred from the server when set to ``auto``."""
        return infer_profile(self.model_profile, self.llm_base_url, self.model or "")

    def env_secret(self, name: str) -> str | None:
        """The value of the environment variable ``name`` (a named model's key: the models file
        names the variable, never the key)."""
        value = os.environ.get(name)
        return value.strip() if value and value.strip() else None

    def api_key_value(self) -> str:
        """The key to hand to the ``openai`` client, which refuses to start without one."""
        if self.llm_api_key is not None:
            return self.llm_api_key.get_secret_value()
        return "not-needed"

    def secrets(self) -> list[str]:
        """Values that must never appear in logs, spans, errors or responses."""
        values = [] if self.llm_api_key is None else [self.llm_api_key.get_secret_value()]
        values += list(self.players_by_token())
        for url in (self.database_url, self.redis_url):  # passwords inside connection URLs
            password = urlsplit(url).password if url else None
            if password:
                values.append(password)
        return [value for value in values if len(value) >= 4]

    def players_by_token(self) -> dict[str, str]:
        """``QUIZRELAY_API_TOKENS`` as {token: player name}."""
        if self.api_tokens is None:
            return {}
        players = {}
        for entry in self.api_tokens.get_secret_value().split(","):
            name, _, token = entry.strip().partition(":")
            players[token.strip()] = name.strip()
        return players

    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (the CLI's and the app factory's default)."""
    return Settings()
