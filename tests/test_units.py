"""Small, pure pieces: the tool-choice policy, settings, agents_config validation, SSE frames,
the embedded server's usage chunk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from quizrelay.agent_specs import load_agents_config
from quizrelay.embedded.server import _PromptRecorder, _stream_with_usage
from quizrelay.errors import ConfigError, scrub
from quizrelay.pipelines.tool_choice import (
    ToolChoicePolicy,
    chat_tool_choice_param,
    done_tools_in_history,
)
from quizrelay.settings import Settings
from quizrelay.sse import frame

CONFIG_DIR = Path(__file__).resolve().parent.parent / "agents_config"


# Tool-choice policy ------------------------------------------------------------------------
def test_sequence_forces_the_first_tool_not_yet_done_and_skips_unoffered_ones():
    policy = ToolChoicePolicy(["draw_question", "pose_question", "transfer_to_answerer"])
    assert policy.choose(["draw_question"], set()) == "draw_question"
    assert (
        policy.choose(["draw_question", "transfer_to_answerer"], {"draw_question"})
        == "transfer_to_answerer"
    )
    assert policy.choose(["pose_question", "transfer_to_answerer"], set()) == "pose_question"
    assert (
        policy.choose(["draw_question"], {"draw_question"}) == "draw_question"
    )  # last one repeats
    assert policy.choose([], set()) is None  # no tools, no tool_choice


def test_keyword_policies_and_their_wire_form():
    assert ToolChoicePolicy("required").choose(["a"], set()) == "required"
    assert ToolChoicePolicy("auto").choose(["a"], set()) == "auto"
    assert ToolChoicePolicy("required").choose([], set()) is None
    assert chat_tool_choice_param("check_answer") == {
        "type": "function",
        "function": {"name": "check_answer"},
    }
    assert chat_tool_choice_param("required") == "required" and chat_tool_choice_param(None) is None


def test_done_tools_ignores_failed_and_unanswered_calls():
    history = [
        {"type": "message", "role": "user", "content": "go"},
        {"type": "function_call", "call_id": "1", "name": "check_answer", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "1", "output": '{"correct": true}'},
        {"type": "function_call", "call_id": "2", "name": "submit_verdict", "arguments": "{"},
        {
            "type": "function_call_output",
            "call_id": "2",
            "output": "ERROR: the arguments are not valid JSON",
        },
        {"type": "function_call", "call_id": "3", "name": "draw_question", "arguments": "{}"},
    ]
    assert done_tools_in_history(history) == {"check_answer"}


# Settings ----------------------------------------------------------------------------------
def test_settings_profiles_are_inferred_from_the_server():
    assert Settings(_env_file=None).profile() == "llama-cpp"
    assert Settings(_env_file=None).uses_embedded_model
    openai = Settings(
        _env_file=None,
        llm_base_url="https://api.openai.com/v1",
        model="gpt-4.1-mini",
        llm_api_key="sk-x",
    )
    assert openai.profile() == "openai" and openai.api_key_value() == "sk-x"
    ollama = Settings(
        _env_file=None,
        llm_base_url="http://localhost:11434/v1/",
        model="gpt-oss:20b",
        llm_api_key="ollama",
    )
    assert ollama.profile() == "ollama" and ollama.llm_base_url == "http://localhost:11434/v1"
    assert "sk-x" not in repr(openai)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("QUIZRELAY_LLM_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("QUIZRELAY_MODEL", "gpt-oss:20b")
    monkeypatch.setenv("QUIZRELAY_DATABASE_URL", "sqlite:////tmp/x.db")
    settings = Settings(_env_file=None)
    assert settings.model_name == "gpt-oss:20b" and settings.database_url == "sqlite:////tmp/x.db"


def test_settings_errors_say_what_to_set():
    with pytest.raises(ValidationError, match="QUIZRELAY_MODEL is required"):
        Settings(_env_file=None, llm_base_url="http://localhost:11434/v1")
    with pytest.raises(ValidationError, match="must start with http"):
        Settings(_env_file=None, llm_base_url="localhost:11434", model="m")


# agents_config validation -------------------------------------------------------------------
def test_shipped_config_loads_and_profiles_apply():
    config = load_agents_config(CONFIG_DIR)
    judge = config.agent("Judge", "llama-cpp")
    assert (
        judge.tool_choice == ["check_answer", "submit_verdict"]
        and judge.model_settings["max_tokens"] == 256
    )
    assert config.agent("Judge", "openai").tool_choice == "required"
    assert "{reference_answer}" not in config.agents["Answerer"].instructions


def _copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "agents_config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def test_answerer_prompt_cannot_use_the_reference_answer(tmp_path):
    config_dir = _copy_config(tmp_path)
    path = config_dir / "answerer.yaml"
    path.write_text(path.read_text().replace("{question}", "{question} (hint: {reference_answer})"))
    with pytest.raises(
        ConfigError, match=r"Answerer.instructions uses placeholders \['reference_answer'\]"
    ):
        load_agents_config(config_dir)


def test_config_errors_name_the_file_and_field(tmp_path):
    config_dir = _copy_config(tmp_path)
    path = config_dir / "judge.yaml"
    path.write_text(path.read_text().replace("temperature: 0.0", "temprature: 0.0"))
    with pytest.raises(ConfigError, match="temprature"):
        load_agents_config(config_dir)
    (config_dir / "judge.yaml").unlink()
    with pytest.raises(ConfigError, match=r"judge\.yaml is missing"):
        load_agents_config(config_dir)


# Wire format and secrets -------------------------------------------------------------------
def test_sse_frame_is_one_id_and_one_data_line():
    assert frame(7, {"type": "CUSTOM", "value": "line\nbreak é"}) == (
        'id: 7\ndata: {"type":"CUSTOM","value":"line\\nbreak é"}\n\n'.encode()
    )


def test_scrub_replaces_secrets_everywhere():
    data = {"a": "key sk-123456 here", "b": ["sk-123456"], "c": 3}
    assert scrub(data, ["sk-123456"]) == {"a": "key [redacted] here", "b": ["[redacted]"], "c": 3}


# The embedded server's streamed usage ------------------------------------------------------
class FakeLlama:
    def tokenize(self, data: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(data.split()) + (1 if add_bos else 0)))

    def create_completion(self, prompt: str, **kwargs):
        return iter(())


def test_streams_end_with_a_usage_chunk_counted_by_the_tokenizer():
    llama = FakeLlama()
    recorder = _PromptRecorder(llama)
    recorder.create_completion(prompt="<|im_start|>user hello there<|im_end|>")
    chunks = [
        {"id": "c1", "created": 1, "model": "m", "choices": [{"delta": {"content": "four score"}}]},
        {
            "id": "c1",
            "created": 1,
            "model": "m",
            "choices": [
                {"delta": {"tool_calls": [{"function": {"arguments": '{"answer": "7"}'}}]}}
            ],
        },
    ]
    out = list(_stream_with_usage(iter(chunks), llama, recorder))
    assert out[:2] == chunks
    assert out[-1]["choices"] == [] and out[-1]["id"] == "c1"
    assert out[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    json.dumps(out[-1])


def test_llama_cpp_token_budgets_fit_the_bounded_arguments():
    """With grammar-bounded strings a forced call always closes its JSON, if max_tokens leaves
    room: one token per character plus 32 for the JSON around it."""
    from quizrelay.rounds.tools import build_tools

    config = load_agents_config(CONFIG_DIR)
    tools = build_tools(config)
    limits = {name: sum(tool.max_lengths.values()) for name, tool in tools.items()}
    answer_limit = config.tools["transfer_to_judge"].parameters["answer"].max_length
    assert answer_limit is not None, "the handed-off answer must be bounded"
    limits["transfer_to_judge"] = answer_limit
    for role in ("Questioner", "Answerer", "Judge"):
        spec = config.agent(role, "llama-cpp")
        for tool in spec.tool_choice:
            if tool in limits:
                assert spec.model_settings["max_tokens"] >= limits[tool] + 32, (role, tool)


def test_tool_arguments_with_raw_control_characters_are_accepted():
    from quizrelay.rounds.tools import parse_arguments

    assert parse_arguments('{"answer": "line one\nline two"}') == {"answer": "line one\nline two"}
    assert parse_arguments("  ") == {}
    with pytest.raises(ValueError):
        parse_arguments('{"answer": "cut')
