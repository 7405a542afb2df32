"""The ``agents`` pipeline on scripted models: the chain, its events, the hidden reference,
the verdict, what is stored, and every way the chain can stop early."""

from __future__ import annotations

import json

from agents import FunctionTool
from agents.testing import assistant_message, function_call

from tests.conftest import ScriptedRoles
from tests.support.server import on_app
from tests.support.sse import custom, outline, stream_round

QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}


def happy_roles(answer: str = "768", judge_says: bool = True) -> ScriptedRoles:
    return ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[function_call("transfer_to_judge", {"answer": answer}, call_id="a1")]],
        judge=[
            [function_call("check_answer", {}, call_id="j1")],
            [
                function_call(
                    "submit_verdict",
                    {"correct": judge_says, "explanation": "It doubles."},
                    call_id="j2",
                )
            ],
        ],
    )


def test_round_streams_the_whole_chain_in_order(make_settings, serve, http):
    roles = happy_roles()
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})

    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert outline(events) == [
        "RUN_STARTED",
        "CUSTOM:round",
        "STEP_STARTED:Questioner",
        "TOOL_CALL_START:draw_question",
        "CUSTOM:question",
        "TOOL_CALL_START:transfer_to_answerer",
        "CUSTOM:handoff",
        "STEP_FINISHED:Questioner",
        "STEP_STARTED:Answerer",
        "TOOL_CALL_START:transfer_to_judge",
        "CUSTOM:answer",
        "CUSTOM:guardrail",
        "CUSTOM:handoff",
        "STEP_FINISHED:Answerer",
        "STEP_STARTED:Judge",
        "TOOL_CALL_START:check_answer",
        "TOOL_CALL_START:submit_verdict",
        "CUSTOM:verdict",
        "STEP_FINISHED:Judge",
        "CUSTOM:usage",
        "RUN_FINISHED",
    ]
    round_info = custom(events, "round")[0]
    assert events[0].data["threadId"] == round_info["game_id"]
    assert events[0].data["runId"] == round_info["round_id"]
    assert round_info["pipeline"] == "agents" and round_info["model"] == "scripted-model"
    assert round_info["trace_id"].startswith("trace_")
    assert custom(events, "handoff") == [
        {"from": "Questioner", "to": "Answerer"},
        {"from": "Answerer", "to": "Judge"},
    ]
    assert custom(events, "question")[0]["text"] == QUESTION["question"]
    assert "reference_answer" not in custom(events, "question")[0]
    assert custom(events, "answer")[0]["text"] == "768"
    verdict = custom(events, "verdict")[0]
    assert verdict["correct"] is True and verdict["score"] == 1.0
    assert verdict["reference_answer"] == "768" and verdict["decided_by"] == "check_answer"
    usage = custom(events, "usage")[0]
    assert usage["roles"]["Questioner"]["requests"] == 2
    assert usage["roles"]["Judge"]["requests"] == 2
    assert usage["total"] == {
        "requests": 5,
        "input_tokens": 100,
        "output_tokens": 25,
        "total_tokens": 125,
        "unreported_requests": 0,
    }
    result = events[-1].data["result"]
    assert result["status"] == "completed" and result["verdict"] == verdict
    # Tool calls carry their arguments and results.
    args = "".join(e.data["delta"] for e in events if e.type == "TOOL_CALL_ARGS")
    assert '"answer":"768"' in args
    results = [e.data["content"] for e in events if e.type == "TOOL_CALL_RESULT"]
    assert QUESTION["question"] in results
    for model in roles.models.values():
        model.assert_complete()


def test_answerer_never_sees_the_reference_answer(make_settings, serve, http):
    """Free-form round: the Questioner writes the reference into a tool call's arguments; the
    Answerer's prompt and the history it receives must hold no trace of it."""
    secret_reference = "Zanzibar-42"
    roles = ScriptedRoles(
        questioner=[
            [
                assistant_message("Here is a riddle for you."),
                function_call(
                    "pose_question",
                    {"question": "Which island?", "reference_answer": secret_reference},
                    call_id="q1",
                ),
            ],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[function_call("transfer_to_judge", {"answer": "Zanzibar-42"}, call_id="a1")]],
        judge=[
            [function_call("check_answer", {}, call_id="j1")],
            [
                function_call(
                    "submit_verdict", {"correct": True, "explanation": "Right."}, call_id="j2"
                )
            ],
        ],
    )
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": "agents", "category": "freeform"}
    )
    assert events[-1].type == "RUN_FINISHED", events[-1].data

    answerer_calls = roles.models["Answerer"].calls
    assert len(answerer_calls) == 1
    seen = (answerer_calls[0].system_instructions or "") + json.dumps(
        answerer_calls[0].input, default=str
    )
    assert "Which island?" in seen  # the question reaches the Answerer...
    assert secret_reference not in seen  # ...its reference does not,
    assert "pose_question" not in seen and "function_call" not in seen  # nor any tool call
    # Nor the Questioner's own words: a role hands on the kickoff alone (what the next role needs
    # is in its instructions), so no request ends on an earlier role's assistant turn.
    assert "Here is a riddle for you." not in seen and "Start a new quiz round" in seen
    # The Judge does get it (in its instructions), and the verdict reveals it at the end.
    assert secret_reference in (roles.models["Judge"].calls[0].system_instructions or "")
    assert custom(events, "verdict")[0]["reference_answer"] == secret_reference


def test_llama_cpp_profile_names_each_tool_in_turn(make_settings, serve, http):
    roles = happy_roles()
    base_url, _ = serve(make_settings(model_profile="llama-cpp"), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].type == "RUN_FINISHED"
    assert roles.tool_choices("Questioner") == ["draw_question", "transfer_to_answerer"]
    assert roles.tool_choices("Answerer") == ["transfer_to_judge"]
    assert roles.tool_choices("Judge") == ["check_answer", "submit_verdict"]
    # Grammar-constrained servers get maxLength on string arguments.
    judge_tools = {
        tool.name: tool
        for tool in roles.models["Judge"].calls[1].tools
        if isinstance(tool, FunctionTool)
    }
    assert (
        judge_tools["submit_verdict"].params_json_schema["properties"]["explanation"]["maxLength"]
        == 160
    )


def test_generic_profile_requires_a_tool_on_every_call(make_settings, serve, http):
    roles = happy_roles()
    base_url, _ = serve(make_settings(model_profile="generic"), roles.factory)
    stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert set(roles.tool_choices("Questioner") + roles.tool_choices("Judge")) == {"required"}
    tool = roles.models["Judge"].calls[1].tools[1]
    assert isinstance(tool, FunctionTool)
    assert "maxLength" not in json.dumps(tool.params_json_schema)


def test_verified_question_from_the_bank_is_judged_by_the_check(make_settings, serve, http):
    """A seeded puzzle: the check decides, even against the Judge's own opinion."""
    from quizrelay.agent_specs import load_agents_config
    from quizrelay.questions.source import QuestionSource

    settings = make_settings()
    bank = QuestionSource(load_agents_config(settings.agents_config_dir).questions)
    puzzle = bank.draw("arithmetic", "easy", 7)
    roles = happy_roles(answer=f"The answer is {puzzle.reference_answer}.", judge_says=False)
    base_url, _ = serve(settings, roles.factory)
    events = stream_round(
        http,
        f"{base_url}/api/rounds",
        {"pipeline": "agents", "category": "arithmetic", "difficulty": "easy", "seed": 7},
    )
    assert custom(events, "question")[0]["text"] == puzzle.text
    verdict = custom(events, "verdict")[0]
    assert verdict["correct"] is True and verdict["judge_agreed"] is False
    assert verdict["judge_explanation"] == "It doubles."
    assert verdict["reference_answer"] == puzzle.reference_answer


def test_stored_round_and_its_spans(make_settings, serve, http):
    roles = happy_roles()
    base_url, app = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    round_id = custom(events, "round")[0]["round_id"]
    trace_id = custom(events, "round")[0]["trace_id"]

    stored = http.get(f"{base_url}/api/rounds/{round_id}").json()
    assert stored["status"] == "completed" and stored["pipeline"] == "agents"
    assert stored["question"] == QUESTION["question"] and stored["answer"] == "768"
    assert stored["verdict"]["correct"] is True and stored["reference_answer"] == "768"
    assert stored["trace_id"] == trace_id
    assert (
        stored["time_to_first_token_ms"] is not None
        and stored["total_ms"] >= stored["time_to_first_token_ms"]
    )
    assert stored["usage"]["total"]["requests"] == 5

    service = app.state.service
    trace = on_app(app, service.traces.get_trace(trace_id))
    assert trace.workflow_name == "quiz round" and trace.group_id == stored["game_id"]
    assert trace.round_id == round_id and trace.pipeline == "agents"
    spans = on_app(app, service.traces.spans(trace_id))
    kinds = [(s.kind, s.name) for s in spans]
    assert ("agent", "Questioner") in kinds and ("agent", "Judge") in kinds
    assert ("handoff", "Questioner → Answerer") in kinds and (
        "handoff",
        "Answerer → Judge",
    ) in kinds
    assert ("function", "check_answer") in kinds and ("function", "submit_verdict") in kinds
    # Replaying the finished round gives the same events.
    replay = stream_round(http, f"{base_url}/api/rounds/{round_id}/events", method="GET")
    assert [e.data for e in replay] == [e.data for e in events]


def test_questioner_that_never_hands_off_fails_the_round(make_settings, serve, http):
    roles = ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [assistant_message("I'll hand this to the answerer now.")],
        ],
    )
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].type == "RUN_ERROR"
    assert events[-1].data["code"] == "no_handoff"
    assert (
        "Questioner" in events[-1].data["message"]
        and "transfer_to_answerer" in events[-1].data["message"]
    )
    assert "RUN_FINISHED" not in [e.type for e in events]
    assert custom(events, "verdict") == []
    # What was streamed before the failure is kept, and the round is stored as failed.
    round_id = custom(events, "round")[0]["round_id"]
    stored = http.get(f"{base_url}/api/rounds/{round_id}").json()
    assert stored["status"] == "failed" and stored["error"]["code"] == "no_handoff"
    assert stored["question"] == QUESTION["question"] and stored["verdict"] is None
    assert len(stream_round(http, f"{base_url}/api/rounds/{round_id}/events", method="GET")) == len(
        events
    )


def test_answerer_that_replies_in_text_fails_the_round(make_settings, serve, http):
    roles = ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[assistant_message("768")]],
    )
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].data["code"] == "no_handoff"
    assert "Answerer" in events[-1].data["message"]
    # The text it streamed before stopping reached the client.
    assert "768" in "".join(e.data["delta"] for e in events if e.type == "TEXT_MESSAGE_CONTENT")


def test_judge_without_a_valid_verdict_fails_the_round(make_settings, serve, http):
    bad_verdict = function_call(
        "submit_verdict", {"correct": "maybe", "explanation": "?"}, call_id="j2"
    )
    roles = ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[function_call("transfer_to_judge", {"answer": "768"}, call_id="a1")]],
        judge=[
            [function_call("check_answer", {}, call_id="j1")],
            [bad_verdict],
            [assistant_message('{"correct": true}')],
        ],
    )
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].type == "RUN_ERROR" and events[-1].data["code"] == "invalid_verdict"
    results = [e.data["content"] for e in events if e.type == "TOOL_CALL_RESULT"]
    assert any(r.startswith("ERROR: `correct` must be true or false") for r in results)
    assert custom(events, "verdict") == []


def test_judge_that_loops_on_bad_arguments_runs_out_of_turns(make_settings, serve, http):
    # More bad calls than the round has turns (max_turns 12), each with its own call id.
    bad = [[function_call("submit_verdict", "{not json", call_id=f"j{i}")] for i in range(1, 13)]
    roles = ScriptedRoles(
        questioner=[
            [function_call("draw_question", {}, call_id="q1")],
            [function_call("transfer_to_answerer", {}, call_id="q2")],
        ],
        answerer=[[function_call("transfer_to_judge", {"answer": "768"}, call_id="a1")]],
        judge=[[function_call("check_answer", {}, call_id="j0")], *bad],
    )
    base_url, _ = serve(make_settings(), roles.factory)
    events = stream_round(http, f"{base_url}/api/rounds", {"pipeline": "agents", **QUESTION})
    assert events[-1].type == "RUN_ERROR"
    assert events[-1].data["code"] == "max_turns_exceeded", events[-1].data
    results = [e.data["content"] for e in events if e.type == "TOOL_CALL_RESULT"]
    assert any("the arguments are not valid JSON" in r for r in results)  # each was told so
    assert custom(events, "verdict") == []
