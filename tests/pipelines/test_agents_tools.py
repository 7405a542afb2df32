"""The ``agents-tools`` pipeline: a quizmaster calls the three roles as tools (``Agent.as_tool``);
same events, tools, verdict and spans as the other pipelines, with nested agent spans."""

from __future__ import annotations

import httpx

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder
from tests.support.sse import custom, outline, stream_round

QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}
ROLE_STEPS = ["Questioner", "Answerer", "Judge"]


def served(make_settings, serve, server: ScriptedOpenAIServer) -> str:
    server.responder = auto_responder
    base_url, _ = serve(make_settings(llm_base_url=server.base_url, model_profile="llama-cpp"))
    return base_url


def test_a_round_runs_the_roles_as_tools_with_the_same_events(
    make_settings, serve, http: httpx.Client
) -> None:
    with ScriptedOpenAIServer(model="scripted-model") as server:
        base_url = served(make_settings, serve, server)
        events = stream_round(
            http, f"{base_url}/api/rounds", {"pipeline": "agents-tools", **QUESTION}
        )
        shape = outline(events)
        assert [s.split(":")[1] for s in shape if s.startswith("STEP_STARTED")] == ROLE_STEPS
        assert custom(events, "handoff") == []  # roles are called, not handed to
        assert custom(events, "question")[0]["text"] == QUESTION["question"]
        assert custom(events, "answer")[0] == {"text": "42", "answered_by": "Answerer"}
        verdict = custom(events, "verdict")[0]
        assert verdict["correct"] is False and verdict["decided_by"] == "check_answer"
        assert events[-1].type == "RUN_FINISHED"
        usage = events[-1].data["result"]["usage"]["roles"]
        assert usage["Quizmaster"]["requests"] == 3  # one call per role tool
        # The quizmaster named each role's tool in turn; the roles named their own tools.
        choices = [r.body.get("tool_choice") for r in server.requests]
        named = [c["function"]["name"] for c in choices if isinstance(c, dict)]
        assert named == ["ask_question", "draw_question", "answer_question", "judge_answer",
                         "check_answer", "submit_verdict"]  # fmt: skip
        # The Answerer never sees the reference answer.
        answerer = [r for r in server.requests if "Answerer" in str(r.body["messages"][0])]
        assert answerer and all("768" not in str(r.body) for r in answerer)

        trace_id = custom(events, "round")[0]["trace_id"]
        spans = http.get(f"{base_url}/api/traces/{trace_id}").json()["spans"]
        by_id = {s["id"]: s for s in spans}
        agents = {s["name"]: s for s in spans if s["kind"] == "agent"}
        assert set(agents) == {"Quizmaster", *ROLE_STEPS}
        for role, tool in (("Questioner", "ask_question"), ("Answerer", "answer_question"),
                           ("Judge", "judge_answer")):  # fmt: skip
            parent = by_id[agents[role]["parent_id"]]
            assert parent["kind"] == "function" and parent["name"] == tool  # nested under it
            assert by_id[parent["parent_id"]]["name"] == "Quizmaster"


def test_a_human_round_through_the_quizmaster(make_settings, serve, http: httpx.Client) -> None:
    with ScriptedOpenAIServer(model="scripted-model") as server:
        base_url = served(make_settings, serve, server)
        first = stream_round(
            http,
            f"{base_url}/api/rounds",
            {"pipeline": "agents-tools", "mode": "human", **QUESTION},
        )
        assert first[-1].data["outcome"]["type"] == "interrupt"
        assert custom(first, "answer") == []
        round_id = first[0].data["runId"]
        second = stream_round(http, f"{base_url}/api/rounds/{round_id}/answer", {"answer": "768"})
        assert custom(second, "answer")[0] == {"text": "768", "answered_by": "player"}
        assert custom(second, "verdict")[0]["correct"] is True
        assert "STEP_STARTED:Questioner" not in outline(second)  # the question was asked already
