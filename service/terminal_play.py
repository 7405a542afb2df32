"""``quizrelay play``: a game in the terminal, the agents' text streaming as it is generated.

In a human game the player types the answers; the Judge's verdict and the running score follow
each round.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from .client import Client


class StreamPrinter:
    """Prints a round's events as readable, live text."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.at_line_start = True

    def _line(self, text: str = "") -> None:
        if not self.at_line_start:
            self.out.write("\n")
        self.out.write(text + "\n")
        self.out.flush()
        self.at_line_start = True

    def _inline(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.at_line_start = text.endswith("\n")

    def handle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "STEP_STARTED":
            self._line(f"── {event['stepName']} " + "─" * max(0, 40 - len(event["stepName"])))
        elif kind == "TEXT_MESSAGE_CONTENT":
            self._inline(event["delta"])
        elif kind == "TOOL_CALL_START":
            self._line()
            self._inline(f"  → {event['toolCallName']}(")
        elif kind == "TOOL_CALL_ARGS":
            self._inline(event["delta"])
        elif kind == "TOOL_CALL_END":
            self._inline(")")
        elif kind == "CUSTOM":
            self._custom(event["name"], event["value"])
        elif kind == "RUN_ERROR":
            self._line(f"✗ the round failed: {event.get('code')}: {event['message']}")

    def _custom(self, name: str, value: dict[str, Any]) -> None:
        if name == "question":
            self._line(
                f"\n  QUESTION ({value['category']}, {value['difficulty']}):\n  {value['text']}\n"
            )
        elif name == "answer":
            self._line(f"  ANSWER ({value.get('answered_by', 'Answerer')}): {value['text']}")
        elif name == "handoff":
            self._line(f"  ⇢ handoff {value['from']} → {value['to']}")
        elif name == "verdict":
            mark = "✓ right" if value["correct"] else "✗ wrong"
            self._line(
                f"\n  VERDICT: {mark}  (reference answer: {value['reference_answer']})\n"
                f"  {value['explanation']}"
            )


def play_game(
    client: Client,
    *,
    pipeline: str,
    human: bool,
    rounds: int,
    category: str | None,
    difficulty: str | None,
    out: TextIO = sys.stdout,
    ask: Callable[[str], str] = input,
) -> dict[str, Any]:
    """Play a game of ``rounds`` rounds and return the final game (with its score)."""
    game = client.post(
        "/api/games",
        {
            "pipeline": pipeline,
            "mode": "human" if human else "ai",
            "rounds": rounds,
            "categories": [category] if category else None,
            "difficulty": difficulty,
        },
    )
    printer = StreamPrinter(out)
    who = "you answer" if human else "AI vs AI"
    out.write(f"Game {game['id']}: {rounds} round(s), {pipeline} pipeline, {who}\n")
    for number in range(1, rounds + 1):
        out.write(f"\n═══ Round {number} of {rounds} ═══\n")
        last = _run(printer, client.stream("/api/rounds", {"game_id": game["id"]}))
        if (
            human
            and last.get("type") == "RUN_FINISHED"
            and (last.get("result") or {}).get("status") == "awaiting_answer"
        ):
            round_id = last["result"]["round_id"]
            answer = ""
            while not answer.strip():
                answer = ask("\n  Your answer: ")
            _run(
                printer,
                client.stream(f"/api/rounds/{round_id}/answer", {"answer": answer.strip()[:500]}),
            )
        final = client.get(f"/api/games/{game['id']}")
        score = final["score"]
        out.write(f"\n  Score: {score['correct']} / {score['answered']} correct\n")
    final = client.get(f"/api/games/{game['id']}")
    score = final["score"]
    out.write(
        f"\nGame over: {score['correct']} of {score['played']} rounds right "
        f"({score['points']} points). Traces: /traces?game_id={game['id']}\n"
    )
    return final


def _run(printer: StreamPrinter, events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    last: dict[str, Any] = {}
    for event in events:
        printer.handle(event)
        last = event
    printer._line()
    return last
