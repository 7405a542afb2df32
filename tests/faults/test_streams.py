"""Reconnects and disconnects: no event lost or duplicated, rounds that do not run forever,
heartbeats on idle streams."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, paced_auto_responder
from tests.support.sse import parse_sse, stream_round

QUESTION = {"question": "2, 4, 8, ?", "reference_answer": "16"}


@pytest.fixture
def slow_model():
    """Every call streams at a model-like pace: a round takes a second or two."""
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = paced_auto_responder(first_token_delay=0.05, token_interval=0.03)
        yield server


def read_some(base_url: str, body: dict, count: int) -> list[tuple[int | None, dict]]:
    """Open a round's stream, read ``count`` events (with their ``id:``, None if a message had
    none), then drop the connection."""
    received: list[tuple[int | None, dict]] = []
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{base_url}/api/rounds", json=body) as response,
    ):
        event_id = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                received.append((event_id, json.loads(line[6:])))
                if len(received) == count:
                    break
    return received


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_a_client_that_reconnects_gets_every_missed_event_once(
    make_settings, serve, http, slow_model, pipeline
):
    base_url, _ = serve(make_settings(llm_base_url=slow_model.base_url, model_profile="llama-cpp"))
    first = read_some(base_url, {"pipeline": pipeline, **QUESTION}, 8)
    round_id = first[0][1]["runId"]
    last_id = first[-1][0]
    # Reconnect the way EventSource does, with Last-Event-ID, while the round still runs.
    assert http.get(f"{base_url}/api/rounds/{round_id}").json()["status"] == "running"
    rest = stream_round(
        http,
        f"{base_url}/api/rounds/{round_id}/events",
        method="GET",
        headers={"Last-Event-ID": str(last_id)},
    )
    assert http.get(f"{base_url}/api/rounds/{round_id}").json()["status"] == "completed"
    combined = [(i, d) for i, d in first] + [(e.id, e.data) for e in rest]
    assert [i for i, _ in combined] == list(
        range(1, len(combined) + 1)
    )  # in order, no gap, no repeat
    assert combined[-1][1]["type"] == "RUN_FINISHED"
    full = stream_round(http, f"{base_url}/api/rounds/{round_id}/events", method="GET")
    assert [e.data for e in full] == [d for _, d in combined]


def test_a_disconnected_round_finishes_and_is_stored_by_default(
    make_settings, serve, http, slow_model
):
    base_url, _ = serve(make_settings(llm_base_url=slow_model.base_url, model_profile="llama-cpp"))
    first = read_some(base_url, {"pipeline": "agents", **QUESTION}, 5)
    round_id = first[0][1]["runId"]
    deadline = time.monotonic() + 30
    while (status := http.get(f"{base_url}/api/rounds/{round_id}").json()["status"]) == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == "completed"


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_a_round_nobody_watches_is_cancelled_when_configured(
    make_settings, serve, http, slow_model, pipeline
):
    base_url, app = serve(
        make_settings(
            llm_base_url=slow_model.base_url,
            model_profile="llama-cpp",
            on_disconnect="cancel",
            disconnect_grace=0.3,
        )
    )
    first = read_some(base_url, {"pipeline": pipeline, **QUESTION}, 5)
    round_id = first[0][1]["runId"]
    deadline = time.monotonic() + 15
    while (stored := http.get(f"{base_url}/api/rounds/{round_id}").json())["status"] == "running":
        assert time.monotonic() < deadline, "the unwatched round kept running"
        time.sleep(0.1)
    assert stored["status"] == "failed" and stored["error"]["code"] == "cancelled"
    assert "No client was connected" in stored["error"]["message"]
    assert app.state.service.worker.running() == 0  # no task left behind
    requests_then = len(slow_model.requests)
    time.sleep(1.0)
    assert len(slow_model.requests) == requests_then  # and no model call either
    replay = stream_round(http, f"{base_url}/api/rounds/{round_id}/events", method="GET")
    assert replay[-1].type == "RUN_ERROR" and replay[-1].data["code"] == "cancelled"


def test_a_reconnect_within_the_grace_period_saves_the_round(make_settings, serve, http):
    """The round outlasts the grace period, so it is only saved if the reconnect counts; the same
    round with nobody reconnecting is cancelled."""
    grace = 1.0
    with ScriptedOpenAIServer(model="scripted-model") as model:
        # About a second per model call, five calls: a round takes several grace periods.
        model.responder = paced_auto_responder(first_token_delay=0.2, token_interval=0.06)
        base_url, _ = serve(
            make_settings(
                llm_base_url=model.base_url,
                model_profile="llama-cpp",
                on_disconnect="cancel",
                disconnect_grace=grace,
            )
        )
        first = read_some(base_url, {"pipeline": "agents", **QUESTION}, 5)
        left = time.monotonic()
        round_id = first[0][1]["runId"]
        time.sleep(grace / 3)  # gone for a while, back before the grace period ends
        rest = stream_round(
            http,
            f"{base_url}/api/rounds/{round_id}/events",
            method="GET",
            headers={"Last-Event-ID": str(first[-1][0])},
        )
        assert time.monotonic() - left > grace + 0.5, "the round ended within the grace period"
        assert rest[-1].type == "RUN_FINISHED", rest[-1].data
        assert http.get(f"{base_url}/api/rounds/{round_id}").json()["status"] == "completed"

        # The control: the same round, and nobody comes back.
        unwatched = read_some(base_url, {"pipeline": "agents", **QUESTION}, 5)[0][1]["runId"]
        deadline = time.monotonic() + 15
        while (stored := http.get(f"{base_url}/api/rounds/{unwatched}").json())[
            "status"
        ] == "running":
            assert time.monotonic() < deadline, "the unwatched round kept running"
            time.sleep(0.1)
        assert stored["status"] == "failed" and stored["error"]["code"] == "cancelled"


def test_idle_streams_get_heartbeats(make_settings, serve):
    with ScriptedOpenAIServer(
        model="scripted-model"
    ) as thinking_model:  # silent 0.4 s before each reply
        thinking_model.responder = paced_auto_responder(first_token_delay=0.4, token_interval=0.01)
        base_url, _ = serve(
            make_settings(
                llm_base_url=thinking_model.base_url, model_profile="llama-cpp", sse_heartbeat=0.1
            )
        )
        with (
            httpx.Client(timeout=30) as client,
            client.stream(
                "POST", f"{base_url}/api/rounds", json={"pipeline": "agents", **QUESTION}
            ) as response,
        ):
            text = response.read().decode()
    events, heartbeats = parse_sse(text.split("\n"))
    assert heartbeats >= 1 and events[-1].type == "RUN_FINISHED"
