"""Real ``quizrelay`` processes for the tests: ``serve`` and ``worker`` started as a user would
(``python -m quizrelay ...``), configured by environment alone, and stopped or killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """One running ``quizrelay`` process."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def health(self) -> dict:
        return httpx.get(f"{self.url}/healthz", timeout=5).json()

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing handed back."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM: what a deploy sends; a worker drains."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=timeout)
        return self.process.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(
    command: str,
    env: dict[str, str],
    *,
    logs: Path,
    name: str,
    extra: list[str] | None = None,
    timeout: float = 90,
) -> Service:
    """``quizrelay <command>`` on a free port, with only ``env`` for its QUIZRELAY_ settings;
    returns once ``/healthz`` answers."""
    port = free_port()
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QUIZRELAY_", "OTEL_", "PROMETHEUS_"))
    }
    full_env.update(env)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    argv = [sys.executable, "-m", "quizrelay", command, "--port", str(port), "--log-level", "info"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv + (extra or []), env=full_env, stdout=sink, stderr=subprocess.STDOUT
        )
    service = Service(process, f"http://127.0.0.1:{port}", log, full_env)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{service.url}/healthz", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            service.kill()
            raise RuntimeError(f"quizrelay {command} did not start:\n{service.log_text()[-3000:]}")
        time.sleep(0.1)
