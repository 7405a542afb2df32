"""Start, wait for and stop the embedded model server as a child process.

The child must never outlive the service: it is stopped on shutdown, on Ctrl-C and on start-up
errors, and on Linux it also gets SIGTERM from the kernel if the service dies without cleaning
up (``PR_SET_PDEATHSIG``), so a ``kill -9`` leaves no orphan holding 100 MB and a port.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ..errors import ModelServerError
from ..settings import Settings
from .server import MODEL_ALIAS

logger = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class EmbeddedModelProcess:
    """The embedded model server child process; use ``await start()`` and ``await stop()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.embedded_host
        self.port = settings.embedded_port or free_port(self.host)
        self.model = MODEL_ALIAS
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(
            prefix="quizrelay-model-", suffix=".log", delete=False
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    async def start(self) -> str:
        """Start the server and return its base URL once it answers ``GET /v1/models``."""
        command = [
            sys.executable,
            "-m",
            "quizrelay.embedded.server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--threads",
            str(self.settings.embedded_threads),
            "--context",
            str(self.settings.embedded_context),
        ]
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        logger.info("starting the embedded model server on %s", self.base_url)
        self._process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        return self.base_url

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.embedded_start_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise ModelServerError(
                        f"the embedded model server exited with code {self._process.returncode} "
                        f"before it was ready. Its log ({self._log.name}) ends with:\n{self._log_tail()}"
                    )
                try:
                    response = await client.get(f"{self.base_url}/models")
                    if response.status_code == 200:
                        logger.info("embedded model server ready (pid %s)", self._process.pid)
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ModelServerError(
                        f"the embedded model server did not answer within "
                        f"{self.settings.embedded_start_timeout:.0f} s "
                        f"(QUIZRELAY_EMBEDDED_START_TIMEOUT); log: {self._log.name}"
                    )
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 5)
        logger.info("embedded model server stopped")

    def stop_now(self) -> None:
        """Synchronous last-resort stop (used from ``atexit``)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        try:
            os.unlink(self._log.name)
        except OSError:
            pass
