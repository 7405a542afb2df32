"""Server-Sent Events: the wire format of a round's events, and the streaming response.

Every message carries ``id:`` (the event's number in its round, so ``Last-Event-ID`` resumes
exactly) and one ``data:`` line of AG-UI JSON. Idle streams get a comment line every
``heartbeat`` seconds so proxies keep them open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

HEARTBEAT_SECONDS = 15.0
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def frame(event_id: int, data: dict[str, Any]) -> bytes:
    """One SSE message; JSON never contains a raw newline, so one ``data:`` line suffices."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\ndata: {payload}\n\n".encode()


HEARTBEAT = b": ping\n\n"


async def encode(
    records: AsyncIterator[tuple[int, dict[str, Any]]], *, heartbeat: float = HEARTBEAT_SECONDS
) -> AsyncIterator[bytes]:
    """Frame ``records``; send a heartbeat comment whenever none arrives for ``heartbeat`` s."""
    iterator = aiter(records)
    pending: asyncio.Task[tuple[int, dict[str, Any]]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=heartbeat)
            if not done:
                yield HEARTBEAT
                continue
            try:
                event_id, data = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield frame(event_id, data)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(Exception):
            await iterator.aclose()  # type: ignore[attr-defined]


def event_stream_response(records: AsyncIterator[tuple[int, dict[str, Any]]], *, heartbeat: float = HEARTBEAT_SECONDS) -> StreamingResponse:
    return StreamingResponse(
        encode(records, heartbeat=heartbeat), media_type="text/event-stream", headers=SSE_HEADERS
    )
