"""Server-Sent Events: the wire format of a round's events, and the streaming response.

Every message carries ``id:`` (the event's number in its round, so ``Last-Event-ID`` resumes
exactly) and one ``data:`` line of AG-UI JSON. Idle streams get a comment line every
``heartbeat`` seconds so proxies keep them open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from .records import EventRecord

HEARTBEAT_SECONDS = 15.0
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def frame(event_id: int, data: dict[str, Any] | str) -> bytes:
    """One SSE message; JSON never contains a raw newline, so one ``data:`` line suffices.
    ``data`` is the event's JSON as the publisher encoded it (or a dict to encode)."""
    if not isinstance(data, str):
        data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\ndata: {data}\n\n".encode()


HEARTBEAT = b": ping\n\n"

Batch = list[EventRecord]


async def encode(
    batches: AsyncIterator[Batch], *, heartbeat: float = HEARTBEAT_SECONDS
) -> AsyncIterator[bytes]:
    """Frame each batch of records as one chunk (one socket write); send a heartbeat comment
    whenever nothing arrives for ``heartbeat`` seconds."""
    iterator = aiter(batches)
    pending: asyncio.Task[Batch] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=heartbeat)
            if not done:
                yield HEARTBEAT
                continue
            try:
                batch = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield b"".join(frame(record.id, record.json) for record in batch)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        if isinstance(iterator, AsyncGenerator):
            with contextlib.suppress(Exception):
                await iterator.aclose()


def event_stream_response(
    batches: AsyncIterator[Batch], *, heartbeat: float = HEARTBEAT_SECONDS
) -> StreamingResponse:
    return StreamingResponse(
        encode(batches, heartbeat=heartbeat), media_type="text/event-stream", headers=SSE_HEADERS
    )
