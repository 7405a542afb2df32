"""One streamed round through the service, as a client sees it (shared by the benchmarks).

``play_round`` posts a round and reads its SSE stream: event ids, the time to the first event,
first token and end, the gaps between events and between the tokens of one stream, and the
names of the CUSTOM events. ``check_replays`` compares each round's live ids with its replay.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field

import httpx

QUESTION = {"question": "3, 6, 12, 24, ?", "reference_answer": "48"}
PIPELINES: tuple[str, ...] = ("agents", "chat")
TOKEN_TYPES = ("TEXT_MESSAGE_CONTENT", "TOOL_CALL_ARGS")
END_TYPES = ("RUN_FINISHED", "RUN_ERROR")
TYPE_RE = re.compile(r'data: ?\{"type":"([A-Z_]+)"')
NAME_RE = re.compile(r'"name":"([A-Za-z_]+)"')


@dataclass
class Round:
    pipeline: str
    end: str | None = None  # RUN_FINISHED, RUN_ERROR, or None: the stream broke off
    error: str | None = None
    round_id: str | None = None
    ids: list[int] = field(default_factory=list)
    data_lines: int = 0
    first_event: float | None = None
    first_token: float | None = None
    total: float | None = None
    gaps: list[float] = field(default_factory=list)
    token_gaps: list[float] = field(default_factory=list)
    cpu: float | None = None  # one at a time only: the service's CPU seconds for this round
    replay_match: bool | None = None
    customs: list[str] = field(default_factory=list)  # names of the CUSTOM events, in order
    started_at: float = 0.0  # time.perf_counter() when posted
    ended_at: float | None = None  # time.perf_counter() at the last event


async def play_round(client: httpx.AsyncClient, base: str, pipeline: str) -> Round:
    result, last, last_kind = Round(pipeline), 0.0, ""
    started = result.started_at = time.perf_counter()
    try:
        async with client.stream(
            "POST", f"{base}/api/rounds", json={"pipeline": pipeline, **QUESTION}
        ) as response:
            if response.status_code != 200:
                result.error = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
                return result
            async for line in response.aiter_lines():
                if line.startswith("id:"):
                    result.ids.append(int(line[3:]))
                if not line.startswith("data:"):
                    continue
                now = time.perf_counter()
                kind = match.group(1) if (match := TYPE_RE.match(line)) else "?"
                result.data_lines += 1
                if result.first_event is None:
                    result.first_event, result.round_id = (
                        now - started,
                        json.loads(line[5:]).get("runId"),
                    )
                else:
                    result.gaps.append(now - last)
                    if kind in TOKEN_TYPES and kind == last_kind:
                        result.token_gaps.append(now - last)
                if result.first_token is None and kind in TOKEN_TYPES:
                    result.first_token = now - started
                if kind == "CUSTOM" and (name := NAME_RE.search(line)):
                    result.customs.append(name.group(1))
                if kind in END_TYPES:
                    result.end, result.total, result.ended_at = kind, now - started, now
                    result.error = json.loads(line[5:]).get("code") if kind == "RUN_ERROR" else None
                last, last_kind = now, kind
    except httpx.HTTPError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    if result.end is None and result.error is None:
        result.error = "stream ended without RUN_FINISHED or RUN_ERROR"
    return result


async def check_replays(client: httpx.AsyncClient, base: str, rounds: list[Round]) -> None:
    """Compare each round's live ids with ``GET /api/rounds/{id}/events`` (the stored events)."""
    limit = asyncio.Semaphore(16)

    async def check(result: Round) -> None:
        async with (
            limit,
            client.stream("GET", f"{base}/api/rounds/{result.round_id}/events") as response,
        ):
            ids = [int(line[3:]) async for line in response.aiter_lines() if line.startswith("id:")]
        result.replay_match = ids == result.ids

    await asyncio.gather(*(check(r) for r in rounds if r.round_id))
