"""Data: a service killed mid-round leaves, after a restart, a round marked failed, never one
that claims to be running; writes are all-or-nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import StatementError

from quizrelay.storage.db import Database
from quizrelay.storage.rounds import NewRound, RoundStore
from tests.fakes.scripted_openai import ScriptedOpenAIServer, paced_auto_responder


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(database_url: str, model_url: str) -> tuple[subprocess.Popen, str]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZRELAY_")}
    env.update(
        QUIZRELAY_DATABASE_URL=database_url,
        QUIZRELAY_LLM_BASE_URL=model_url,
        QUIZRELAY_MODEL="scripted-model",
        QUIZRELAY_MODEL_PROFILE="llama-cpp",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "quizrelay", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "service did not start"
        time.sleep(0.2)


def test_a_round_killed_mid_way_is_failed_after_restart(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    with ScriptedOpenAIServer(model="scripted-model") as model_server:
        model_server.responder = paced_auto_responder(first_token_delay=0.2, token_interval=0.1)
        process, base_url = _start(database_url, model_server.base_url)
        round_id = None
        try:
            with (
                httpx.Client(timeout=30) as client,
                client.stream(
                    "POST",
                    f"{base_url}/api/rounds",
                    json={"pipeline": "agents", "question": "1+1?", "reference_answer": "2"},
                ) as response,
            ):
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        round_id = round_id or event.get("runId")
                        if event.get("type") == "TOOL_CALL_ARGS":
                            break  # the round is in the middle of a model call
            assert httpx.get(f"{base_url}/api/rounds/{round_id}").json()["status"] == "running"
        finally:
            process.send_signal(signal.SIGKILL)  # no clean shutdown
            process.wait(timeout=10)

        process, base_url = _start(database_url, model_server.base_url)
        try:
            stored = httpx.get(f"{base_url}/api/rounds/{round_id}").json()
            assert stored["status"] == "failed" and stored["error"]["code"] == "interrupted"
            assert stored["verdict"] is None
            # The service works normally after the restart.
            with httpx.Client(timeout=60) as client:
                text = client.post(
                    f"{base_url}/api/rounds",
                    json={"pipeline": "chat", "question": "1+1?", "reference_answer": "2"},
                ).text
            assert '"type":"RUN_FINISHED"' in text
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)


def test_finishing_a_round_is_all_or_nothing(tmp_path):
    store = RoundStore(Database(f"sqlite:///{tmp_path / 'tx.db'}"))
    store.db.create_tables()
    store.create_round(
        NewRound(
            id="round_tx",
            game_id="game_tx",
            pipeline="chat",
            mode="ai",
            model="m",
            category="c",
            difficulty="easy",
            seed=1,
            question_source="dataset",
            trace_id="trace_tx",
        )
    )
    events: list[tuple[int, dict[str, Any]]] = [
        (1, {"type": "RUN_STARTED"}),
        (2, {"type": "RUN_FINISHED", "bad": object()}),  # not storable: not JSON
    ]
    with pytest.raises(StatementError, match="not JSON serializable"):
        store.finish_round(
            "round_tx", {"status": "completed", "answer": "2", "verdict": {"correct": True}}, events
        )
    row = store.get_round("round_tx")
    assert row is not None
    assert row.status == "running" and row.answer is None and row.verdict is None
    assert store.events_after("round_tx", 0) == []  # no half-written events either
    assert store.fail_unfinished_rounds() == 1
    row = store.get_round("round_tx")
    assert row is not None and row.status == "failed"
