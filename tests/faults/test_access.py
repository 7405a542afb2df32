"""Access: bearer tokens, players who see only their own things, a per-client rate limit on
starting rounds, CORS, and the model's key kept out of logs."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder, error, tool_call
from tests.support.sse import custom, stream_round

TOKENS = "alice:alice-token-1,bob:bob-token-22"
ALICE = {"Authorization": "Bearer alice-token-1"}
BOB = {"Authorization": "Bearer bob-token-22"}
QUESTION = {"question": "2, 4, 8, ?", "reference_answer": "16"}


@pytest.fixture
def model_server():
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = auto_responder
        yield server


@pytest.fixture
def secured(make_settings, serve, model_server):
    base_url, _ = serve(
        make_settings(
            llm_base_url=model_server.base_url, model_profile="llama-cpp", api_tokens=TOKENS
        )
    )
    return base_url


def test_every_api_route_needs_a_valid_token(secured, http):
    for method, path in [
        ("GET", "/api/categories"),
        ("GET", "/api/traces"),
        ("GET", "/api/games"),
        ("GET", "/api/leaderboard"),
        ("GET", "/api/comparisons"),
        ("POST", "/api/rounds"),
    ]:
        response = http.request(
            method, f"{secured}{path}", json={"pipeline": "chat"} if method == "POST" else None
        )
        assert response.status_code == 401, path
        assert (
            response.headers["www-authenticate"] == "Bearer"
            and "bearer token" in response.json()["detail"]
        )
        wrong = http.request(
            method,
            f"{secured}{path}",
            headers={"Authorization": "Bearer nope-nope-nope"},
            json={"pipeline": "chat"} if method == "POST" else None,
        )
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    assert http.get(f"{secured}/api/categories", headers=ALICE).status_code == 200
    # Health, docs and the pages themselves stay open (the pages ask for a token).
    assert http.get(f"{secured}/healthz").status_code == 200
    assert http.get(f"{secured}/openapi.json").status_code == 200
    assert http.get(f"{secured}/traces").status_code == 200


def test_players_see_only_their_own_games_rounds_traces(secured, http):
    events = stream_round(
        http, f"{secured}/api/rounds", {"pipeline": "chat", **QUESTION}, headers=ALICE
    )
    info = custom(events, "round")[0]
    game = http.post(
        f"{secured}/api/games", json={"pipeline": "agents", "rounds": 1}, headers=ALICE
    ).json()

    for path in (
        f"/api/rounds/{info['round_id']}",
        f"/api/traces/{info['trace_id']}",
        f"/api/games/{game['id']}",
        f"/api/rounds/{info['round_id']}/events",
    ):
        assert http.get(f"{secured}{path}", headers=ALICE).status_code == 200, path
        hidden = http.get(f"{secured}{path}", headers=BOB)
        assert hidden.status_code == 404, path  # as if it did not exist
    assert http.get(f"{secured}/api/traces", headers=BOB).json()["total"] == 0
    assert http.get(f"{secured}/api/traces", headers=ALICE).json()["total"] == 1
    assert http.get(f"{secured}/api/games", headers=BOB).json()["total"] == 0
    assert {g["id"] for g in http.get(f"{secured}/api/games", headers=ALICE).json()["items"]} >= {
        game["id"]
    }
    # Bob cannot play in Alice's game, nor answer her rounds.
    assert (
        http.post(f"{secured}/api/rounds", json={"game_id": game["id"]}, headers=BOB).status_code
        == 404
    )
    assert (
        http.post(
            f"{secured}/api/rounds/{info['round_id']}/answer", json={"answer": "1"}, headers=BOB
        ).status_code
        == 404
    )
    compare = http.get(
        f"{secured}/api/traces/compare",
        params={"a": info["trace_id"], "b": info["trace_id"]},
        headers=BOB,
    )
    assert compare.status_code == 404


def test_rate_limit_on_starting_rounds(make_settings, serve, http, model_server):
    base_url, _ = serve(
        make_settings(
            llm_base_url=model_server.base_url,
            model_profile="llama-cpp",
            rate_limit_rounds_per_minute=3,
        )
    )
    for _ in range(3):
        assert (
            stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})[-1].type
            == "RUN_FINISHED"
        )
    refused = http.post(f"{base_url}/api/rounds", json={"pipeline": "chat", **QUESTION})
    assert refused.status_code == 429
    assert (
        int(refused.headers["retry-after"]) >= 1
        and "at most 3 per minute" in refused.json()["detail"]
    )
    assert http.get(f"{base_url}/api/traces").status_code == 200  # reading is not limited


def test_rate_limit_is_per_player(make_settings, serve, http, model_server):
    base_url, _ = serve(
        make_settings(
            llm_base_url=model_server.base_url,
            model_profile="llama-cpp",
            rate_limit_rounds_per_minute=1,
            api_tokens=TOKENS,
        )
    )
    assert stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION}, headers=ALICE
    )
    assert (
        http.post(
            f"{base_url}/api/rounds", json={"pipeline": "chat", **QUESTION}, headers=ALICE
        ).status_code
        == 429
    )
    assert stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION}, headers=BOB
    )


def test_cors_origins_are_configurable(make_settings, serve, http):
    base_url, _ = serve(make_settings(cors_origins="https://quiz.example"))
    allowed = http.options(
        f"{base_url}/api/rounds",
        headers={
            "Origin": "https://quiz.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert (
        allowed.status_code == 200
        and allowed.headers["access-control-allow-origin"] == "https://quiz.example"
    )
    other = http.options(
        f"{base_url}/api/rounds",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_the_model_key_never_reaches_logs_or_responses(
    make_settings, serve, http, model_server, caplog
):
    key = "sk-live-TOPSECRET-abcdef123456"
    model_server.extend(
        [
            tool_call("draw_question", {}),
            error(500, f"upstream rejected key {key}"),
            error(500, f"still failing for {key}"),
            error(500, f"and again {key}"),
        ]
    )
    caplog.set_level(logging.DEBUG)
    base_url, app = serve(
        make_settings(
            llm_base_url=model_server.base_url,
            llm_api_key=key,
            model_profile="llama-cpp",
            llm_retry_base_delay=0.01,
        )
    )
    with http.stream(
        "POST", f"{base_url}/api/rounds", json={"pipeline": "chat", **QUESTION}
    ) as response:
        body = response.read().decode()
    assert "RUN_ERROR" in body and key not in body and "[redacted]" in body
    round_id = body.split('"runId":"', 1)[1].split('"', 1)[0]
    for path in (
        f"/api/rounds/{round_id}",
        f"/api/rounds/{round_id}/events",
        "/api/traces",
        "/healthz",
        "/openapi.json",
    ):
        assert key not in http.get(f"{base_url}{path}").text, path
    trace_id = http.get(f"{base_url}/api/rounds/{round_id}").json()["trace_id"]
    assert key not in http.get(f"{base_url}/api/traces/{trace_id}").text
    assert model_server.requests[0].headers["authorization"] == f"Bearer {key}"
    logged = "\n".join(
        record.getMessage() + str(record.exc_info or "") for record in caplog.records
    )
    assert key not in logged
    settings = app.state.service.settings  # the settings object itself never prints it
    assert key not in repr(settings) and key not in str(settings)
