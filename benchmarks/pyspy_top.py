"""Where a py-spy profile's time goes: top frames by own and by total samples, and by package.

    .venv/bin/python benchmarks/pyspy_top.py PROFILE.txt [--top 25]

PROFILE.txt is ``py-spy record --format raw`` output (collapsed stacks: ``frame;frame;... count``,
each frame ``function (path:line)``); ``benchmarks/distributed.py --py-spy PATH`` writes one of
a worker under load. py-spy leaves idle threads out unless run with ``--idle``, so the samples are
time spent running (or waiting for the GIL).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME_RE = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")
PACKAGES = (  # the first of these in a frame's path names its package
    ("quizrelay", ("/service/", "/quizrelay/")),
    ("agents SDK", ("/agents/",)),
    ("openai", ("/openai/",)),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("httpx/httpcore", ("/httpx/", "/httpcore/", "/h11/", "/anyio/")),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("psycopg", ("/psycopg/", "/psycopg_pool/")),
    ("redis", ("/redis/",)),
    ("saq", ("/saq/",)),
    ("opentelemetry", ("/opentelemetry/",)),
    ("uvicorn/starlette", ("/uvicorn/", "/starlette/", "/fastapi/")),
    ("asyncio/uvloop", ("/asyncio/", "/uvloop/")),
    ("json/stdlib", ("/json/", "/lib/python3")),
)


def frame_key(frame: str) -> tuple[str, str]:
    """(``function (file)``, package) of one collapsed-stack frame."""
    match = FRAME_RE.match(frame.strip())
    function, path = (match["function"], match["path"]) if match else (frame, "")
    slashed = "/" + path
    package = next((name for name, signs in PACKAGES if any(s in slashed for s in signs)), "other")
    short = "/".join(path.split("/")[-2:]) if path else "?"
    return f"{function} ({short})", package


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarize(path: Path, top: int = 25) -> str:
    stacks = load(path)
    total = sum(count for _, count in stacks) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    under_package: Counter[str] = Counter()  # samples with any frame of the package
    db_callers: Counter[str] = Counter()  # the quizrelay frame that called into the database
    for frames, count in stacks:
        if frames and frames[0].startswith("thread ("):  # py-spy --threads: the thread first
            by_thread[frames[0]] += count
            frames = frames[1:]
        keys = [frame_key(f) for f in frames if f.strip()]
        if not keys:
            continue
        own[keys[-1][0]] += count
        by_package[keys[-1][1]] += count
        for package in {package for _, package in keys}:
            under_package[package] += count
        db = next((i for i, (_, p) in enumerate(keys) if p in ("sqlalchemy", "psycopg")), None)
        if db is not None:
            ours = [name for name, p in keys[:db] if p == "quizrelay"]
            db_callers[ours[-1] if ours else "?"] += count
        for name in {key for key, _ in keys}:
            inclusive[name] += count
    lines = [f"{total} samples"]
    if by_thread:
        lines += ["", "by thread:"]
        lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in by_thread.most_common(8)]
    lines += ["", "own time by package (the innermost frame's):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in by_package.most_common()]
    lines += ["", "time under a package's frames (the package and what it calls):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in under_package.most_common()]
    lines += ["", "database time (under sqlalchemy / psycopg) by the quizrelay frame calling it:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in db_callers.most_common(10)]
    lines += ["", f"top {top} frames by own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", f"top {top} frames by total time (the frame and what it calls; frames in more"
              " than half the samples, the entry point and the event loop, left out):"]  # fmt: skip
    below = [(name, n) for name, n in inclusive.most_common() if n <= total / 2]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in below[:top]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarize(args.profile, args.top))


if __name__ == "__main__":
    main()
