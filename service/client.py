"""A small client for the service's HTTP API, used by the terminal commands.

It reads the SSE streams itself (``id:`` + ``data:`` lines) and, when no service answers at the
default address, starts one (``quizrelay serve`` on a free port, the embedded model unless
configured otherwise) for as long as the command runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .errors import QuizrelayError

DEFAULT_URL = "http://127.0.0.1:8000"


class ServiceError(QuizrelayError):
    """The service answered with an error; the message carries its detail."""


def _reachable(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def service_at(url: str | None, *, start_timeout: float = 300.0) -> Iterator[str]:
    """Yield the base URL of a running service: ``url`` if given (it must answer), else the
    default address if something answers there, else a service started for this command."""
    if url is not None:
        if not _reachable(url):
            raise ServiceError(
                f"no quizrelay service answers at {url} (start one with `quizrelay serve`)"
            )
        yield url
        return
    if _reachable(DEFAULT_URL):
        yield DEFAULT_URL
        return
    port = _free_port()
    started = f"http://127.0.0.1:{port}"
    print(f"quizrelay: no service at {DEFAULT_URL}; starting one on {started} ...", file=sys.stderr)
    process = subprocess.Popen(
        [sys.executable, "-m", "quizrelay", "serve", "--port", str(port), "--log-level", "warning"],
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + start_timeout
        while not _reachable(started):
            if process.poll() is not None:
                raise ServiceError(
                    f"the service exited with code {process.returncode} while starting"
                )
            if time.monotonic() > deadline:
                raise ServiceError("the service did not start in time")
            time.sleep(0.3)
        yield started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _said(detail: Any) -> str:
    """FastAPI's validation errors as ``field.path: message``; anything else as it came."""
    if isinstance(detail, list) and all(isinstance(e, dict) and "msg" in e for e in detail):
        return "; ".join(
            ".".join(str(part) for part in e.get("loc", ()) if part != "body") + f": {e['msg']}"
            for e in detail
        )
    return str(detail)


class Client:
    def __init__(self, base_url: str, *, timeout: float = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise ServiceError(
                f"{response.request.method} {response.request.url.path}: "
                f"HTTP {response.status_code}: {_said(detail)}"
            )

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        self._check(response)
        return response.json()

    def download(self, path: str, **params: Any) -> bytes:
        """GET ``path`` and return the body as it came (an export: JSON, CSV or HTML)."""
        response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        self._check(response)
        return response.content

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        self._check(response)
        return response.json()

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST ``body`` and yield the AG-UI events of the SSE response as they arrive."""
        with self.http.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[6:])
