"""Comparisons: the same questions through both pipelines, interleaved, with statistics that
agree with the traces."""

from __future__ import annotations

import statistics

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder
from tests.support.sse import custom, stream_round


def test_comparison_runs_both_pipelines_on_the_same_questions(make_settings, serve, http):
    with ScriptedOpenAIServer(model="scripted-model") as model_server:
        model_server.responder = auto_responder  # named tool choices get schema-valid arguments
        base_url, _ = serve(
            make_settings(llm_base_url=model_server.base_url, model_profile="llama-cpp")
        )
        events = stream_round(
            http,
            f"{base_url}/api/comparisons",
            {"rounds": 3, "categories": ["arithmetic", "gcd"], "difficulty": "easy", "seed": 7},
        )

    assert events[0].type == "RUN_STARTED" and events[-1].type == "RUN_FINISHED"
    progress = custom(events, "comparison_progress")
    assert [(p["index"], p["pipeline"]) for p in progress] == [
        (0, "agents"),
        (0, "chat"),
        (1, "agents"),
        (1, "chat"),
        (2, "agents"),
        (2, "chat"),
    ]
    assert [p["done"] for p in progress] == [1, 2, 3, 4, 5, 6] and progress[0]["of"] == 6
    assert [p["category"] for p in progress] == [
        "arithmetic",
        "arithmetic",
        "gcd",
        "gcd",
        "arithmetic",
        "arithmetic",
    ]
    assert all(p["status"] == "completed" for p in progress)

    summary = custom(events, "comparison_summary")[0]
    comparison_id = summary["id"]
    stored = http.get(f"{base_url}/api/comparisons/{comparison_id}").json()
    assert stored["status"] == "completed" and stored["result"] == summary

    agents, chat = summary["pipelines"]["agents"], summary["pipelines"]["chat"]
    assert agents["rounds"] == chat["rounds"] == 3 and agents["completed"] == chat["completed"] == 3
    assert agents["errors"] == {} and agents["accuracy"] == 0.0  # the auto responder answers "42"
    assert agents["model_calls"]["mean"] == 5 and chat["model_calls"]["mean"] == 4
    for stats in (agents, chat):
        assert stats["round_ms"]["median"] >= stats["model_ms"]["median"] > 0
        assert stats["overhead_ms"]["median"] >= 0 and 0 <= stats["overhead_share"] <= 1
        assert stats["ttft_ms"]["p95"] >= stats["ttft_ms"]["median"] > 0
        assert stats["cost"]["total"] == 0.0

    # Each question was asked of both pipelines, and the numbers agree with the traces.
    assert len(summary["questions"]) == 3
    overheads = []
    for question in summary["questions"]:
        agents_round, chat_round = question["rounds"]["agents"], question["rounds"]["chat"]
        assert agents_round["seed"] == chat_round["seed"] and question["question"]
        agents_question = http.get(f"{base_url}/api/rounds/{agents_round['round_id']}").json()[
            "question"
        ]
        assert (
            agents_question
            == http.get(f"{base_url}/api/rounds/{chat_round['round_id']}").json()["question"]
        )
        assert (
            question["compare_page"]
            == f"/traces/compare?a={agents_round['trace_id']}&b={chat_round['trace_id']}"
        )
        trace = http.get(f"{base_url}/api/traces/{agents_round['trace_id']}").json()
        assert agents_round["model_calls"] == trace["rollups"]["total"]["model_calls"]
        assert agents_round["input_tokens"] == trace["rollups"]["total"]["input_tokens"]
        assert agents_round["overhead_ms"] == round(
            trace["trace"]["duration_ms"] - trace["rollups"]["total"]["model_ms"], 1
        )
        overheads.append(agents_round["overhead_ms"])
    assert agents["overhead_ms"]["median"] == round(statistics.median(overheads), 1)
    games = {
        p["round_id"]: http.get(f"{base_url}/api/rounds/{p['round_id']}").json()["game_id"]
        for p in progress
    }
    assert set(games.values()) == {f"{comparison_id}_agents", f"{comparison_id}_chat"}


def test_comparison_validation_and_lookup(make_settings, serve, http):
    base_url, _ = serve(make_settings())
    assert http.post(f"{base_url}/api/comparisons", json={"rounds": 0}).status_code == 422
    assert http.post(f"{base_url}/api/comparisons", json={"rounds": 101}).status_code == 422
    bad = http.post(f"{base_url}/api/comparisons", json={"rounds": 1, "categories": ["runes"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "categories"]
    assert http.get(f"{base_url}/api/comparisons/cmp_nope").status_code == 404
