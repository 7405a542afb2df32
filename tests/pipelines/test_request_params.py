"""What each role's ``model_settings`` become on the wire, in both pipelines: the same request
parameters whichever pipeline runs, including the ones OpenAI's reasoning models require
(``max_completion_tokens`` and ``reasoning_effort``, no ``max_tokens`` or ``temperature``)."""

from __future__ import annotations

from typing import Any

import pytest

from quizrelay.agent_specs import AgentSpec, ProfileOverride, load_agents_config
from quizrelay.settings import Settings
from tests.fakes.scripted_openai import ScriptedOpenAIServer, text, tool_call
from tests.support.sse import custom, stream_round

QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}
ROLES = ("Questioner", "Answerer", "Judge")


def happy_steps(pipeline: str) -> list[Any]:
    if pipeline == "agents":
        return [
            tool_call("draw_question", {}),
            tool_call("transfer_to_answerer", {}),
            tool_call("transfer_to_judge", {"answer": "768"}),
            tool_call("check_answer", {}),
            tool_call("submit_verdict", {"correct": True, "explanation": "It doubles."}),
        ]
    return [
        tool_call("draw_question", {}),
        text("768"),
        tool_call("check_answer", {}),
        tool_call("submit_verdict", {"correct": True, "explanation": "It doubles."}),
    ]


CALLERS = {
    "agents": ["Questioner", "Questioner", "Answerer", "Judge", "Judge"],
    "chat": ["Questioner", "Answerer", "Judge", "Judge"],
}
"""Which role makes each model call of :func:`happy_steps`, in order."""


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
@pytest.mark.parametrize("profile", ["openai-reasoning", "openai", "ollama"])
def test_both_pipelines_send_the_roles_settings(pipeline, profile, make_settings, serve, http):
    config = load_agents_config(Settings(_env_file=None).agents_config_dir)
    expected = {role: config.agent(role, profile).model_settings for role in ROLES}
    with ScriptedOpenAIServer(model="gpt-5-mini") as model_server:
        model_server.extend(happy_steps(pipeline))
        base_url, _ = serve(
            make_settings(
                llm_base_url=model_server.base_url, model="gpt-5-mini", model_profile=profile
            )
        )
        events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION})
        assert events[-1].type == "RUN_FINISHED", events[-1].data
        assert custom(events, "verdict")[0]["correct"] is True
        bodies = [r.body for r in model_server.requests]

    assert len(bodies) == len(CALLERS[pipeline])
    for role, body in zip(CALLERS[pipeline], bodies, strict=True):
        sent = {
            key: body[key]
            for key in ("temperature", "max_tokens", "max_completion_tokens", "reasoning_effort")
            if key in body
        }
        assert sent == expected[role], f"{role}: sent {sent}, configured {expected[role]}"
    if profile == "openai-reasoning":
        assert all("max_tokens" not in b and "temperature" not in b for b in bodies)
        assert all(
            b["max_completion_tokens"] == 3000 and b["reasoning_effort"] == "low" for b in bodies
        )
    else:
        assert all("max_completion_tokens" not in b and "reasoning_effort" not in b for b in bodies)
    if profile == "ollama":  # room for a thinking model's reasoning before its tool call
        assert all(b["max_tokens"] == 2048 for b in bodies)
    if profile == "openai":
        temperatures = {
            role: body["temperature"] for role, body in zip(CALLERS[pipeline], bodies, strict=True)
        }
        assert temperatures == {"Questioner": 0.7, "Answerer": 0.2, "Judge": 0.0}


def test_a_profile_removes_a_default_with_null_and_rejects_unknown_settings():
    spec = AgentSpec(
        name="Judge",
        handoff_description="judges",
        instructions="Judge it.",
        model_settings={"temperature": 0.0, "max_tokens": 400},
        profiles={
            "reasoning": ProfileOverride(
                model_settings={"temperature": None, "max_completion_tokens": 900}
            )
        },
    )
    assert spec.for_profile("reasoning").model_settings == {
        "max_tokens": 400,
        "max_completion_tokens": 900,
    }
    assert spec.for_profile("other").model_settings == {"temperature": 0.0, "max_tokens": 400}
    with pytest.raises(ValueError, match="unknown model_settings \\['max_output_tokens'\\]"):
        ProfileOverride(model_settings={"max_output_tokens": 5})


@pytest.mark.parametrize(
    ("model", "profile"),
    [
        ("gpt-5-mini", "openai-reasoning"),
        ("gpt-5", "openai-reasoning"),
        ("o4-mini", "openai-reasoning"),
        ("o3", "openai-reasoning"),
        ("gpt-5-chat-latest", "openai"),
        ("gpt-4.1-mini", "openai"),
        ("gpt-4o", "openai"),
    ],
)
def test_openai_reasoning_models_get_their_profile_automatically(model, profile):
    settings = Settings(_env_file=None, llm_base_url="https://api.openai.com/v1", model=model)
    assert settings.profile() == profile
    ollama = Settings(_env_file=None, llm_base_url="http://localhost:11434/v1", model=model)
    assert ollama.profile() == "ollama"
