"""The HTTP surface: validation errors that name the field, lookups, replay, docs."""

from __future__ import annotations

import pytest
from agents.testing import function_call

from tests.conftest import ScriptedRoles
from tests.support.sse import custom, parse_sse, stream_round

QUESTION = {"question": "2, 4, 8, ?", "reference_answer": "16"}


def roles() -> ScriptedRoles:
    return ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[function_call("transfer_to_judge", {"answer": "16"}, call_id="a1")]],
        judge=[
            [function_call("check_answer", {}, call_id="j1")],
            [function_call("submit_verdict", {"correct": True, "explanation": "ok"}, call_id="j2")],
        ],
    )


@pytest.fixture
def api(make_settings, serve):
    base_url, _ = serve(make_settings(), roles().factory)
    return base_url


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({}, "pipeline", "Field required"),
        ({"pipeline": "crew"}, "pipeline", "'agents', 'agents-tools' or 'chat'"),
        (
            {"pipeline": "agents", "category": "astrology"},
            "category",
            "unknown category 'astrology'",
        ),
        (
            {"pipeline": "agents", "difficulty": "extreme"},
            "difficulty",
            "'easy', 'medium' or 'hard'",
        ),
        ({"pipeline": "agents", "seed": "abc"}, "seed", "valid integer"),
        ({"pipeline": "agents", "seed": -1}, "seed", "greater than or equal to 0"),
        ({"pipeline": "agents", "question": "2+2?"}, None, "must be given together"),
        (
            {"pipeline": "agents", "question": "x" * 2001, "reference_answer": "4"},
            "question",
            "at most 2000",
        ),
        ({"pipeline": "agents", "game_id": "../../etc"}, "game_id", "pattern"),
        ({"pipeline": "agents", "colour": "red"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_bad_round_requests_get_a_422_naming_the_field(api, http, body, field, text):
    response = http.post(f"{api}/api/rounds", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(text in item["msg"] for item in detail), detail
    if field is not None:
        assert any(item["loc"][-1] == field for item in detail), detail


def test_body_that_is_not_json_is_a_422(api, http):
    response = http.post(
        f"{api}/api/rounds",
        content=b"{pipeline: agents",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "JSON" in response.text


def test_unknown_round_is_a_404(api, http):
    assert http.get(f"{api}/api/rounds/round_missing").status_code == 404
    assert http.get(f"{api}/api/rounds/round_missing/events").status_code == 404
    assert "round_missing" in http.get(f"{api}/api/rounds/round_missing").json()["detail"]


def test_categories_health_and_docs(api, http):
    categories = {c["name"]: c for c in http.get(f"{api}/api/categories").json()}
    assert {
        "number_sequence",
        "arithmetic",
        "syllogisms",
        "family",
        "letter_counting",
        "freeform",
    } <= set(categories)
    assert categories["number_sequence"]["verified"] is True
    assert categories["number_sequence"]["difficulties"] == ["easy", "medium", "hard"]
    assert categories["freeform"]["verified"] is False
    health = http.get(f"{api}/healthz").json()
    worker = health.pop("worker")
    assert health == {
        "status": "ok",
        "model": "scripted-model",
        "model_server": "remote",
        "profile": "generic",
        "pipelines": ["agents", "agents-tools", "chat"],
        "mode": "memory",
        "dependencies": {"database": "ok"},
    }
    assert worker["running"] == 0 and worker["draining"] is False and worker["id"]
    ready = http.get(f"{api}/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "ready": True,
        "dependencies": {"database": "ok"},
    }
    assert http.get(f"{api}/docs").status_code == 200
    schema = http.get(f"{api}/openapi.json").json()
    assert "/api/rounds" in schema["paths"] and "/api/rounds/{round_id}/events" in schema["paths"]


def test_events_replay_after_an_id_and_with_last_event_id(api, http):
    events = stream_round(http, f"{api}/api/rounds", {"pipeline": "agents", **QUESTION})
    round_id = custom(events, "round")[0]["round_id"]
    tail = stream_round(http, f"{api}/api/rounds/{round_id}/events?after=10", method="GET")
    assert [e.id for e in tail] == [e.id for e in events if e.id > 10]
    resumed = stream_round(
        http,
        f"{api}/api/rounds/{round_id}/events",
        method="GET",
        headers={"Last-Event-ID": str(len(events) - 2)},
    )
    assert [e.data for e in resumed] == [e.data for e in events[-2:]]
    bad = http.get(f"{api}/api/rounds/{round_id}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422


def test_sse_framing_is_strict(api, http):
    with http.stream(
        "POST", f"{api}/api/rounds", json={"pipeline": "agents", **QUESTION}
    ) as response:
        assert response.headers["cache-control"] == "no-store"
        text = response.read().decode()
    assert text.endswith("\n\n")
    events, _ = parse_sse(text.split("\n"))
    assert events[0].type == "RUN_STARTED" and events[-1].type == "RUN_FINISHED"


def test_a_round_joins_the_game_it_names(api, http):
    first = stream_round(
        http, f"{api}/api/rounds", {"pipeline": "agents", "game_id": "game_demo", **QUESTION}
    )
    assert first[0].data["threadId"] == "game_demo"
    round_id = custom(first, "round")[0]["round_id"]
    assert http.get(f"{api}/api/rounds/{round_id}").json()["game_id"] == "game_demo"
