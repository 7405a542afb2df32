"""Processes of the benchmarks: children that die with the benchmark, their CPU from /proc.

Shared by ``benchmarks/load.py`` (embedded mode) and ``benchmarks/distributed.py``.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def pid_cpu(pid: int, thread: int | None = None) -> float:
    """utime + stime in seconds of a process (all threads) or of one of its threads (its tid;
    the pid is the main thread). Raises OSError once the process is gone."""
    task = f"task/{thread}/" if thread else ""
    fields = Path(f"/proc/{pid}/{task}stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark dies (PR_SET_PDEATHSIG), and Ctrl-C
    as usual even if the benchmark was started with it ignored."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """A child process, its output in a log file; its CPU time and memory from /proc."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        logdir: Path,
        ready_url: str,
        timeout: float = 60,
        *,
        wait: bool = True,
    ) -> None:
        self.name, self.log_path, self.ready_url = name, logdir / f"{name}.log", ready_url
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once ``ready_url`` answers 200; stop the process and raise if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.ready_url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.ready_url}:\n{self.tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self, thread: int | None = None) -> float:
        """utime + stime in seconds, of all threads or of one (its tid)."""
        return pid_cpu(self.proc.pid, thread)

    def memory_mib(self) -> tuple[float, float]:
        """(peak resident VmHWM, current VmRSS) in MiB."""
        status = dict(
            re.findall(
                r"^(VmHWM|VmRSS):\s+(\d+) kB",
                Path(f"/proc/{self.proc.pid}/status").read_text(),
                re.M,
            )
        )
        return int(status["VmHWM"]) / 1024, int(status["VmRSS"]) / 1024

    def kill(self) -> None:
        """SIGKILL: no clean shutdown."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def terminate(self) -> None:
        """SIGTERM, once (a second one makes uvicorn skip its graceful shutdown)."""
        if self.proc.poll() is None and not getattr(self, "_terminated", False):
            self._terminated = True
            self.proc.terminate()  # uvicorn shuts down gracefully; a worker drains

    def stop(self, timeout: float = 15) -> None:
        self.terminate()
        if self.proc.returncode is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def problems(self) -> list[str]:
        """Warning, error and traceback lines of its log."""
        log = self.log_path.read_text(errors="replace").splitlines()
        pattern = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")
        return [line[:200] for line in log if pattern.search(line)]


def start_model_server(
    name: str, port: int, first_token_delay: float, token_interval: float, logdir: Path
) -> Child:
    """The paced scripted model server (``python -m tests.fakes.scripted_openai``)."""
    argv = [
        sys.executable,
        "-m",
        "tests.fakes.scripted_openai",
        "--port",
        str(port),
        "--first-token-delay",
        str(first_token_delay),
        "--token-interval",
        str(token_interval),
    ]
    return Child(name, argv, dict(os.environ), logdir, f"http://127.0.0.1:{port}/v1/models")


def start_service(name: str, port: int, model_url: str, workdir: Path) -> Child:
    """An embedded-mode ``quizrelay serve`` (SQLite in ``workdir``, no Redis) on the model."""
    env = dict(
        os.environ,
        QUIZRELAY_LLM_BASE_URL=model_url,
        QUIZRELAY_MODEL="scripted-model",
        QUIZRELAY_MODEL_PROFILE="llama-cpp",
        QUIZRELAY_RATE_LIMIT_ROUNDS_PER_MINUTE="0",
        QUIZRELAY_DATABASE_URL=f"sqlite:///{workdir / name}.db",
    )
    env.pop("QUIZRELAY_REDIS_URL", None)
    argv = [
        sys.executable,
        "-m",
        "quizrelay",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return Child(name, argv, env, workdir, f"http://127.0.0.1:{port}/healthz")
