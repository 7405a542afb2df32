"""Which pipeline plays a round: one set of pipelines per named model (and model settings).

A worker builds them on first use: an ``openai`` client per model server (with that model's key
and quirk profile), both (all three) pipelines on it, and — for the embedded model — the model
server process itself, shared by every name that points at it and stopped with the worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from openai import AsyncOpenAI

from .agent_specs import AgentsConfig, AgentSpec
from .embedded.process import EmbeddedModelProcess
from .errors import RoundFailure
from .llama_server import is_llama_server
from .llm_client import build_client
from .named_models import NamedModel
from .pipelines.base import Pipeline, PipelineSetup
from .retry import RetryPolicy
from .rounds.tools import build_tools
from .settings import Settings
from .vocabulary import MODEL_UNREACHABLE

logger = logging.getLogger(__name__)

PipelineBuilder = Callable[[PipelineSetup, AsyncOpenAI, Callable[[str, AgentSpec], Any]], Pipeline]
"""Builds one pipeline from the setup, the client and a factory of SDK models."""


async def refine_profile(model: NamedModel) -> NamedModel:
    """``model`` with its profile settled: one the URL only guessed (``generic``) is refined by
    asking the server (a llama.cpp ``llama-server`` looks like any server from its URL)."""
    if not (model.auto and model.profile == "generic" and model.base_url is not None):
        return model
    if await is_llama_server(model.base_url):
        logger.info("model %s: %s is llama.cpp's llama-server", model.name, model.base_url)
        return dataclasses.replace(model, profile="llama-server", auto=False)
    return dataclasses.replace(model, auto=False)


class PipelineCatalog:
    def __init__(
        self,
        *,
        settings: Settings,
        config: AgentsConfig,
        models: dict[str, NamedModel],
        builders: dict[str, PipelineBuilder],
        model_factory: Callable[[str, AgentSpec], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.models = models
        self.builders = builders
        self.model_factory = model_factory
        self.embedded: EmbeddedModelProcess | None = None
        self._embedded_url: str | None = None
        self._clients: dict[str, AsyncOpenAI] = {}
        self._pipelines: dict[tuple[str, str, str], Pipeline] = {}
        self._lock = asyncio.Lock()

    @property
    def names(self) -> list[str]:
        return sorted(self.builders)

    async def start_embedded(self) -> str:
        """Start the embedded model server (once); its base URL."""
        if self._embedded_url is None:
            self.embedded = EmbeddedModelProcess(self.settings)
            self._embedded_url = await self.embedded.start()
        return self._embedded_url

    async def resolve(self, name: str) -> NamedModel:
        """The model, its profile refined by asking the server when it was only inferred (a
        llama.cpp ``llama-server`` looks like any server from its URL)."""
        model = await refine_profile(self.models[name])
        self.models[name] = model
        return model

    async def _client(self, model: NamedModel) -> AsyncOpenAI:
        base_url = model.base_url or await self.start_embedded()
        client = self._clients.get(model.name)
        if client is None:
            client = build_client(
                self.settings, base_url, profile=model.profile,
                api_key=model.api_key(self.settings),
            )  # fmt: skip
            self._clients[model.name] = client
        return client

    def setup_for(self, model: NamedModel, overrides: dict[str, Any] | None) -> PipelineSetup:
        settings = self.settings
        return PipelineSetup(
            config=self.config,
            tools=build_tools(self.config),
            profile=model.profile,
            default_model=model.model,
            include_content_in_traces=settings.trace_include_content,
            retry=RetryPolicy(
                max_retries=settings.llm_max_retries, base_delay=settings.llm_retry_base_delay
            ),
            call_timeout=settings.llm_timeout,
            setting_overrides=dict(overrides or {}),
        )

    async def get(
        self, pipeline: str, model_name: str, overrides: dict[str, Any] | None = None
    ) -> Pipeline:
        key = (pipeline, model_name, json.dumps(overrides or {}, sort_keys=True))
        found = self._pipelines.get(key)
        if found is not None:
            return found
        async with self._lock:
            found = self._pipelines.get(key)
            if found is not None:
                return found
            model = await self.resolve(model_name)
            try:
                client = await self._client(model)
            except Exception as exc:  # the embedded model would not start (or is not installed)
                raise RoundFailure(
                    MODEL_UNREACHABLE, f"The model {model_name!r} cannot be started: {exc}"
                ) from exc
            setup = self.setup_for(model, overrides)
            factory = self.model_factory or _openai_models(client, model.model)
            built = self.builders[pipeline](setup, client, factory)
            self._pipelines[key] = built
            return built

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        if self.embedded is not None:
            await self.embedded.stop()


def _openai_models(client: AsyncOpenAI, default: str) -> Callable[[str, AgentSpec], Any]:
    def factory(role: str, spec: AgentSpec) -> OpenAIChatCompletionsModel:
        return OpenAIChatCompletionsModel(model=spec.model or default, openai_client=client)

    return factory
