"""Named models: listed without secrets, named by rounds, each round played on its own server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder
from tests.support.sse import stream_round

KEY = "sk-second-model-key-4711"


def test_rounds_name_a_model_and_are_played_on_its_server(
    make_settings, serve, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECOND_MODEL_KEY", KEY)
    with (
        ScriptedOpenAIServer(model="first") as first,
        ScriptedOpenAIServer(model="second") as second,
    ):
        first.responder = second.responder = auto_responder
        models = tmp_path / "models.yaml"
        models.write_text(
            "models:\n"
            "  second:\n"
            f"    base_url: {second.base_url}\n"
            "    model: second-model\n"
            "    profile: llama-cpp\n"
            "    api_key_env: SECOND_MODEL_KEY\n"
        )
        settings = make_settings(
            llm_base_url=first.base_url, model_profile="llama-cpp", models_file=models
        )
        base_url, _ = serve(settings)
        listed = http.get(f"{base_url}/api/models").json()
        assert listed["default"] == "scripted-model"
        names = [m["name"] for m in listed["items"]]
        assert names == ["scripted-model", "embedded", "second"]
        entry = next(m for m in listed["items"] if m["name"] == "second")
        assert entry["api_key"] == "set" and entry["api_key_env"] == "SECOND_MODEL_KEY"
        assert KEY not in str(listed)

        question = {"question": "1+1?", "reference_answer": "2"}
        for pipeline in ("agents", "chat"):
            events = stream_round(
                http,
                f"{base_url}/api/rounds",
                {"pipeline": pipeline, "model": "second", **question},
            )
            assert events[-1].type == "RUN_FINISHED"
            assert events[-1].data["result"]["model"] == "second"
        assert len(first.requests) == 0 and len(second.requests) > 0
        assert {r.body["model"] for r in second.requests} == {"second-model"}
        assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in second.requests)

        default = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "chat", **question})
        assert default[-1].data["result"]["model"] == "scripted-model" and len(first.requests) > 0
        unknown = http.post(f"{base_url}/api/rounds", json={"pipeline": "chat", "model": "nope"})
        assert unknown.status_code == 422 and "model" in unknown.text and "nope" in unknown.text


def test_a_bad_models_file_stops_start_up_naming_it(make_settings, tmp_path: Path) -> None:
    from quizrelay.app import create_app
    from quizrelay.errors import ConfigError

    models = tmp_path / "models.yaml"
    models.write_text("models:\n  broken:\n    base_url: ftp://x\n    model: m\n")
    with pytest.raises(ConfigError, match=r"models\.yaml"):
        create_app(make_settings(models_file=models))
