"""The database refuses a round's outcome: the round is stored as failed, and its stream ends
with that failure — live and replayed alike — never with an outcome that was not stored."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder
from tests.support.sse import stream_round

QUESTION = {"question": "2, 4, 8, ?", "reference_answer": "16"}

# A real refusal by the real database: SQLite aborts any UPDATE that would complete a round.
REFUSE_COMPLETION = """
CREATE TRIGGER refuse_completion BEFORE UPDATE OF status ON rounds
WHEN NEW.status = 'completed'
BEGIN SELECT RAISE(ABORT, 'injected: the disk refused the outcome'); END
"""


@pytest.fixture
def model_server():
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = auto_responder
        yield server


@pytest.mark.parametrize("pipeline", ["agents", "chat"])
def test_an_outcome_that_cannot_be_stored_ends_the_round_as_failed(
    make_settings, serve, http, model_server, pipeline
):
    settings = make_settings(llm_base_url=model_server.base_url, model_profile="llama-cpp")
    base_url, _ = serve(settings)
    database = str(settings.database_url).removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute(REFUSE_COMPLETION)

    live = stream_round(http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION})
    types = [event.data["type"] for event in live]
    assert types[-1] == "RUN_ERROR" and "RUN_FINISHED" not in types
    assert live[-1].data["code"] == "storage_error"
    assert [event.id for event in live] == list(range(1, len(live) + 1))

    round_id = live[0].data["runId"]
    stored = http.get(f"{base_url}/api/rounds/{round_id}").json()
    assert stored["status"] == "failed"
    assert stored["error"]["code"] == "storage_error"
    replay = stream_round(http, f"{base_url}/api/rounds/{round_id}/events", method="GET")
    assert [event.data for event in replay] == [event.data for event in live]


def test_an_attempt_that_cannot_start_is_handed_back_and_played_at_once(
    make_settings, serve, http, model_server, monkeypatch
):
    """Rebuilding the attempt fails as a worker begins the round (seen: a Redis pool exhausted
    under overload, when the stream was still claimed before the first event). The round goes
    straight back to the queue and is played by the next attempt — not left with a lease nobody
    renews until the sweeper notices (here: 10 minutes)."""
    from quizrelay.execution import executor

    settings = make_settings(
        llm_base_url=model_server.base_url, model_profile="llama-cpp", lease_seconds=600
    )
    base_url, _app = serve(settings)
    real_prepare = executor.prepare_attempt
    failures: list[str] = []

    async def prepare_failing_once(claim, row, **kwargs):
        if not failures:
            failures.append(claim.stream)
            raise ConnectionError("injected: the event log is unreachable")
        return await real_prepare(claim, row, **kwargs)

    monkeypatch.setattr(executor, "prepare_attempt", prepare_failing_once)
    started = time.monotonic()
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **QUESTION})
    assert time.monotonic() - started < 30
    assert events[-1].data["type"] == "RUN_FINISHED" and len(failures) == 1
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    stored = http.get(f"{base_url}/api/rounds/{events[0].data['runId']}").json()
    assert stored["status"] == "completed" and stored["attempt"] == 2
