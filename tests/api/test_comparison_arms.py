"""Comparisons of arms (pipeline × named model): scripted model servers of known behaviour make
the statistics come out as they must — a real difference is found, identical arms are not, and
the counts match the rounds."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx

from quizrelay.agent_specs import load_agents_config
from quizrelay.questions.source import QuestionSource
from quizrelay.settings import default_agents_config_dir
from tests.fakes.openai_steps import Step, auto_responder, text
from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.support.sse import custom, stream_round

ROUNDS = 8
SEED = 4242
CATEGORY = "arithmetic"
SLOWER = 0.15  # seconds: server B is this much slower before its first token


def references() -> dict[str, str]:
    """question text → reference answer of the comparison's questions (same seeds)."""
    source = QuestionSource(load_agents_config(default_agents_config_dir()).questions)
    drawn = [source.draw(CATEGORY, "medium", SEED + i) for i in range(ROUNDS)]
    return {q.text: q.reference_answer for q in drawn}


def answering(right_on: dict[str, str]) -> Any:
    """Answers the questions in ``right_on`` correctly and every other question wrongly."""

    def respond(body: dict[str, Any]) -> Step:
        system = str(body["messages"][0].get("content", ""))
        if "You are the Answerer" in system and not body.get("tools"):
            for question, reference in right_on.items():
                if question in system:
                    return text(reference)
        return auto_responder(body)

    return respond


def slowed(responder: Any, delay: float) -> Any:
    def respond(body: dict[str, Any]) -> Step:
        step = responder(body)
        return dataclasses.replace(
            step, faults=dataclasses.replace(step.faults, first_token_delay=delay)
        )

    return respond


def test_arms_over_two_models_and_three_pipelines(
    make_settings, serve, http: httpx.Client, tmp_path: Path
) -> None:
    refs = references()
    subset = dict(list(refs.items())[:6])  # server C is right on these six questions
    with (
        ScriptedOpenAIServer(model="a") as a,
        ScriptedOpenAIServer(model="b") as b,
        ScriptedOpenAIServer(model="c") as c,
    ):
        a.responder = slowed(auto_responder, 0.02)
        b.responder = slowed(auto_responder, 0.02 + SLOWER)
        c.responder = slowed(answering(subset), 0.02)
        models = tmp_path / "models.yaml"
        models.write_text(
            "models:\n"
            + "".join(
                f"  {name}:\n    base_url: {server.base_url}\n    model: m-{name}\n"
                "    profile: llama-cpp\n"
                for name, server in (("slow", b), ("clever", c))
            )
        )
        settings = make_settings(llm_base_url=a.base_url, model_profile="llama-cpp",
                                 models_file=models, round_timeout=60.0)  # fmt: skip
        base_url, _ = serve(settings)
        arms: list[dict[str, Any]] = [
            {"pipeline": "chat", "name": "base"},
            {"pipeline": "chat", "model": "slow", "name": "slow"},
            {"pipeline": "chat", "model": "clever", "name": "clever"},
            {"pipeline": "chat", "name": "twin"},  # the same as the baseline
            {"pipeline": "agents", "name": "agents"},
            {"pipeline": "agents-tools", "name": "tools", "model_settings": {"temperature": 0.0}},
        ]
        body = {"rounds": ROUNDS, "seed": SEED, "categories": [CATEGORY], "arms": arms,
                "baseline": "base"}  # fmt: skip
        events = stream_round(http, f"{base_url}/api/comparisons", body)
        assert events[-1].type == "RUN_FINISHED", events[-1].data
        progress = custom(events, "comparison_progress")
        assert len(progress) == ROUNDS * len(arms)
        # Interleaved: question by question, every arm in turn.
        assert [p["arm"] for p in progress[: len(arms)]] == [arm["name"] for arm in arms]
        result = custom(events, "comparison_summary")[0]
        stats = result["statistics"]

    paired = stats["paired"]
    slow = paired["slow"]["metrics"]["ttft_ms"]
    assert slow["significant"] is True and slow["p_value"] < 0.05
    assert 100 <= slow["median"] <= 300 and slow["low"] <= slow["median"] <= slow["high"]
    clever = paired["clever"]["correctness"]
    assert clever["table"] == {"both_correct": 0, "baseline_only": 0, "other_only": 6,
                               "both_wrong": 2}  # fmt: skip
    assert clever["significant"] is True
    twin = paired["twin"]["correctness"]
    assert twin["significant"] is False and twin["table"]["other_only"] == 0
    assert stats["arms"]["clever"]["correct"] == 6 and stats["arms"]["base"]["correct"] == 0
    for name in ("base", "slow", "clever", "twin", "agents", "tools"):
        assert stats["arms"][name]["rounds"] == ROUNDS
        assert stats["arms"][name]["completed"] == ROUNDS, stats["arms"][name]["errors"]
    assert sum(c["clever"]["rounds"] for c in stats["categories"].values()) == ROUNDS
    # Each arm ran where it said: the slow arm's rounds went to B, the clever arm's to C.
    assert {r.body["model"] for r in b.requests} == {"m-slow"}
    assert {r.body["model"] for r in c.requests} == {"m-clever"}
    # The tools arm's temperature replaced the roles' own, in every one of its calls (and only
    # there: the others keep the temperatures of agents_config/).
    temperatures = {r.body.get("temperature") for r in a.requests}
    assert 0.0 in temperatures and len(temperatures) > 1, temperatures
    record = result["settings"]["record"]
    assert [arm["model_id"] for arm in record["arms"]][:3] == [
        "scripted-model",
        "m-slow",
        "m-clever",
    ]
    assert len(record["prompts_sha256"]) == 64 and record["versions"]["openai-agents"]

    # The same numbers come back from the API and its exports.
    comparison_id = result["id"]
    stored = http.get(f"{base_url}/api/comparisons/{comparison_id}").json()
    assert stored["result"]["statistics"] == stats
    rows = http.get(f"{base_url}/api/comparisons/{comparison_id}/export?format=csv").text
    assert rows.count("\n") == 1 + ROUNDS * len(arms)
    report = http.get(f"{base_url}/api/comparisons/{comparison_id}/export?format=html").text
    assert "<script" in report and comparison_id in report and "/static/" not in report
