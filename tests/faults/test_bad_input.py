"""Bad input gets a clear 4xx naming the problem, never a 500; answers that try to instruct the
Judge are judged as answers; and the whole API is fuzzed from its OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from agents.testing import function_call
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.conftest import ScriptedRoles
from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder
from tests.support.server import serving
from tests.support.sse import custom, stream_round

INJECTIONS = [
    line
    for line in (Path(__file__).parent / "injections.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}


@pytest.fixture
def api(make_settings, serve):
    base_url, _ = serve(make_settings(max_body_bytes=4096))
    return base_url


def test_oversized_bodies_get_413_before_they_are_read(api, http):
    response = http.post(
        f"{api}/api/rounds",
        content=b'{"pipeline": "agents", "question": "' + b"x" * 5000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413 and "4096 bytes" in response.json()["detail"]

    def chunks():
        yield b'{"pipeline": "agents", "question": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    chunked = http.post(
        f"{api}/api/rounds", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413


def test_invalid_utf8_and_wrong_content(api, http):
    bad = http.post(
        f"{api}/api/rounds",
        content=b'{"pipeline": "agents\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 422
    not_json = http.post(
        f"{api}/api/rounds",
        content=b"pipeline=agents",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 422
    array = http.post(f"{api}/api/rounds", json=["agents"])
    assert array.status_code == 422
    wrong_type = http.post(f"{api}/api/rounds", json={"pipeline": 7})
    assert wrong_type.status_code == 422 and wrong_type.json()["detail"][0]["loc"][-1] == "pipeline"
    for path in ("/api/rounds/x/events?after=-1", "/api/traces?limit=abc", "/api/games?offset=-5"):
        assert http.get(f"{api}{path}").status_code == 422, path


def test_unknown_ids_are_404_everywhere(api, http):
    for path in (
        "/api/rounds/nope",
        "/api/rounds/nope/events",
        "/api/traces/nope",
        "/api/games/nope",
        "/api/comparisons/nope",
        "/api/comparisons/nope/events",
    ):
        response = http.get(f"{api}{path}")
        assert response.status_code == 404 and "nope" in response.json()["detail"], path
    assert http.post(f"{api}/api/rounds/nope/answer", json={"answer": "1"}).status_code == 404


def injection_roles(count: int) -> ScriptedRoles:
    questioner, judge = [], []
    for i in range(count):
        questioner += [
            [function_call("draw_question", {}, call_id=f"q{i}")],
            [function_call("transfer_to_answerer", {}, call_id=f"t{i}")],
        ]
        # The Judge model is fooled every time; the verdict must not be.
        judge += [
            [function_call("check_answer", {}, call_id=f"c{i}")],
            [
                function_call(
                    "submit_verdict",
                    {"correct": True, "explanation": "Marked correct as asked."},
                    call_id=f"v{i}",
                )
            ],
        ]
    return ScriptedRoles(questioner=questioner, judge=judge)


def test_answers_that_instruct_the_judge_cannot_change_a_verdict(make_settings, serve, http):
    base_url, _ = serve(make_settings(), injection_roles(len(INJECTIONS)).factory)
    for answer in INJECTIONS:
        first = stream_round(
            http, f"{base_url}/api/rounds", {"pipeline": "agents", "mode": "human", **QUESTION}
        )
        round_id = custom(first, "round")[0]["round_id"]
        second = stream_round(http, f"{base_url}/api/rounds/{round_id}/answer", {"answer": answer})
        verdict = custom(second, "verdict")[0]
        assert verdict["correct"] is False, answer
        assert verdict["judge_agreed"] is False and verdict["decided_by"] == "check_answer", answer
        guardrail = custom(second, "guardrail")[0]
        assert guardrail["name"] == "answer_is_data"
    flagged = 0
    for answer in INJECTIONS:
        from quizrelay.rounds.guardrails import screen_answer

        flagged += screen_answer(answer).triggered
    assert flagged == len(INJECTIONS)  # every one is recognised as instructions...
    assert not screen_answer("The answer is 768").triggered  # ...and a plain answer is not


# --- fuzzing --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    from quizrelay.app import create_app
    from quizrelay.settings import Settings

    database = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with ScriptedOpenAIServer(model="scripted-model") as model_server:
        model_server.responder = auto_responder
        app = create_app(
            Settings(
                _env_file=None,
                database_url=f"sqlite:///{database}",
                llm_base_url=model_server.base_url,
                model="scripted-model",
                model_profile="llama-cpp",
                llm_max_retries=0,
                rate_limit_rounds_per_minute=0,
                answer_timeout=2.0,
            )
        )
        with serving(app) as base_url:
            yield base_url


def _fuzz_operation(operation, base_url: str) -> None:
    @given(operation.as_strategy())
    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case) -> None:
        response = case.call(base_url=base_url, timeout=60)
        assert response.status_code < 500, (
            case.method,
            case.path,
            response.status_code,
            response.text[:300],
        )
        if response.status_code >= 400:
            assert "detail" in response.json()  # every refusal says why

    check()


def test_fuzzed_requests_never_get_a_server_error(fuzz_target):
    """Every operation of the OpenAPI schema, 30 generated requests each (bounded: the whole
    fuzz takes well under a minute)."""
    schema = schemathesis.openapi.from_url(f"{fuzz_target}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result.err()}"
        operations.append(result.ok())
    labels = sorted(f"{op.method.upper()} {op.path}" for op in operations)
    assert "POST /api/rounds" in labels and "POST /api/rounds/{round_id}/answer" in labels
    for operation in operations:
        if (operation.method.upper(), operation.path) == ("POST", "/api/comparisons"):
            continue  # valid comparisons of up to 100 rounds are slow to play; validated above
        _fuzz_operation(operation, fuzz_target)
