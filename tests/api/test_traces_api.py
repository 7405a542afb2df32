"""Traces through the API: both pipelines' span trees, roll-ups, cost, comparison, filters,
failures marked where they happened, content capture off, retention."""

from __future__ import annotations

import pytest
from agents.testing import assistant_message, function_call

from tests.conftest import ScriptedRoles
from tests.fakes.scripted_openai import ScriptedOpenAIServer, text, tool_call
from tests.support.server import on_app
from tests.support.sse import custom, stream_round

QUESTION = {"question": "3, 6, 12, 24, ?", "reference_answer": "48"}


def agents_roles() -> ScriptedRoles:
    return ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[function_call("transfer_to_judge", {"answer": "48"}, call_id="a1")]],
        judge=[
            [function_call("check_answer", {}, call_id="j1")],
            [
                function_call(
                    "submit_verdict", {"correct": True, "explanation": "Doubling."}, call_id="j2"
                )
            ],
        ],
    )


def agents_steps() -> list:
    return [
        tool_call("draw_question", {}, usage=(50, 3)),
        tool_call("transfer_to_answerer", {}, usage=(55, 2)),
        tool_call("transfer_to_judge", {"answer": "48"}, usage=(40, 6)),
        tool_call("check_answer", {}, usage=(60, 3)),
        tool_call("submit_verdict", {"correct": True, "explanation": "Doubling."}, usage=(70, 9)),
    ]


def chat_steps() -> list:
    return [
        tool_call("draw_question", {}, usage=(50, 3)),
        text("48", usage=(40, 2)),
        tool_call("check_answer", {}, usage=(60, 3)),
        tool_call("submit_verdict", {"correct": True, "explanation": "Doubling."}, usage=(70, 9)),
    ]


@pytest.fixture
def model_server():
    with ScriptedOpenAIServer(model="scripted-model") as server:
        yield server


@pytest.fixture
def two_rounds(make_settings, serve, http, model_server):
    """One agents round and one chat round on the same question, in one service."""
    model_server.extend(agents_steps() + chat_steps())
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    agents = stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "agents", "game_id": "game_a", **QUESTION}
    )
    chat = stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "chat", "game_id": "game_b", **QUESTION}
    )
    return base_url, custom(agents, "round")[0], custom(chat, "round")[0]


def test_each_round_has_a_trace_with_every_span_kind(two_rounds, http):
    base_url, agents_round, chat_round = two_rounds
    agents = http.get(f"{base_url}/api/traces/{agents_round['trace_id']}").json()
    chat = http.get(f"{base_url}/api/traces/{chat_round['trace_id']}").json()

    assert (
        agents["trace"]["round_id"] == agents_round["round_id"]
        and agents["trace"]["game_id"] == "game_a"
    )
    assert agents["trace"]["status"] == "ok" and agents["trace"]["pipeline"] == "agents"
    kinds = {s["kind"] for s in agents["spans"]}
    assert {"agent", "generation", "function", "handoff"} <= kinds
    assert {"agent", "generation", "function"} <= {s["kind"] for s in chat["spans"]}
    assert "handoff" not in {s["kind"] for s in chat["spans"]}
    for trace in (agents, chat):
        spans = {s["id"]: s for s in trace["spans"]}
        for span in trace["spans"]:
            if span["parent_id"] is not None:
                assert (
                    span["parent_id"] in spans
                    and spans[span["parent_id"]]["depth"] == span["depth"] - 1
                )
            assert span["start_ms"] >= 0 and span["duration_ms"] is not None
        generations = [s for s in trace["spans"] if s["kind"] == "generation"]
        assert generations and all(
            g["input_tokens"] > 0 and g["output_tokens"] > 0 for g in generations
        )
        assert all(g["role"] in ("Questioner", "Answerer", "Judge") for g in generations)
        assert all(g["data"]["input"] for g in generations)  # messages captured
        tools = [s for s in trace["spans"] if s["kind"] == "function"]
        assert {t["name"] for t in tools} == {"draw_question", "check_answer", "submit_verdict"}
        assert any("Doubling" in (t["data"].get("input") or "") for t in tools)
    # Both pipelines saw their first tokens arrive: time to first token per generation.
    for trace in (agents, chat):
        generations = [g for g in trace["spans"] if g["kind"] == "generation"]
        assert all(0 <= g["ttft_ms"] <= g["duration_ms"] for g in generations)
    handoffs = [s["name"] for s in agents["spans"] if s["kind"] == "handoff"]
    assert handoffs == ["Questioner → Answerer", "Answerer → Judge"]


def test_rollups_per_role_and_total(two_rounds, http):
    base_url, agents_round, chat_round = two_rounds
    agents = http.get(f"{base_url}/api/traces/{agents_round['trace_id']}").json()["rollups"]
    chat = http.get(f"{base_url}/api/traces/{chat_round['trace_id']}").json()["rollups"]
    assert (
        agents["by_role"]["Questioner"]["model_calls"] == 2
        and agents["by_role"]["Judge"]["model_calls"] == 2
    )
    assert agents["by_role"]["Questioner"]["handoffs"] == 1 and agents["total"]["handoffs"] == 2
    assert agents["total"]["input_tokens"] == 275 and agents["total"]["cost"] == 0.0
    assert (
        chat["by_role"]["Judge"]["input_tokens"] == 130
        and chat["by_role"]["Judge"]["tool_calls"] == 2
    )
    assert chat["total"]["model_calls"] == 4 and chat["total"]["handoffs"] == 0
    assert chat["total"]["total_tokens"] == 50 + 3 + 40 + 2 + 60 + 3 + 70 + 9
    for rollup in (agents, chat):
        assert rollup["total"]["duration_ms"] >= rollup["total"]["model_ms"] >= 0


def test_compare_aligns_roles_and_gives_differences(two_rounds, http):
    base_url, agents_round, chat_round = two_rounds
    result = http.get(
        f"{base_url}/api/traces/compare",
        params={"a": agents_round["trace_id"], "b": chat_round["trace_id"]},
    ).json()
    assert [r["role"] for r in result["roles"]] == ["Questioner", "Answerer", "Judge"]
    questioner = result["roles"][0]
    assert questioner["a"]["model_calls"] == 2 and questioner["b"]["model_calls"] == 1
    assert questioner["diff"]["model_calls"] == -1 and questioner["diff"]["handoffs"] == -1
    assert result["total"]["diff"]["model_calls"] == 4 - 5
    assert (
        result["a"]["id"] == agents_round["trace_id"]
        and result["b"]["id"] == chat_round["trace_id"]
    )
    assert result["spans"]["a"] and result["spans"]["b"]
    missing = http.get(
        f"{base_url}/api/traces/compare", params={"a": "trace_nope", "b": chat_round["trace_id"]}
    )
    assert missing.status_code == 404 and "trace_nope" in missing.json()["detail"]
    assert http.get(f"{base_url}/api/traces/compare", params={"a": "x"}).status_code == 422


def test_list_filters_and_pages_newest_first(two_rounds, http):
    base_url, agents_round, chat_round = two_rounds
    listing = http.get(f"{base_url}/api/traces").json()
    assert listing["total"] == 2 and [t["id"] for t in listing["items"]] == [
        chat_round["trace_id"],
        agents_round["trace_id"],
    ]
    assert (
        listing["items"][0]["totals"]["model_calls"] == 4 and listing["items"][0]["span_count"] > 4
    )
    assert [
        t["pipeline"] for t in http.get(f"{base_url}/api/traces?pipeline=agents").json()["items"]
    ] == ["agents"]
    assert (
        http.get(f"{base_url}/api/traces?game_id=game_b").json()["items"][0]["id"]
        == chat_round["trace_id"]
    )
    assert http.get(f"{base_url}/api/traces?status=error").json()["total"] == 0
    page = http.get(f"{base_url}/api/traces?limit=1&offset=1").json()
    assert [t["id"] for t in page["items"]] == [agents_round["trace_id"]] and page[
        "next_offset"
    ] is None
    assert http.get(f"{base_url}/api/traces?limit=1").json()["next_offset"] == 1
    assert http.get(f"{base_url}/api/traces?since=2999-01-01T00:00:00Z").json()["total"] == 0
    assert http.get(f"{base_url}/api/traces?status=broken").status_code == 422
    assert http.get(f"{base_url}/api/traces?limit=0").status_code == 422


def test_failure_is_marked_on_the_span_where_it_happened(make_settings, serve, http):
    roles = ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [assistant_message("Over to you!")],
        ]
    )
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    trace = http.get(f"{base_url}/api/traces/{custom(events, 'round')[0]['trace_id']}").json()
    assert trace["trace"]["status"] == "error" and trace["trace"]["error"]["code"] == "no_handoff"
    failed = [s for s in trace["spans"] if s["status"] == "error"]
    assert [(s["kind"], s["name"]) for s in failed] == [("agent", "Questioner")]
    assert "transfer_to_answerer" in failed[0]["error"]["message"]
    assert trace["rollups"]["total"]["errors"] == 1
    assert http.get(f"{base_url}/api/traces?status=error").json()["total"] == 1


def test_upstream_error_is_on_the_generation_span(make_settings, serve, http, model_server):
    from tests.fakes.scripted_openai import error

    model_server.extend([tool_call("draw_question", {}), error(500, "boom")])
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    trace = http.get(f"{base_url}/api/traces/{custom(events, 'round')[0]['trace_id']}").json()
    failed = [s for s in trace["spans"] if s["status"] == "error"]
    generation = [s for s in failed if s["kind"] == "generation"]
    assert (
        generation
        and generation[0]["role"] == "Answerer"
        and "500" in generation[0]["error"]["message"]
    )
    assert {(s["kind"], s["role"]) for s in failed} == {
        ("generation", "Answerer"),
        ("agent", "Answerer"),
    }


def test_content_capture_off_keeps_structure_and_drops_text(
    make_settings, serve, http, model_server
):
    model_server.extend(agents_steps() + chat_steps())
    base_url, _ = serve(
        make_settings(llm_base_url=model_server.base_url, trace_include_content=False)
    )
    for pipeline in ("agents", "chat"):
        events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION})
        trace = http.get(f"{base_url}/api/traces/{custom(events, 'round')[0]['trace_id']}").json()
        generations = [s for s in trace["spans"] if s["kind"] == "generation"]
        assert generations and all(g["input_tokens"] > 0 for g in generations), pipeline
        assert all(
            not g["data"].get("input") and not g["data"].get("output") for g in generations
        ), pipeline
        tools = [s for s in trace["spans"] if s["kind"] == "function"]
        assert tools and all(
            not t["data"].get("input") and not t["data"].get("output") for t in tools
        ), pipeline
        assert "Doubling" not in str(trace) and "3, 6, 12" not in str(trace), pipeline


def test_cost_comes_from_the_price_table(make_settings, serve, http, model_server):
    model_server.extend(chat_steps())
    base_url, _ = serve(make_settings(llm_base_url=model_server.base_url, model="gpt-4.1-mini"))
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    trace = http.get(f"{base_url}/api/traces/{custom(events, 'round')[0]['trace_id']}").json()
    expected = (220 * 0.40 + 17 * 1.60) / 1_000_000
    assert trace["rollups"]["total"]["cost"] == pytest.approx(expected)
    assert sum(s["cost"] for s in trace["spans"] if s["kind"] == "generation") == pytest.approx(
        expected
    )


def test_retention_removes_old_traces_and_nothing_else(make_settings, serve, http):
    roles = [agents_roles() for _ in range(3)]
    calls = {"n": 0}

    def factory(role, spec):
        index = calls["n"] // 3
        calls["n"] += 1
        return roles[index].models[role]

    base_url, app = serve(make_settings(), factory)
    rounds = []
    for _ in range(3):
        events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
        rounds.append(custom(events, "round")[0])
    service = app.state.service
    assert on_app(app, service.traces.prune(max_traces=1, max_age_days=None)) == 2
    assert http.get(f"{base_url}/api/traces").json()["total"] == 1
    assert http.get(f"{base_url}/api/traces/{rounds[0]['trace_id']}").status_code == 404
    assert http.get(f"{base_url}/api/traces/{rounds[2]['trace_id']}").status_code == 200
    for info in rounds:  # the rounds themselves stay
        assert http.get(f"{base_url}/api/rounds/{info['round_id']}").json()["status"] == "completed"
    assert on_app(app, service.traces.spans(rounds[0]["trace_id"])) == []
