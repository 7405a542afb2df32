"""Rounds played through the service for the OTLP tests, and the spans they export.

The fixtures that serve the app, the scripted model and the OTLP receiver are in ``conftest.py``.
"""

from __future__ import annotations

from typing import Any

from quizrelay.tracing.otlp import OtlpTracingProcessor
from tests.fakes.scripted_openai import text, tool_call
from tests.support.sse import SseEvent, stream_round
from tests.tracing.otlp_receiver import OtlpReceiver, ReceivedSpan

QUESTION = {"question": "3, 6, 12, 24, 48, 96, 192, 384, ?", "reference_answer": "768"}
PIPELINES = ("agents", "chat")


def steps(pipeline: str, answer: str = "768") -> tuple[list[Any], int, int]:
    """A happy round for ``pipeline``; also the input and output tokens it reports in total."""
    script: list[Any]
    if pipeline == "agents":
        script = [
            tool_call("draw_question", {}, usage=(80, 20)),
            tool_call("transfer_to_answerer", {}, usage=(90, 2)),
            tool_call("transfer_to_judge", {"answer": answer}, usage=(60, 9)),
            tool_call("check_answer", {}, usage=(100, 2)),
            tool_call(
                "submit_verdict", {"correct": True, "explanation": "It doubles."}, usage=(110, 8)
            ),
        ]
        return script, 440, 41
    script = [
        tool_call("draw_question", {}, usage=(50, 3)),
        text(answer, usage=(40, 6)),
        tool_call("check_answer", {}, usage=(60, 3)),
        tool_call(
            "submit_verdict", {"correct": True, "explanation": "It doubles."}, usage=(70, 12)
        ),
    ]
    return script, 220, 24


def play(http: Any, base_url: str, pipeline: str, **extra: Any) -> list[SseEvent]:
    events = stream_round(
        http, f"{base_url}/api/rounds", {"pipeline": pipeline, **QUESTION, **extra}
    )
    assert events[-1].type == "RUN_FINISHED", events[-1].data
    return events


def round_spans(
    receiver: OtlpReceiver, processor: OtlpTracingProcessor, round_id: str
) -> list[ReceivedSpan]:
    """The round's spans, once its root span (ended last, with the trace) has arrived."""

    def done(spans: list[ReceivedSpan]) -> bool:
        return any(
            s.name == "quiz round" and s.attributes.get("quizrelay.round_id") == round_id
            for s in spans
        )

    spans = receiver.wait_for(done, poke=lambda: processor.flush(5))
    return [s for s in spans if s.attributes.get("quizrelay.round_id") == round_id]
