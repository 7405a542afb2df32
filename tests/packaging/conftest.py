"""Session fixtures of the packaging tests: one wheel, the virtualenvs (installed in parallel,
and only those the selected tests use), the image's steps, and a scripted model server."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from functools import partial

import pytest

from tests.fakes.scripted_openai import ScriptedOpenAIServer, auto_responder
from tests.packaging import dockerfile
from tests.packaging.support import (
    REPO,
    Installs,
    Wheel,
    clean_env,
    copy_source_tree,
    find_python,
    install_wheel,
    run_logged,
)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    """``pip wheel --no-deps . -w DIR``, once, in a copy of the checkout (see
    :func:`copy_source_tree`: a build in place would also pack what ``build/`` holds)."""
    base = tmp_path_factory.mktemp("wheel")
    started = time.monotonic()
    source = copy_source_tree(base / "source")
    out = base / "dist"
    run_logged(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", ".", "-w", str(out)],
        log=base / "pip-wheel.log",
        cwd=source,
        env=clean_env(),
        what="pip wheel --no-deps .",
    )
    built = sorted(out.glob("quizrelay-*.whl"))
    assert len(built) == 1, f"pip wheel made {built}"
    return Wheel(built[0], source, time.monotonic() - started)


def _wanted(session: pytest.Session) -> tuple[list[str], bool]:
    """The Python versions whose virtualenvs the selected tests use, and whether they use the
    image's virtualenv: only those are installed."""
    versions: set[str] = set()
    image = False
    for item in session.items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        if "venv" in names and callspec is not None:
            versions.add(callspec.params["version"])
        image = image or "image" in names
    return sorted(versions), image


@pytest.fixture(scope="session")
def installs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installs]:
    """Every install the selected tests need, started together in the background."""
    versions, image = _wanted(request.session)
    base = tmp_path_factory.mktemp("installs")
    jobs = Installs()
    if versions:
        built: Wheel = request.getfixturevalue("wheel")
        for version in versions:
            job = partial(install_wheel, version, built.path, base / version)
            jobs.start(f"python{version}", job)
    if image:
        stages = dockerfile.parse((REPO / "Dockerfile").read_text())
        (base / "image-logs").mkdir()
        image_job = partial(
            dockerfile.build,
            stages,
            context=REPO,
            root=base / "image",
            logs=base / "image-logs",
            python_for=find_python,
        )
        jobs.start("image", image_job)
    try:
        yield jobs
    finally:
        jobs.close()


@pytest.fixture(scope="session")
def model_server() -> Iterator[ScriptedOpenAIServer]:
    """An OpenAI-compatible model server that answers every request sensibly."""
    with ScriptedOpenAIServer(model="scripted-model") as server:
        server.responder = auto_responder
        yield server
