"""A small, strict SSE reader for tests: it parses the wire format itself rather than trusting
a client library, so framing mistakes fail the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    id: int
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data["type"])

    @property
    def name(self) -> str | None:
        return self.data.get("name")


def parse_sse(lines: list[str]) -> tuple[list[SseEvent], int]:
    """Events and the number of heartbeat comments in ``lines`` (the stream split on newlines)."""
    events: list[SseEvent] = []
    comments = 0
    event_id: int | None = None
    data_lines: list[str] = []
    for line in lines:
        if line == "":
            if data_lines:
                assert event_id is not None, f"SSE message without id: {data_lines}"
                events.append(SseEvent(event_id, json.loads("\n".join(data_lines))))
            event_id, data_lines = None, []
        elif line.startswith(":"):
            comments += 1
        elif line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            data_lines.append(line[6:])
        else:
            raise AssertionError(f"unexpected SSE line {line!r}")
    assert not data_lines, "stream ended in the middle of a message"
    return events, comments


def stream_round(
    client: httpx.Client,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> list[SseEvent]:
    """POST (or GET) ``url`` and read the whole event stream."""
    with client.stream(method, url, json=body, headers=headers, timeout=120) as response:
        assert response.status_code == 200, response.read().decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    events, _ = parse_sse(text.split("\n"))
    return events


def custom(events: list[SseEvent], name: str) -> list[dict[str, Any]]:
    return [e.data["value"] for e in events if e.type == "CUSTOM" and e.name == name]


def outline(events: list[SseEvent]) -> list[str]:
    """The stream's shape: lifecycle, steps and custom events in order, deltas left out."""
    shape = []
    for event in events:
        if event.type in (
            "TEXT_MESSAGE_CONTENT",
            "TOOL_CALL_ARGS",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_END",
        ):
            continue
        if event.type == "CUSTOM":
            shape.append(f"CUSTOM:{event.name}")
        elif event.type in ("STEP_STARTED", "STEP_FINISHED"):
            shape.append(f"{event.type}:{event.data['stepName']}")
        elif event.type == "TOOL_CALL_START":
            shape.append(f"TOOL_CALL_START:{event.data['toolCallName']}")
        elif event.type in ("TOOL_CALL_END", "TOOL_CALL_RESULT"):
            continue
        else:
            shape.append(event.type)
    return shape
