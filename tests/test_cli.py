"""The terminal commands against a real service: play (AI and human), compare, traces."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder


@pytest.fixture
def service(make_settings, serve, tmp_path):
    with ScriptedOpenAIServer(model="scripted-model") as model_server:
        model_server.responder = auto_responder
        settings = make_settings(llm_base_url=model_server.base_url, model_profile="llama-cpp")
        base_url, _ = serve(settings)
        yield base_url, settings


def cli(
    *args: str, database_url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZRELAY_")}
    if database_url:
        env["QUIZRELAY_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "quizrelay", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def two_models(make_settings, serve, tmp_path):
    """The configured model and a second named model ``other``, on two scripted servers."""
    with (
        ScriptedOpenAIServer(model="scripted-model") as first,
        ScriptedOpenAIServer(model="other-model") as second,
    ):
        first.responder = second.responder = auto_responder
        models = tmp_path / "models.yaml"
        models.write_text(
            f"models:\n  other:\n    base_url: {second.base_url}\n    model: other-model\n"
            "    profile: llama-cpp\n"
        )
        settings = make_settings(
            llm_base_url=first.base_url, model_profile="llama-cpp", models_file=models
        )
        base_url, _ = serve(settings)
        yield base_url, settings, first, second


def test_compare_arms_print_the_statistics_and_write_the_exports(two_models, tmp_path):
    base_url, settings, first, second = two_models
    result = cli(
        "compare", "--rounds", "2", "--url", base_url, "--seed", "3",
        "--categories", "arithmetic",
        "--arm", "agents=agents", "--arm", "agents-tools=agents-tools", "--arm", "chat=chat",
        "--arm", "far=chat@other,temperature=0",
        "--baseline", "chat",
        "--json", str(tmp_path / "out.json"), "--csv", str(tmp_path / "out.csv"),
        "--report", str(tmp_path / "report.html"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[8/8]" in result.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    statistics = data["statistics"]
    assert list(statistics["arms"]) == ["agents", "agents-tools", "chat", "far"]
    assert statistics["baseline"] == "chat" and set(statistics["paired"]) == {
        "agents", "agents-tools", "far"
    }  # fmt: skip
    table = result.stdout
    # The per-arm table: every arm, with the counts and model calls the API computed.
    assert re.search(r"rounds completed\s+2 / 2\s+2 / 2\s+2 / 2\s+2 / 2", table), table
    calls = [statistics["arms"][a]["metrics"]["model_calls"]["median"] for a in statistics["arms"]]
    assert calls[0] == 5 and calls[2] == calls[3] == 4, calls
    assert re.search(
        r"model calls\s+" + r"\s+".join(rf"{c:g} \[{c:g}, {c:g}\]" for c in calls), table
    ), table
    assert "accuracy [95% Wilson]" in table and "0/2 0% [0%, 66%]" in table
    # Paired with the baseline: one block per other arm, the tests named.
    for arm in ("agents", "agents-tools", "far"):
        assert f"{arm} − chat (2 paired questions)" in table
    assert "Wilcoxon" in table or "no test" in table
    assert "accuracy by category" in table and re.search(r"arithmetic\s+0/2 0%", table)
    # The far arm played on the second server, the others on the first.
    assert second.requests and all(r.body["model"] == "other-model" for r in second.requests)
    assert all(r.body["model"] == "scripted-model" for r in first.requests)
    assert {r.body.get("temperature") for r in second.requests} == {0}
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert sorted((r["question"], r["arm"]) for r in rows) == [
        (q, a) for q in ("1", "2") for a in ("agents", "agents-tools", "chat", "far")
    ]
    assert all(r["status"] == "completed" and r["trace_id"].startswith("trace_") for r in rows)
    report = (tmp_path / "report.html").read_text()
    assert report.startswith("<!doctype html>") and data["id"] in report

    listing = cli("traces", "list", "--limit", "10", database_url=settings.database_url)
    assert listing.returncode == 0 and listing.stdout.count("trace_") == 8
    bad = cli("compare", "--rounds", "1", "--url", base_url, "--arm", "solo")
    assert bad.returncode != 0 and "arms.0.pipeline" in bad.stderr, bad.stderr
    bad_setting = cli("compare", "--rounds", "1", "--url", base_url, "--arm", "chat,hot")
    assert bad_setting.returncode == 2 and "KEY=VALUE" in bad_setting.stderr

    trace_id = rows[0]["trace_id"]
    shown = cli("traces", "show", trace_id, database_url=settings.database_url)
    assert shown.returncode == 0
    assert "agent Questioner" in shown.stdout and "handoff Questioner → Answerer" in shown.stdout
    assert "█" in shown.stdout and "Judge" in shown.stdout
    missing = cli("traces", "show", "trace_nope", database_url=settings.database_url)
    assert missing.returncode == 1 and "no trace" in missing.stderr


def test_play_ai_game_streams_and_scores(service):
    base_url, _ = service
    result = cli("play", "--rounds", "2", "--url", base_url, "--pipeline", "chat")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("═══ Round") == 2 and "── Questioner" in out and "── Judge" in out
    assert "QUESTION (" in out and "VERDICT:" in out
    assert "Game over: 0 of 2 rounds right" in out  # the scripted model always answers "42"


def _arithmetic_answer(question: str) -> str:
    match = re.search(r"Calculate (.+?)\.?$", question)
    assert match is not None, question
    expression = match.group(1)
    assert re.fullmatch(r"[-+*/() 0-9]+", expression)
    return str(int(eval(expression)))


def test_play_human_game_takes_answers_from_the_keyboard(service):
    base_url, _ = service
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "quizrelay",
            "play",
            "--human",
            "--rounds",
            "3",
            "--url",
            base_url,
            "--category",
            "arithmetic",
            "--difficulty",
            "easy",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    transcript = []
    answers_given = 0
    buffer = ""
    assert process.stdout is not None and process.stdin is not None
    assert process.stderr is not None
    while True:
        char = process.stdout.read(1)
        if not char:
            break
        buffer += char
        if buffer.endswith("Your answer: "):
            question = re.findall(r"QUESTION \(arithmetic, easy\):\n  (.+)\n", buffer)[-1]
            right = _arithmetic_answer(question)
            answer = right if answers_given != 1 else f"not {right}"  # the second one is wrong
            process.stdin.write(answer + "\n")
            process.stdin.flush()
            answers_given += 1
    process.wait(timeout=60)
    transcript.append(buffer)
    assert process.returncode == 0, process.stderr.read()
    assert answers_given == 3
    verdicts = re.findall(r"VERDICT: (✓ right|✗ wrong)", buffer)
    assert verdicts == ["✓ right", "✗ wrong", "✓ right"]
    assert "Game over: 2 of 3 rounds right" in buffer
    assert "ANSWER (player)" in buffer


def test_cli_errors_are_clear(tmp_path):
    result = cli("play", "--url", "http://127.0.0.1:9")
    assert (
        result.returncode == 2
        and "no quizrelay service answers at http://127.0.0.1:9" in result.stderr
    )
    env_error = subprocess.run(
        [sys.executable, "-m", "quizrelay", "serve"],
        capture_output=True,
        text=True,
        env={**os.environ, "QUIZRELAY_LLM_BASE_URL": "http://x:1/v1"},
        timeout=60,
    )
    assert env_error.returncode == 2 and "QUIZRELAY_MODEL is required" in env_error.stderr
