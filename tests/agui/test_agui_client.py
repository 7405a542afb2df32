"""Any AG-UI client plays a round: the official TypeScript client (``@ag-ui/client`` 1.0, pinned
in tests/agui/package.json, installed by the test command) drives ``POST /api/agui`` of a running
service, with its own event verification on (``run_round.mjs``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder

HERE = Path(__file__).resolve().parent
QUESTION = "What is 6 times 7?"


def run_client(tmp_path: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the AG-UI client test (apt-get install nodejs)"
    assert (HERE / "node_modules" / "@ag-ui" / "client").is_dir(), (
        "the AG-UI client is not installed: cd tests/agui && npm ci (./scripts/test.sh does it)"
    )
    path = tmp_path / f"scenario-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(scenario))
    done = subprocess.run(
        [node, str(HERE / "run_round.mjs"), str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def agui(make_settings, serve) -> Any:
    with ScriptedOpenAIServer(model="scripted-model") as model:
        model.responder = auto_responder
        base_url, _ = serve(make_settings(llm_base_url=model.base_url, model_profile="llama-cpp"))
        yield f"{base_url}/api/agui"


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages)


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_an_ai_round_of_each_pipeline(agui: str, tmp_path: Path, pipeline: str) -> None:
    thread, run = f"thread-{pipeline}", f"run-{pipeline}-1"
    result = run_client(tmp_path, {
        "url": agui, "threadId": thread, "runId": run,
        "forwardedProps": {"pipeline": pipeline, "question": QUESTION, "reference_answer": "42"},
    })  # fmt: skip
    assert result["ok"], result["error"]
    assert result["warnings"] == []  # nothing stripped, nothing dropped
    started = result["events"][0]
    assert started["type"] == "RUN_STARTED"
    assert (started["threadId"], started["runId"]) == (thread, run)
    assert (result["finished"]["threadId"], result["finished"]["runId"]) == (thread, run)
    verdict = result["finished"]["result"]["verdict"]
    # The state the client ends with holds the question, the answer and the verdict.
    said = {
        m.get("name"): m["content"] for m in result["messages"] if str(m["id"]).startswith("fact_")
    }
    assert said["Questioner"] == QUESTION
    assert said["Answerer"] == result["finished"]["result"]["answer"]
    assert said["Judge"].startswith("Right." if verdict["correct"] else "Wrong.")
    assert "Reference answer: 42" in said["Judge"]
    ids = [m["id"] for m in result["messages"]]
    assert len(ids) == len(set(ids))


def test_a_human_round_through_interrupt_and_resume(agui: str, tmp_path: Path) -> None:
    thread = "thread-human"
    first = run_client(tmp_path, {
        "url": agui, "threadId": thread, "runId": "run-h-1",
        "forwardedProps": {"pipeline": "agents", "mode": "human", "question": QUESTION,
                           "reference_answer": "42"},
    })  # fmt: skip
    assert first["ok"], first["error"]
    [interrupt] = first["pendingInterrupts"]
    assert interrupt["id"] == "run-h-1" and interrupt["reason"] == "awaiting_answer"
    assert QUESTION in texts(first["messages"])
    second = run_client(tmp_path, {
        "url": agui, "threadId": thread, "runId": "run-h-2", "messages": first["messages"],
        "pendingInterrupts": first["pendingInterrupts"],  # a long-lived agent holds them
        "resume": [{"interruptId": interrupt["id"], "status": "resolved",
                    "payload": {"answer": "forty-two"}}],
    })  # fmt: skip
    assert second["ok"], second["error"]
    assert second["events"][0]["runId"] == "run-h-2" and second["pendingInterrupts"] == []
    assert second["finished"]["result"]["verdict"]["correct"] is True
    player = [m for m in second["messages"] if m["role"] == "user" and m.get("name") == "Answerer"]
    assert [m["content"] for m in player] == ["forty-two"]
    assert "Right." in texts(second["messages"]) and QUESTION in texts(second["messages"])


def test_an_answer_as_the_last_user_message(agui: str, tmp_path: Path) -> None:
    thread = "thread-message"
    first = run_client(tmp_path, {
        "url": agui, "threadId": thread, "runId": "run-m-1",
        "forwardedProps": {"pipeline": "chat", "mode": "human", "question": QUESTION,
                           "reference_answer": "42"},
    })  # fmt: skip
    assert first["ok"], first["error"]
    second = run_client(tmp_path, {  # a fresh client: it holds no interrupt, it just says it
        "url": agui, "threadId": thread, "runId": "run-m-2",
        "messages": [*first["messages"], {"role": "user", "content": "41"}],
    })  # fmt: skip
    assert second["ok"], second["error"]
    assert second["finished"]["result"]["verdict"]["correct"] is False


def test_a_cancelled_resume_ends_the_round(agui: str, tmp_path: Path) -> None:
    first = run_client(tmp_path, {
        "url": agui, "threadId": "thread-cancel", "runId": "run-c-1",
        "forwardedProps": {"pipeline": "chat", "mode": "human"},
    })  # fmt: skip
    assert first["ok"], first["error"]
    second = run_client(tmp_path, {
        "url": agui, "threadId": "thread-cancel", "runId": "run-c-2",
        "pendingInterrupts": first["pendingInterrupts"],
        "resume": [{"interruptId": "run-c-1", "status": "cancelled"}],
    })  # fmt: skip
    assert second["runError"]["code"] == "cancelled"
    assert (
        second["events"][0]["type"] == "RUN_STARTED" and second["events"][0]["runId"] == "run-c-2"
    )


def test_bad_input_is_a_4xx_naming_the_field(agui: str, tmp_path: Path) -> None:
    base = {"threadId": "t-bad", "runId": "r-bad", "messages": [], "tools": [], "context": [],
            "state": {}}  # fmt: skip
    unknown = httpx.post(agui, json={**base, "forwardedProps": {"pipeline": "chat", "colour": 1}})
    assert unknown.status_code == 422 and "colour" in unknown.text
    wrong = httpx.post(agui, json={**base, "forwardedProps": {"pipeline": "chess"}})
    assert wrong.status_code == 422 and "pipeline" in wrong.text
    first = run_client(tmp_path, {"url": agui, "threadId": "t-dup", "runId": "r-dup",
                                  "forwardedProps": {"pipeline": "chat"}})  # fmt: skip
    assert first["ok"], first["error"]
    again = run_client(tmp_path, {"url": agui, "threadId": "t-dup", "runId": "r-dup",
                                  "forwardedProps": {"pipeline": "chat"}})  # fmt: skip
    assert again["httpStatus"] == 409 and "r-dup" in str(again["httpBody"])
    missing = httpx.post(agui, json={"threadId": "t"})
    assert missing.status_code == 422
