"""A Dockerfile read, and its build steps run without Docker as far as that can go.

No Docker engine runs on the development machines nor in CI, so the image is never built here.
What can be checked without one is checked by running the Dockerfile's own lines, each stage in
a folder that stands for its file system: COPY (from the checkout, the build context), WORKDIR,
ENV, RUN's bind mounts (a link to the other stage's folder, for the length of the RUN) and its
pip commands (on a fresh virtualenv of the FROM image's Python, that stage's own Python). What
cannot be run is listed as skipped: system packages (apt-get), users (useradd, USER), and any
other shell command. The last stage's CMD, ENV and WORKDIR are handed back for the test to run.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.packaging.support import clean_env, new_venv, pip_into


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    @property
    def python_version(self) -> str:
        """``3.13`` for ``python:3.13-slim`` (the official Python images only)."""
        match = re.fullmatch(r"python:(\d+\.\d+)[\w.-]*", self.image)
        if match is None:
            raise AssertionError(f"FROM {self.image}: not an official python:X.Y image")
        return match.group(1)


def parse(text: str) -> list[Stage]:
    """The stages of a Dockerfile: continuation lines joined, comments dropped."""
    logical: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # also inside a continuation, as Docker reads it
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        logical.append((start, pending + stripped))
        pending = ""
    if pending:
        logical.append((start, pending.strip()))
    stages: list[Stage] = []
    for number, line in logical:
        word, _, rest = line.partition(" ")
        keyword, value = word.upper(), rest.strip()
        if keyword == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            named = len(words) == 3 and words[1].upper() == "AS"
            stages.append(Stage(words[0], words[2] if named else None))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, value, number))
        elif keyword != "ARG":
            raise AssertionError(f"line {number}: {keyword} before the first FROM")
    return stages


def env_of(instruction: Instruction) -> dict[str, str]:
    words = shlex.split(instruction.value)
    if all("=" in w for w in words):
        return dict(w.split("=", 1) for w in words)
    return {words[0]: instruction.value.split(None, 1)[1]}  # the old form: ENV KEY value


def cmd_of(stage: Stage) -> list[str]:
    """The last CMD, which must be in exec form (a JSON list: no shell between)."""
    cmds = stage.all("CMD")
    assert cmds, "the image has no CMD"
    argv = json.loads(cmds[-1].value)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), cmds[-1]
    return argv


def _flags(value: str) -> tuple[list[str], str]:
    flags = []
    while value.startswith("--"):
        flag, _, value = value.partition(" ")
        flags.append(flag)
        value = value.lstrip()
    return flags, value


def _pip_args(argv: list[str]) -> list[str] | None:
    """The arguments after ``pip`` in a shell command that runs pip, else None."""
    if argv and argv[0] in ("pip", "pip3"):
        return argv[1:]
    if len(argv) >= 3 and argv[0].startswith("python") and argv[1:3] == ["-m", "pip"]:
        return argv[3:]
    return None


@dataclass
class Built:
    """The last stage as run: its Python (a virtualenv), its ENV, WORKDIR and CMD, and where
    its file system stands."""

    venv: Path
    root: Path
    env: dict[str, str]
    workdir: str
    cmd: list[str]
    exposed: list[str]
    volumes: list[str]
    skipped: list[str]

    def path(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")


def build(
    stages: list[Stage],
    *,
    context: Path,
    root: Path,
    logs: Path,
    python_for: Callable[[str], Path],
) -> Built:
    """Run every stage in order (``root/<n>-<name>/`` for each one's file system; pip's output
    in ``logs``)."""
    roots: dict[str, Path] = {}
    skipped: list[str] = []
    result: Built | None = None
    for index, stage in enumerate(stages):
        name = stage.name or str(index)
        stage_root = root / f"{index}-{name}"
        roots[name] = roots[str(index)] = stage_root
        venv_python = new_venv(python_for(stage.python_version), root / f"{index}-{name}-venv")

        def at(image_path: str, base: Path = stage_root) -> Path:
            return base / image_path.lstrip("/")

        env: dict[str, str] = {}
        workdir = "/"
        at(workdir).mkdir(parents=True, exist_ok=True)
        for instruction in stage.instructions:
            keyword, value = instruction.keyword, instruction.value
            if keyword == "WORKDIR":
                workdir = posixpath.normpath(posixpath.join(workdir, value))
                at(workdir).mkdir(parents=True, exist_ok=True)
            elif keyword == "ENV":
                env.update(env_of(instruction))
            elif keyword == "COPY":
                _copy(instruction, workdir, at, context=context, roots=roots)
            elif keyword == "RUN":
                flags, command = _flags(value)
                links = [_mount(flag, at, context=context, roots=roots) for flag in flags]
                try:
                    for part, segment in enumerate(command.split("&&")):
                        argv = shlex.split(segment)
                        args = _pip_args(argv)
                        if args is None:
                            skipped.append(f"line {instruction.line}: {segment.strip()}")
                            continue
                        _pip(
                            venv_python,
                            args,
                            cwd=at(workdir),
                            env=env,
                            at=at,
                            log=logs / f"line-{instruction.line}.{part}-pip.log",
                            line=instruction,
                        )
                finally:
                    for link in links:
                        link.unlink()
            elif keyword in ("USER", "EXPOSE", "VOLUME", "CMD", "ENTRYPOINT", "LABEL", "ARG"):
                if keyword == "USER":
                    skipped.append(f"line {instruction.line}: USER {value}")
            else:
                raise AssertionError(f"line {instruction.line}: {keyword} is not emulated")
        result = Built(
            venv=venv_python.parent.parent,
            root=stage_root,
            env=env,
            workdir=workdir,
            cmd=cmd_of(stage) if stage.all("CMD") else [],
            exposed=[w for i in stage.all("EXPOSE") for w in i.value.split()],
            volumes=[w for i in stage.all("VOLUME") for w in _words(i.value)],
            skipped=skipped,
        )
    assert result is not None, "a Dockerfile without FROM"
    return result


def _words(value: str) -> list[str]:
    return json.loads(value) if value.startswith("[") else value.split()


def _copy(
    instruction: Instruction,
    workdir: str,
    at: Callable[..., Path],
    *,
    context: Path,
    roots: dict[str, Path],
) -> None:
    words = shlex.split(instruction.value)
    flags = [w for w in words if w.startswith("--")]
    *sources, dest = [w for w in words if not w.startswith("--")]
    origin = context
    for flag in flags:
        if flag.startswith("--from="):
            origin = roots[flag.split("=", 1)[1]]
    target = at(posixpath.normpath(posixpath.join(workdir, dest)))
    into = dest.endswith("/") or len(sources) > 1 or target.is_dir()
    for source in sources:
        path = origin / source.lstrip("/")
        if not path.exists():
            raise AssertionError(f"line {instruction.line}: COPY {source}: no such file")
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            destination = target / path.name if into else target
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def _mount(flag: str, at: Callable[..., Path], *, context: Path, roots: dict[str, Path]) -> Path:
    """A ``--mount=type=bind,...`` as a link in the stage's folder; the link."""
    if not flag.startswith("--mount="):
        raise AssertionError(f"RUN {flag}: not emulated")
    options = dict(part.split("=", 1) for part in flag[len("--mount=") :].split(","))
    if options.get("type", "bind") != "bind":
        raise AssertionError(f"RUN {flag}: only bind mounts are emulated")
    origin = roots[options["from"]] if "from" in options else context
    source = origin / options.get("source", options.get("src", "/")).lstrip("/")
    link = at(options.get("target") or options["dst"])
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(source, target_is_directory=source.is_dir())
    return link


def _pip(
    python: Path,
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    at: Callable[..., Path],
    log: Path,
    line: Instruction,
) -> None:
    """One pip command of a RUN line, its absolute paths moved into the stage's folder.

    ``--no-cache-dir`` is dropped (the image keeps no cache; here the cache is what keeps the
    test fast) and ``--no-compile`` added to installs (see support.py): neither changes what
    is installed."""
    mapped = []
    for arg in args:
        if arg == "--no-cache-dir":
            continue
        if arg.startswith("/"):
            arg = str(at(arg))
        elif arg.startswith("--") and "=/" in arg:
            option, _, path = arg.partition("=")
            arg = f"{option}={at(path)}"
        mapped.append(arg)
    if mapped and mapped[0] == "install":
        mapped.insert(1, "--no-compile")
    pip_into(
        python,
        *mapped,
        log=log,
        cwd=cwd,
        env=clean_env(**env),
        what=f"Dockerfile line {line.line}: pip {' '.join(args)}",
    )
