"""The image, checked without a Docker engine (none runs on the development machines nor in CI).

docker-compose.yml must be valid for Docker's own tool, and the Dockerfile's own steps, run in
virtualenvs as its build would run them (dockerfile.py), must give a quizrelay that starts with
the image's CMD, ENV and WORKDIR, answers the compose health check, plays a round, accepts every
command line the compose file gives it, and stops cleanly on SIGTERM (``docker stop``). What only
a real build shows (system packages, the user, BuildKit itself) is not checked here.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakes.scripted_openai import ScriptedOpenAIServer
from tests.packaging import dockerfile
from tests.packaging.dockerfile import Built
from tests.packaging.support import REPO, Installs, clean_env, free_port, play_round, start_service

pytestmark = pytest.mark.packaging

STAGES = dockerfile.parse((REPO / "Dockerfile").read_text())
IMAGE = STAGES[-1]


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail(
            "the docker client is needed to validate docker-compose.yml (`docker compose "
            "config`, no engine needed) and is not on PATH: install Docker's command line "
            "(on Debian: apt-get install docker.io docker-compose)",
            pytrace=False,
        )
    plugin = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if plugin.returncode == 0:
        return [docker, "compose"]
    # Debian's docker.io has no compose plugin; its docker-compose package is the standalone
    # tool (1.29), which reads the same Compose Specification.
    standalone = shutil.which("docker-compose")
    if standalone is None:
        pytest.fail(
            f"`docker compose` is not available ({plugin.stderr.strip()}) and there is no "
            "standalone docker-compose: install Docker's compose plugin, or on Debian "
            "apt-get install docker-compose",
            pytrace=False,
        )
    return [standalone]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """``docker compose config``: the compose file resolved as Docker reads it."""
    command = _compose_command()
    result = subprocess.run(
        [*command, "-f", "docker-compose.yml", "config"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{' '.join(command)} config failed:\n{result.stderr}"
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def _built_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if "build" in s}


def test_docker_compose_accepts_the_compose_file_and_builds_this_dockerfile(
    compose: dict[str, Any],
) -> None:
    built = _built_services(compose)
    assert built, "no service of docker-compose.yml builds the image"
    for name, service in built.items():
        build = service["build"]
        context = build if isinstance(build, str) else build["context"]
        assert Path(context).resolve() == REPO, (name, context)
        assert isinstance(build, str) or build.get("dockerfile", "Dockerfile") == "Dockerfile"


def test_the_image_installs_the_built_wheels_not_the_checkout() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert len(STAGES) >= 2, "one stage builds the wheels, the image installs them"
    versions = {stage.python_version for stage in STAGES}
    assert len(versions) == 1, f"the wheels are built for another Python than the image's: {text}"
    for instruction in IMAGE.all("COPY"):
        assert "--from=" in instruction.value, f"the image copies from the checkout: {instruction}"
    runs = " ".join(i.value for i in IMAGE.all("RUN"))
    assert "pip install" in runs and "--no-index" in runs, runs
    assert not re.search(r"\b(service|agents_config)\b", runs), runs
    for instruction in (i for stage in STAGES for i in stage.all("ENV")):
        assert "QUIZRELAY_AGENTS_CONFIG_DIR" not in dockerfile.env_of(instruction), instruction
    cmd = dockerfile.cmd_of(IMAGE)
    assert cmd[:2] == ["quizrelay", "serve"], cmd
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0", cmd
    exposed = [i.value for i in IMAGE.all("EXPOSE")]
    assert exposed == [cmd[cmd.index("--port") + 1]], (exposed, cmd)


@pytest.fixture
def image(installs: Installs) -> Built:
    """The Dockerfile's stages, run (installed with the other virtualenvs, in parallel)."""
    built: Built = installs.get("image")
    return built


def _in_image(built: Built, value: str) -> str:
    """``value`` with the image's volume and working folders moved to where they stand here."""
    for folder in {*built.volumes, built.workdir} - {"/"}:
        pattern = rf"(?:(?<=[/=:])|^){re.escape(folder)}(?=/|$)"
        value = re.sub(pattern, str(built.path(folder)), value)
    return value


def test_the_image_steps_give_a_quizrelay_that_serves_and_stops_on_sigterm(
    image: Built,
    compose: dict[str, Any],
    model_server: ScriptedOpenAIServer,
    tmp_path: Path,
) -> None:
    not_run = [line for line in image.skipped if "pip" in line]
    assert not_run == [], f"pip commands the emulation did not run: {not_run}"
    bin_dir = image.venv / "bin"
    env = clean_env(**{key: _in_image(image, value) for key, value in image.env.items()})
    env.update(
        PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}",
        # What docker-compose.yml adds: a model server (here, a scripted one).
        QUIZRELAY_LLM_BASE_URL=model_server.base_url,
        QUIZRELAY_LLM_API_KEY="ollama",
        QUIZRELAY_MODEL="scripted-model",
        QUIZRELAY_MODEL_PROFILE="llama-cpp",  # the scripted server's quirks, not Ollama's
    )
    cmd = list(image.cmd)
    program = shutil.which(cmd[0], path=env["PATH"])
    assert program is not None and Path(program).parent == bin_dir, (cmd[0], program)
    image_port = cmd[cmd.index("--port") + 1]
    port = free_port()
    cmd[cmd.index("--port") + 1] = str(port)
    workdir = image.path(image.workdir)
    service = start_service(
        [program, *cmd[1:]], env=env, cwd=workdir, log=tmp_path / "image.log", port=port
    )
    try:
        with httpx.Client(timeout=60) as client:
            play_round(client, service.url, "chat")
        # The image's ENV put the database in its volume.
        assert any(
            path.suffix == ".db"
            for volume in image.volumes
            for path in image.path(volume).iterdir()
        )
        for name, spec in _built_services(compose).items():
            test = (spec.get("healthcheck") or {}).get("test") or []
            if test[:2] != ["CMD", "python"] or f":{image_port}/" not in " ".join(test):
                continue
            probe = [
                str(bin_dir / "python"),
                *(a.replace(f":{image_port}/", f":{port}/") for a in test[2:]),
            ]
            checked = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
            assert checked.returncode == 0, (name, test, checked.stderr)
    finally:
        code = service.stop(signal.SIGTERM, timeout=10)  # docker stop's default grace
    log = service.log_text()
    # uvicorn shuts down gracefully, then re-raises SIGTERM: the container exits 143 (-15 here).
    assert code in (0, -signal.SIGTERM), (code, log[-3000:])
    assert "Application shutdown complete" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def test_every_command_of_the_compose_file_is_one_the_image_accepts(
    image: Built, compose: dict[str, Any]
) -> None:
    parse = (
        "import json, sys; from quizrelay.cli import build_parser; "
        "build_parser().parse_args(json.loads(sys.argv[1]))"
    )
    commands = {
        name: spec.get("command") or image.cmd for name, spec in _built_services(compose).items()
    }
    for name, command in commands.items():
        assert isinstance(command, list) and command[0] == "quizrelay", (name, command)
        result = subprocess.run(
            [str(image.venv / "bin" / "python"), "-c", parse, json.dumps(command[1:])],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, (name, command, result.stderr)
