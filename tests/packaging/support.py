"""What the packaging tests share: the source tree as a build sees it, the interpreters, pip
into fresh virtualenvs (several at once), and quizrelay processes started from an installed
wheel, configured by environment alone and run from an empty directory.

pip is the one running these tests (``sys.executable -m pip``) pointed at each virtualenv with
``--python``: the virtualenvs are made ``--without-pip``, and one pip, the newest here, does
every install. ``--no-compile`` skips writing ``.pyc`` files for all of site-packages (sympy
alone is thousands of modules); what is imported compiles on first use. Neither changes which
files or versions are installed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.sse import SseEvent, custom, stream_round

REPO = Path(__file__).resolve().parents[2]
PYTHONS = ("3.12", "3.13")
"""The interpreters a wheel is installed and run on (3.11 is the development virtualenv's)."""

INSTALL_TIMEOUT = 900.0
PIP_NOISE = re.compile(r"WARNING: Location '.*' is ignored")
"""This machine's pip configuration names index folders that do not exist: said on every
package, and no part of a failure."""


def clean_env(**settings: str) -> dict[str, str]:
    """The environment without any quizrelay setting, nor anything that would let the checkout
    or the development virtualenv reach a process started from an installed wheel."""
    dropped = ("QUIZRELAY_", "OTEL_", "OPENAI_", "PYTHON", "VIRTUAL_ENV")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version_key(path: Path) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", path.parent.parent.name)
    return tuple(int(n) for n in numbers)


def find_python(version: str) -> Path:
    """An interpreter of ``version`` (``3.12``): ``python3.12`` on PATH, else pyenv's newest
    3.12.x. Fails the test (never skips) when there is none."""
    candidates: list[Path] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += sorted(root.glob(f"versions/{version}.*/bin/python"), key=_version_key)[::-1]
    for candidate in candidates:
        probe = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            env=clean_env(),
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    pytest.fail(
        f"Python {version} is needed to test the wheel on it, and there is none: looked for "
        f"python{version} on PATH and {root}/versions/{version}.*/bin/python "
        f"(install it, for example `pyenv install {version}`)",
        pytrace=False,
    )


def copy_source_tree(destination: Path) -> Path:
    """The files a build of the checkout sees, tracked or new but not ignored, as they are in
    the work tree: never ``build/``, whose leftovers setuptools would put in the wheel."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is not
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def run_logged(argv: list[str], *, log: Path, cwd: Path, env: dict[str, str], what: str) -> None:
    """Run a build or install step; fail with the end of its output (pip's noise left out)."""
    started = time.monotonic()
    with log.open("w") as sink:
        result = subprocess.run(
            argv, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT
        )
    took = time.monotonic() - started
    with log.open("a") as sink:
        sink.write(f"\n[{what}: exit code {result.returncode} after {took:.1f} s]\n")
    if result.returncode != 0:
        lines = [line for line in log.read_text().splitlines() if not PIP_NOISE.search(line)]
        tail = "\n".join(lines[-40:])
        raise AssertionError(f"{what} failed (exit code {result.returncode}; {log}):\n{tail}")


def pip_into(
    python: Path, *args: str, log: Path, cwd: Path, what: str, env: dict[str, str]
) -> None:
    """``pip <args>`` for the interpreter ``python`` (a virtualenv's, or a base one for
    ``pip wheel``), by the pip running the tests."""
    argv = [sys.executable, "-m", "pip", "--python", str(python), *args]
    run_logged(argv, log=log, cwd=cwd, env=env, what=what)


def new_venv(base_python: Path, where: Path) -> Path:
    """A fresh virtualenv without pip; its interpreter."""
    subprocess.run(
        [str(base_python), "-m", "venv", "--without-pip", str(where)], check=True, env=clean_env()
    )
    return where / "bin" / "python"


def install_wheel(version: str, wheel: Path, where: Path) -> Path:
    """A virtualenv on Python ``version`` with the wheel and its declared dependencies, pinned
    by constraints.txt; the virtualenv's folder."""
    where.mkdir(parents=True)
    python = new_venv(find_python(version), where / "venv")
    pip_into(
        python,
        "install",
        "--no-compile",
        "-c",
        str(REPO / "constraints.txt"),
        str(wheel),
        log=where / "pip-install.log",
        cwd=where,
        env=clean_env(),
        what=f"pip install {wheel.name} -c constraints.txt on Python {version}",
    )
    return where / "venv"


class Installs:
    """Installs running in the background, all started at once: pip mostly waits on the
    network, so two or three at a time take little longer than one. ``get`` waits for one."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="install")
        self._futures: dict[str, Future[Any]] = {}

    def start(self, name: str, job: Callable[[], Any]) -> None:
        if name not in self._futures:
            self._futures[name] = self._pool.submit(job)

    def get(self, name: str) -> Any:
        if name not in self._futures:
            raise KeyError(f"no install {name!r} was started (started: {sorted(self._futures)})")
        return self._futures[name].result(timeout=INSTALL_TIMEOUT)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class Wheel:
    path: Path
    source: Path  # the tree it was built from: a copy of the checkout
    seconds: float


@dataclass
class Service:
    """A quizrelay process started from a virtualenv."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError(
                    f"quizrelay did not stop within {timeout:.0f} s of signal {sig}:\n"
                    f"{self.log_text()[-3000:]}"
                ) from None
        return self.process.returncode


def start_service(
    argv: list[str], *, env: dict[str, str], cwd: Path, log: Path, port: int, timeout: float = 90
) -> Service:
    """Start ``argv`` (a quizrelay serving on ``port``); return once ``/healthz`` answers."""
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    service = Service(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{service.url}/healthz", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            raise AssertionError(
                f"{' '.join(argv)} did not answer /healthz (exit code {process.returncode}):\n"
                f"{service.log_text()[-3000:]}"
            )
        time.sleep(0.1)


def play_round(client: httpx.Client, url: str, pipeline: str) -> list[SseEvent]:
    """One round of ``pipeline``, its stream read to the end; it must end with a verdict."""
    events = stream_round(client, f"{url}/api/rounds", {"pipeline": pipeline})
    assert events, f"{pipeline}: an empty stream"
    assert events[-1].type == "RUN_FINISHED", (pipeline, events[-1].data)
    verdicts = custom(events, "verdict")
    assert len(verdicts) == 1 and isinstance(verdicts[0]["correct"], bool), (pipeline, verdicts)
    return events


def run_cli(
    venv: Path, args: Iterable[str], *, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``<venv>/bin/quizrelay <args>``, to completion."""
    return subprocess.run(
        [str(venv / "bin" / "quizrelay"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
