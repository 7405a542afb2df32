"""An ASGI middleware that reads request bodies before the app does, so that a body over the
size limit gets 413 and a JSON body that is not UTF-8 gets 422 with a message that says so.

(FastAPI would turn either into a 400 "There was an error parsing the body", which does not
tell the client what to fix.)
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS_WITH_BODIES = {"POST", "PUT", "PATCH"}


class RequestBodyGuard:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS_WITH_BODIES:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _refuse(send, 413, self._too_large())
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _refuse(send, 413, self._too_large())
                return
            if not message.get("more_body", False):
                break
        if b"json" in headers.get(b"content-type", b""):
            try:
                bytes(body).decode("utf-8")
            except UnicodeDecodeError as exc:
                await _refuse(
                    send,
                    422,
                    f"the request body is not valid UTF-8 (byte {exc.object[exc.start]:#04x} "
                    f"at position {exc.start}); send JSON encoded as UTF-8",
                )
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # after the body: disconnect notifications
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes (QUIZRELAY_MAX_BODY_BYTES)"


async def _refuse(send: Send, status: int, message: str) -> None:
    body: dict[str, Any] = {"detail": message}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
