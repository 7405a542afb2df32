"""The ``quizrelay`` command line.

quizrelay serve [--host 127.0.0.1] [--port 8000] [--with-worker]
                                                   the API (embedded mode: and the rounds)
quizrelay worker [--concurrency N] [--port 8001]   plays rounds (distributed mode)
quizrelay migrate                                  bring the database to the newest schema
quizrelay config export DIR                        write the default agents_config/ to DIR
quizrelay model serve [--host] [--port]            only the embedded model server
quizrelay traces list | show ID                    the stored traces, in the terminal
quizrelay play [--pipeline agents|chat] [--human]  a game in the terminal
quizrelay compare --rounds N [--arm A]... [--baseline A] [--json F] [--csv F] [--report F]
                                                   arms on the same questions, with statistics
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from pydantic import ValidationError

from .errors import QuizrelayError

DEFAULT_URL_HINT = "http://127.0.0.1:8000"


def _serve(args: argparse.Namespace) -> int:
    from .settings import get_settings

    settings = get_settings()
    role = "both" if args.with_worker or settings.redis_url is None else "api"
    return _run_app(args, role=role, what="serving")


def _worker(args: argparse.Namespace) -> int:
    from .settings import get_settings

    if get_settings().redis_url is None:
        print(
            "quizrelay: a worker takes rounds from Redis; set QUIZRELAY_REDIS_URL (and "
            "QUIZRELAY_DATABASE_URL) — without them `quizrelay serve` plays its own rounds",
            file=sys.stderr,
        )
        return 2
    return _run_app(args, role="worker", what="worker (health and metrics)")


def _run_app(args: argparse.Namespace, *, role: str, what: str) -> int:
    import uvicorn

    from .app import create_app
    from .settings import get_settings

    _configure_logging(args.log_level)
    settings = get_settings()
    if settings.uses_embedded_model:
        from .embedded.process import require_embedded_model

        # Checked here, not first in the app's start-up, where uvicorn would print a traceback.
        require_embedded_model()
    app = create_app(settings, role=role, concurrency=getattr(args, "concurrency", None))  # type: ignore[arg-type]
    where = "the embedded model" if settings.uses_embedded_model else settings.llm_base_url
    mode = "distributed" if settings.redis_url else "embedded"
    plays = role != "api"
    print(
        f"quizrelay: {what} on http://{args.host}:{args.port} ({mode} mode"
        + (f", playing rounds with {settings.model_name} on {where})" if plays else ", API only)"),
        file=sys.stderr,
    )
    grace = int(settings.drain_grace) + 10 if plays else 5
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=grace,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from .settings import get_settings
    from .storage.migrate import upgrade

    before, after = upgrade(get_settings().database_url)
    print(
        f"quizrelay: database at revision {after}"
        + ("" if before == after else f" (was {before or 'empty'})")
    )
    return 0


def _config_export(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from .settings import default_agents_config_dir

    target = Path(args.directory)
    if target.exists() and any(target.iterdir()) and not args.force:
        print(f"quizrelay: {target} is not empty; pass --force to overwrite", file=sys.stderr)
        return 2
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(default_agents_config_dir().glob("*.yaml")):
        shutil.copy2(source, target / source.name)
        print(target / source.name)
    print(
        f"quizrelay: edit them and start with QUIZRELAY_AGENTS_CONFIG_DIR={target.resolve()}",
        file=sys.stderr,
    )
    return 0


def _configure_logging(level: str) -> None:
    logging.getLogger().setLevel(level.upper())
    # One line per model request is noise at INFO; failures are reported by the rounds.
    for noisy in ("httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _model_serve(args: argparse.Namespace) -> int:
    from .embedded.server import serve

    print(f"quizrelay: embedded model on http://{args.host}:{args.port}/v1", file=sys.stderr)
    serve(args.host, args.port, threads=args.threads, context=args.context)
    return 0


async def _trace_reader() -> tuple[Any, Any, Any]:
    from .agent_specs import load_agents_config
    from .settings import get_settings
    from .storage.db import Database
    from .storage.traces import TraceStore

    settings = get_settings()
    database = Database(settings.database_url)
    await database.migrate()
    return database, TraceStore(database), load_agents_config(settings.agents_config_dir).prices


def _traces_list(args: argparse.Namespace) -> int:
    return asyncio.run(_traces_list_async(args))


async def _traces_list_async(args: argparse.Namespace) -> int:
    from .storage.traces import TraceFilter
    from .tracing.terminal import render_list
    from .tracing.views import build_view, trace_summary

    database, store, prices = await _trace_reader()
    rows, total = await store.list_traces(
        TraceFilter(pipeline=args.pipeline, game_id=args.game), limit=args.limit, offset=0
    )
    spans = await store.spans_of([row.id for row in rows])
    await database.close()
    items = [
        {**trace_summary(row), "totals": build_view(row, spans[row.id], prices).total.as_dict()}
        for row in rows
    ]
    print(render_list(items))
    print(f"\n{len(items)} of {total} traces (newest first)")
    return 0


def _traces_show(args: argparse.Namespace) -> int:
    return asyncio.run(_traces_show_async(args))


async def _traces_show_async(args: argparse.Namespace) -> int:
    from .tracing.terminal import render_tree
    from .tracing.views import build_view

    database, store, prices = await _trace_reader()
    row = await store.get_trace(args.trace_id)
    spans = await store.spans(args.trace_id) if row is not None else []
    await database.close()
    if row is None:
        print(
            f"quizrelay: no trace {args.trace_id!r}; `quizrelay traces list` shows the ids",
            file=sys.stderr,
        )
        return 1
    print(render_tree(build_view(row, spans, prices).as_dict()))
    return 0


def _play(args: argparse.Namespace) -> int:
    from .client import Client, service_at
    from .terminal_play import play_game

    with service_at(args.url) as url:
        client = Client(url)
        try:
            play_game(
                client,
                pipeline=args.pipeline,
                human=args.human,
                rounds=args.rounds,
                category=args.category,
                difficulty=args.difficulty,
            )
        finally:
            client.close()
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .client import Client, service_at
    from .compare_report import parse_arm, render_report

    try:
        arms = [parse_arm(text) for text in args.arm] if args.arm else None
    except ValueError as error:
        print(f"quizrelay: {error}", file=sys.stderr)
        return 2
    body = {
        "rounds": args.rounds,
        "arms": arms,
        "baseline": args.baseline,
        "difficulty": args.difficulty,
        "seed": args.seed,
        "categories": args.categories.split(",") if args.categories else None,
    }
    outputs = {"json": args.json, "csv": args.csv, "html": args.report}
    with service_at(args.url) as url:
        client = Client(url)
        try:
            result = None
            for event in client.stream(
                "/api/comparisons", {k: v for k, v in body.items() if v is not None}
            ):
                if event["type"] == "CUSTOM" and event["name"] == "comparison_progress":
                    p = event["value"]
                    mark = {True: "right", False: "wrong", None: p.get("error_code") or "-"}[
                        p["correct"]
                    ]
                    print(
                        f"[{p['done']}/{p['of']}] question {p['index'] + 1} "
                        f"{p.get('arm', p['pipeline']):12} {p['status']:9} {mark}",
                        file=sys.stderr,
                        flush=True,
                    )
                elif event["type"] == "CUSTOM" and event["name"] == "comparison_summary":
                    result = event["value"]
                elif event["type"] == "RUN_ERROR":
                    print(f"quizrelay: the comparison failed: {event['message']}", file=sys.stderr)
                    return 1
            if result is None:
                print("quizrelay: the comparison ended without a result", file=sys.stderr)
                return 1
            # The files are the API's exports, so they hold exactly what the page offers.
            for format, path in outputs.items():
                if path:
                    exported = f"/api/comparisons/{result['id']}/export"
                    Path(path).write_bytes(client.download(exported, format=format))
        finally:
            client.close()
    print(render_report(result))
    print(f"\ncomparison {result['id']}: {url}/compare?id={result['id']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quizrelay", description="Multi-agent quiz rounds, streamed and traced."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the HTTP API (starts the embedded model if no server is configured)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help="distributed mode: also play rounds in this process (the embedded mode always does)",
    )
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser(
        "worker", help="play rounds and comparisons from the queue (distributed mode)"
    )
    worker.add_argument(
        "--concurrency", type=int, help="rounds at once (QUIZRELAY_WORKER_CONCURRENCY)"
    )
    worker.add_argument(
        "--host", default="127.0.0.1", help="where /healthz and /metrics are served"
    )
    worker.add_argument("--port", type=int, default=8001)
    worker.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(handler=_migrate)

    config = commands.add_parser("config", help="the agent definitions (agents_config/)")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    export = config_commands.add_parser("export", help="write the default definitions to DIR")
    export.add_argument("directory")
    export.add_argument("--force", action="store_true", help="overwrite files in DIR")
    export.set_defaults(handler=_config_export)

    model = commands.add_parser("model", help="the embedded model server")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    model_serve = model_commands.add_parser(
        "serve", help="serve SmolLM2-135M over an OpenAI-compatible API"
    )
    model_serve.add_argument("--host", default="127.0.0.1")
    model_serve.add_argument("--port", type=int, default=8080)
    model_serve.add_argument("--threads", type=int, default=2)
    model_serve.add_argument("--context", type=int, default=4096)
    model_serve.set_defaults(handler=_model_serve)

    traces = commands.add_parser("traces", help="read the stored traces (QUIZRELAY_DATABASE_URL)")
    trace_commands = traces.add_subparsers(dest="traces_command", required=True)
    listing = trace_commands.add_parser("list", help="traces, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--pipeline", choices=["agents", "chat"])
    listing.add_argument("--game", help="only this game's traces")
    listing.set_defaults(handler=_traces_list)
    show = trace_commands.add_parser("show", help="one trace as a tree with time bars")
    show.add_argument("trace_id")
    show.set_defaults(handler=_traces_show)

    play = commands.add_parser(
        "play", help="play a game in the terminal (starts a service if none runs)"
    )
    play.add_argument("--pipeline", choices=["agents", "chat"], default="agents")
    play.add_argument("--human", action="store_true", help="you answer instead of the Answerer")
    play.add_argument("--rounds", type=int, default=3)
    play.add_argument("--category")
    play.add_argument("--difficulty", choices=["easy", "medium", "hard"])
    play.add_argument(
        "--url", help=f"a running service (default: {DEFAULT_URL_HINT}, else start one)"
    )
    play.set_defaults(handler=_play)

    compare = commands.add_parser(
        "compare",
        help="play the same questions through several arms and print the statistics",
        description="Play the same questions (same seeds) through every arm, interleaved, and "
        "print per-arm intervals, paired tests against the baseline and accuracy by category.",
    )
    compare.add_argument("--rounds", type=int, required=True, help="questions (each arm plays all)")
    compare.add_argument(
        "--arm",
        action="append",
        metavar="[NAME=]PIPELINE[@MODEL][,KEY=VALUE...]",
        help="an arm, repeatable: e.g. --arm agents --arm fast=chat@gpt-4o-mini,temperature=0 "
        "(default: agents and chat on the configured model; GET /api/models names the models)",
    )
    compare.add_argument(
        "--baseline", help="the arm the others are paired with (default: the first)"
    )
    compare.add_argument("--categories", help="comma-separated category names")
    compare.add_argument("--difficulty", choices=["easy", "medium", "hard"])
    compare.add_argument("--seed", type=int)
    compare.add_argument("--json", help="write the full result as JSON to this file")
    compare.add_argument("--csv", help="write one row per round as CSV to this file")
    compare.add_argument("--report", help="write the self-contained HTML report to this file")
    compare.add_argument(
        "--url", help=f"a running service (default: {DEFAULT_URL_HINT}, else start one)"
    )
    compare.set_defaults(handler=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every start-up; quizrelay logs a migration itself when one happens.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The terminal commands talk to the service over HTTP: a line per request is noise there.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.handler(args))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        print(f"quizrelay: invalid settings: {problems}", file=sys.stderr)
        return 2
    except QuizrelayError as exc:
        print(f"quizrelay: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
