"""Games: a human game of three rounds, scores, game defaults, the leaderboard."""

from __future__ import annotations

from agents.testing import function_call

from quizrelay.agent_specs import load_agents_config
from quizrelay.questions.source import QuestionSource
from tests.conftest import ScriptedRoles
from tests.support.sse import custom, stream_round


def roles_for(rounds: int, *, ai: bool = False) -> ScriptedRoles:
    questioner, answerer, judge = [], [], []
    for i in range(rounds):
        questioner += [
            [function_call("draw_question", {}, call_id=f"q{i}a")],
            [function_call("transfer_to_answerer", {}, call_id=f"q{i}b")],
        ]
        answerer += [[function_call("transfer_to_judge", {"answer": "no idea"}, call_id=f"a{i}")]]
        judge += [
            [function_call("check_answer", {}, call_id=f"j{i}a")],
            [
                function_call(
                    "submit_verdict", {"correct": True, "explanation": "ok"}, call_id=f"j{i}b"
                )
            ],
        ]
    return ScriptedRoles(questioner=questioner, answerer=answerer if ai else [], judge=judge)


def test_a_human_game_of_three_rounds_keeps_score(make_settings, serve, http):
    settings = make_settings()
    bank = QuestionSource(load_agents_config(settings.agents_config_dir).questions)
    base_url, _ = serve(settings, roles_for(3).factory)
    game = http.post(
        f"{base_url}/api/games",
        json={
            "name": "Friday quiz",
            "pipeline": "agents",
            "mode": "human",
            "categories": ["arithmetic", "gcd"],
            "difficulty": "easy",
            "rounds": 3,
        },
    ).json()
    assert game["status"] == "open" and game["rounds_planned"] == 3 and game["score"]["played"] == 0

    answers = []
    for index, right in enumerate([True, False, True]):
        seed = 100 + index
        first = stream_round(http, f"{base_url}/api/rounds", {"game_id": game["id"], "seed": seed})
        info = custom(first, "round")[0]
        assert info["pipeline"] == "agents" and info["category"] == ["arithmetic", "gcd"][index % 2]
        assert first[-1].data["result"]["status"] == "awaiting_answer"
        reference = bank.draw(info["category"], "easy", seed).reference_answer
        answer = f"The answer is {reference}" if right else f"not {reference}"
        second = stream_round(
            http, f"{base_url}/api/rounds/{info['round_id']}/answer", {"answer": answer}
        )
        assert custom(second, "verdict")[0]["correct"] is right
        answers.append(info["round_id"])

    done = http.get(f"{base_url}/api/games/{game['id']}").json()
    assert done["status"] == "finished"
    assert done["score"] == {
        "played": 3,
        "answered": 3,
        "correct": 2,
        "failed": 0,
        "points": 2.0,
        "accuracy": 0.667,
    }
    assert [r["id"] for r in done["rounds"]] == answers
    assert [r["correct"] for r in done["rounds"]] == [True, False, True]
    assert all(r["answered_by"] == "player" and r["reference_answer"] for r in done["rounds"])
    assert all(r["links"]["trace_page"].startswith("/traces/trace_") for r in done["rounds"])

    extra = http.post(f"{base_url}/api/rounds", json={"game_id": game["id"]})
    assert extra.status_code == 409 and "all its 3 rounds" in extra.json()["detail"]

    listing = http.get(f"{base_url}/api/games").json()
    assert listing["total"] == 1 and listing["items"][0]["score"]["correct"] == 2
    board = http.get(f"{base_url}/api/leaderboard").json()["entries"]
    assert board == [
        {
            "mode": "human",
            "pipeline": "agents",
            "model": "scripted-model",
            "games": 1,
            "played": 3,
            "answered": 3,
            "correct": 2,
            "failed": 0,
            "points": 2.0,
            "accuracy": 0.667,
            "rank": 1,
        }
    ]
    traces = http.get(f"{base_url}/api/traces", params={"game_id": game["id"]}).json()
    assert traces["total"] == 3  # the game is the trace group


def test_leaderboard_separates_pipelines_and_modes(make_settings, serve, http):
    base_url, _ = serve(make_settings(), roles_for(2, ai=True).factory)
    for _ in range(2):
        events = stream_round(
            http,
            f"{base_url}/api/rounds",
            {"pipeline": "agents", "question": "1+1?", "reference_answer": "2"},
        )
        assert custom(events, "verdict")[0]["correct"] is False  # "no idea"
    board = http.get(f"{base_url}/api/leaderboard").json()["entries"]
    assert (
        len(board) == 1
        and board[0]["mode"] == "ai"
        and board[0]["answered"] == 2
        and board[0]["accuracy"] == 0.0
    )
    assert board[0]["games"] == 2  # each ad-hoc round made its own game


def test_game_validation(make_settings, serve, http):
    base_url, _ = serve(make_settings(), roles_for(1).factory)
    bad = http.post(f"{base_url}/api/games", json={"pipeline": "agents", "categories": ["tarot"]})
    assert bad.status_code == 422 and "tarot" in str(bad.json()["detail"])
    assert (
        http.post(f"{base_url}/api/games", json={"pipeline": "agents", "rounds": 0}).status_code
        == 422
    )
    assert http.post(f"{base_url}/api/games", json={"mode": "human"}).status_code == 422
    assert http.get(f"{base_url}/api/games/game_nope").status_code == 404
    missing = http.post(f"{base_url}/api/rounds", json={"game_id": "game_unknown"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "pipeline"]
