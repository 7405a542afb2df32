"""Browser tests of the web pages (the trace viewer; play, arena, compare): Debian's Chromium,
headless, driven by Playwright's sync API, against the app (with
:func:`quizrelay.web.include_web`) served on a real loopback socket.

Sites are module-scoped: a site with one scripted round of each pipeline, a site with
synthetic traces (500 spans; hostile content) written straight into the app's TraceStore, and
game sites whose scripted model answers every call (optionally paced like a real model).
Screenshots land in ``artifacts/screenshots/`` for humans to look at.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from quizrelay.app import create_app
from quizrelay.settings import Settings
from quizrelay.web import include_web
from tests.api.test_traces_api import QUESTION, agents_steps, chat_steps
from tests.conftest import UNUSED_URL
from tests.fakes.openai_steps import ToolCallStep, _auto_step, split_even
from tests.fakes.scripted_openai import (
    Faults,
    ScriptedOpenAIServer,
    auto_responder,
    paced_auto_responder,
)
from tests.fakes.scripted_openai import error as scripted_error
from tests.support.server import on_app, serving
from tests.support.sse import custom, stream_round

CHROMIUM = os.environ.get("QUIZRELAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}


def web_settings(database: Path, **overrides: Any) -> Settings:
    """The same test settings as ``tests/conftest.py``'s ``make_settings``, for module-scoped
    sites."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{database}",
        "llm_base_url": UNUSED_URL,
        "model": "scripted-model",
        "model_profile": "generic",
        "llm_max_retries": 0,
        "llm_timeout": 10.0,
        "round_timeout": 30.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@contextmanager
def web_app(settings: Settings, model_factory: Any = None) -> Iterator[tuple[str, Any]]:
    """``create_app`` + ``include_web``, served on loopback: yields (base_url, app)."""
    app = create_app(settings, model_factory=model_factory)
    include_web(app)
    with serving(app) as base_url:
        yield base_url, app


# The browser --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "Playwright is not installed: run `.venv/bin/pip install playwright` "
            "(its wheel bundles the driver; no `playwright install` is needed)",
            pytrace=False,
        )
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `apt-get install -y chromium` "
            "(the browser tests drive Debian's Chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """``open_page(viewport=DESKTOP)`` → a fresh page; JavaScript errors fail the test.
    ``page.console_errors`` may be cleared by a test that expects a failed request."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def factory(viewport: dict[str, int] = DESKTOP) -> Any:
        # bypass_csp: Playwright's wait_for_function evaluates strings, which the pages' CSP
        # forbids; it also makes the hostile-content test check the escaping alone.
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.js_errors, page.console_errors = [], []
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        pages.append(page)
        return page

    yield factory
    errors = [(p.js_errors, p.console_errors) for p in pages if p.js_errors or p.console_errors]
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


# Sites ----------------------------------------------------------------------------------------
@dataclass
class Site:
    base_url: str
    app: Any
    agents: dict[str, Any] = field(default_factory=dict)
    """The agents round's ``CUSTOM round`` event value (round_id, trace_id, …); empty on a
    site without rounds."""
    chat: dict[str, Any] = field(default_factory=dict)

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.base_url + path, params=params, timeout=30)
        response.raise_for_status()
        return response.json()


def paced(steps: list[Any]) -> list[Any]:
    """Scripted steps with a little latency, so the bars have visible lengths."""
    return [
        dataclasses.replace(step, faults=Faults(first_token_delay=0.04, token_interval=0.01))
        for step in steps
    ]


@pytest.fixture(scope="module")
def rounds_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One agents round (game ``game_a``) and one chat round (``game_b``) on the same question,
    played on the scripted OpenAI-compatible server."""
    database = tmp_path_factory.mktemp("web") / "quizrelay.db"
    with ScriptedOpenAIServer(model="scripted-model") as model_server:
        model_server.extend(paced(agents_steps()) + paced(chat_steps()))
        with (
            web_app(web_settings(database, llm_base_url=model_server.base_url)) as (base_url, app),
            httpx.Client(timeout=60) as http,
        ):
            agents = stream_round(
                http,
                f"{base_url}/api/rounds",
                {"pipeline": "agents", "game_id": "game_a", **QUESTION},
            )
            chat = stream_round(
                http,
                f"{base_url}/api/rounds",
                {"pipeline": "chat", "game_id": "game_b", **QUESTION},
            )
            yield Site(base_url, app, custom(agents, "round")[0], custom(chat, "round")[0])


HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
HOSTILE_NAME = '<b>bold</b><img src=x onerror="window.__pwned=3">'
HOSTILE_GAME = "<img src=x onerror=window.__pwned=4>"


def synthetic_trace(
    trace_id: str, roles: dict[str, int], *, hostile: bool = False, **trace: Any
) -> tuple[dict, list[dict]]:
    """A trace row and its span rows: per role an agent span with ``n`` children alternating
    generation and function spans, 10 ms apart; the very last span is a ``last_tool`` call."""
    origin = datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)

    def at(ms: float) -> datetime:
        return origin + timedelta(milliseconds=ms)

    spans: list[dict] = []
    clock = 0.0
    for role, count in roles.items():
        agent_id = f"span_{trace_id}_{role}"
        agent = {
            "id": agent_id,
            "trace_id": trace_id,
            "parent_id": None,
            "kind": "agent",
            "name": role,
            "started_at": at(clock),
            "data": {"type": "agent", "name": role, "tools": ["tool"], "handoffs": []},
            "error": None,
        }
        spans.append(agent)
        for i in range(count):
            kind = "generation" if i % 2 == 0 else "function"
            data: dict[str, Any]
            if kind == "generation":
                output = HOSTILE if hostile else f"reply {role} {i}"
                data = {
                    "type": "generation",
                    "model": "scripted-model",
                    "usage": {"input_tokens": 10 + i, "output_tokens": 2},
                    "input": [{"role": "user", "content": f"message {role} {i}"}],
                    "output": [{"role": "assistant", "content": output}],
                    "ttft_ms": 3.0,
                }
                name = "scripted-model"
            else:
                name = HOSTILE_NAME if hostile else f"tool_{i}"
                data = {
                    "type": "function",
                    "name": name,
                    "input": json.dumps({"i": i, "note": HOSTILE if hostile else "ok"}),
                    "output": HOSTILE if hostile else f"result {role} {i}",
                }
            error = (
                {"message": HOSTILE, "data": {"why": HOSTILE}}
                if hostile and kind == "function"
                else None
            )
            spans.append(
                {
                    "id": f"span_{trace_id}_{role}_{i:04d}",
                    "trace_id": trace_id,
                    "parent_id": agent_id,
                    "kind": kind,
                    "name": name,
                    "started_at": at(clock),
                    "ended_at": at(clock + 8),
                    "data": data,
                    "error": error,
                }
            )
            clock += 10
        agent["ended_at"] = at(clock)
    last = spans[-1]
    if not hostile:
        last["kind"], last["name"] = "function", "last_tool"
        last["data"] = {
            "type": "function",
            "name": "last_tool",
            "input": '{"final": true}',
            "output": "the very last result",
        }
    row = {
        "id": trace_id,
        "workflow_name": "quiz round",
        "group_id": trace.pop("game_id", "game_synthetic"),
        "round_id": None,
        "pipeline": "agents",
        "trace_metadata": trace.pop("metadata", {}),
        "started_at": origin,
        "ended_at": at(clock + 1),
        "status": "ok",
        **trace,
    }
    return row, spans


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A 500-span trace (``trace_big``) and a trace full of HTML and script (``trace_hostile``)."""
    database = tmp_path_factory.mktemp("web") / "quizrelay.db"
    with web_app(web_settings(database)) as (base_url, app):
        store = app.state.service.traces
        big, big_spans = synthetic_trace(
            "trace_big", {"Questioner": 166, "Answerer": 166, "Judge": 165}
        )
        hostile, hostile_spans = synthetic_trace(
            "trace_hostile",
            {"Questioner": 2, "Answerer": 2},
            hostile=True,
            game_id=HOSTILE_GAME,
            metadata={"category": HOSTILE, "model": HOSTILE_NAME},
            status="error",
            error={"code": "invalid_verdict", "message": HOSTILE},
        )
        assert len(big_spans) == 500
        on_app(app, store.write_batch([big, hostile], [], big_spans + hostile_spans))
        yield Site(base_url, app)


# The player's pages ---------------------------------------------------------------------------
PHONE_375 = {"width": 375, "height": 812}


class Pacer:
    """The scripted model's responder: :func:`auto_responder` (instant, "42" for any free text,
    schema-valid arguments for any named tool); model-like pacing while ``delays`` is set;
    ``answer`` replaces the free text; ``strings`` replaces every string in a tool call's
    arguments; ``failing`` answers every call with an HTTP 503."""

    def __init__(self) -> None:
        self.delays: tuple[float, float] | None = None
        self.answer: str | None = None
        self.strings: str | None = None
        self.failing = False

    def __call__(self, body: dict[str, Any]) -> Any:
        if self.failing:
            return scripted_error(503, "the scripted model is down")
        if self.answer is not None or self.strings is not None:
            text = "42" if self.answer is None else self.answer
            step = _auto_step(body, text, Faults(), arg_chunks=3)
            if self.strings is not None and isinstance(step, ToolCallStep):
                step = with_strings(step, self.strings)
            return step
        if self.delays is None:
            return auto_responder(body)
        return paced_auto_responder(*self.delays)(body)


def with_strings(step: ToolCallStep, text: str) -> ToolCallStep:
    """``step`` with every string argument set to ``text`` (its JSON torn into as many parts)."""
    arguments = json.loads(step.arguments or "{}")
    raw = json.dumps({k: text if isinstance(v, str) else v for k, v in arguments.items()})
    chunks = split_even(raw, max(len(step.argument_chunks), 1))
    return dataclasses.replace(step, arguments=raw, argument_chunks=tuple(chunks))


@dataclass
class GameSite(Site):
    pacer: Pacer = field(kw_only=True)
    token: str | None = None

    def api(self, path: str, **params: Any) -> Any:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        response = httpx.get(self.base_url + path, params=params, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()


@contextmanager
def game_site_at(database: Path, **settings: Any) -> Iterator[GameSite]:
    """The app on the scripted server with the ``llama-cpp`` profile (every model call names its
    tool, so the auto responder answers every call): 5 model calls per agents round, 4 per chat."""
    pacer = Pacer()
    with ScriptedOpenAIServer(model="scripted-model", responder=pacer) as model_server:
        values = {
            "llm_base_url": model_server.base_url,
            "model_profile": "llama-cpp",
            "rate_limit_rounds_per_minute": 0,
            **settings,
        }
        with web_app(web_settings(database, **values)) as (base_url, app):
            yield GameSite(base_url, app, pacer=pacer)


@pytest.fixture(scope="module")
def game_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GameSite]:
    with game_site_at(tmp_path_factory.mktemp("web") / "quizrelay.db") as site:
        yield site


def group(pattern: str, text: str) -> str:
    """The first group of ``pattern``'s first match in ``text`` (the test fails without one)."""
    match = re.search(pattern, text)
    assert match is not None, (pattern, text)
    return match.group(1)


def arithmetic_answer(question: str) -> str:
    """The answer to an easy "arithmetic" question ("Calculate 3 + -4."), as tests/test_cli.py
    does."""
    expression = group(r"Calculate (.+?)\.?$", question.strip())
    assert re.fullmatch(r"[-+*/() 0-9]+", expression), expression
    return str(int(eval(expression)))


def wait_for_options(page: Any, select: str = "select[name=category]") -> None:
    """Wait until the categories from the API fill the page's select."""
    page.wait_for_function(f"document.querySelector({select!r}).options.length > 1")


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
