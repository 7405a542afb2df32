"""The web pages' shared layout, and the trace viewer's pages (the player's pages, /play, /arena
and /compare, are in :mod:`quizrelay.web.game_pages`).

Each page is a small HTML shell (a shared layout with the top nav) that loads the shared
``static/app.css`` and ``static/common.js`` plus one page script; the scripts fetch the JSON API
and render everything client-side. No templates, no build step, no third-party assets (the
service runs offline). Parameters reach the scripts through escaped ``data-*`` attributes.

Other pages reuse :func:`render_page` and add themselves to :data:`NAV`.
"""

from __future__ import annotations

import hashlib
from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

NAV: list[tuple[str, str]] = [
    ("Play", "/play"),
    ("Arena", "/arena"),
    ("Compare", "/compare"),
    ("Traces", "/traces"),
]
"""(label, path) of the top navigation, in order."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)
"""Defence in depth: the scripts escape all trace text, and no inline or foreign script may run anyway."""

router = APIRouter(include_in_schema=False)


def _versions() -> dict[str, str]:
    """A short content hash per static file, appended as ``?v=`` so browsers never run stale code."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


_VERSIONS = _versions()


def static_url(name: str) -> str:
    return f"/static/{name}?v={_VERSIONS.get(name, '0')}"


def render_page(
    title: str,
    body: str,
    *,
    scripts: list[str] = (),  # type: ignore[assignment]
    active: str | None = None,
    data: dict[str, str] | None = None,
    styles: list[str] = (),  # type: ignore[assignment]
) -> HTMLResponse:
    """The shared layout: head, top nav (``active`` is the current nav path), ``body`` (trusted
    HTML written here, never trace text), then ``common.js`` and the page's ``scripts``.
    ``data`` becomes escaped ``data-*`` attributes on ``<main>`` for the scripts to read."""
    current = ' aria-current="page"'
    links = "".join(
        f'<a href="{escape(path)}"{current if path == active else ""}>{escape(label)}</a>'
        for label, path in NAV
    )
    attributes = "".join(
        f' data-{escape(key)}="{escape(value)}"' for key, value in (data or {}).items()
    )
    css = "".join(
        f'<link rel="stylesheet" href="{static_url(name)}">' for name in ["app.css", *styles]
    )
    js = "".join(
        f'<script src="{static_url(name)}" defer></script>' for name in ["common.js", *scripts]
    )
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · quizrelay</title>
<link rel="icon" href="data:,">
{css}{js}
</head>
<body>
<header class="topbar">
  <a class="brand" href="/">quizrelay</a>
  <nav class="topnav" aria-label="Main">{links}</nav>
  <a class="apidocs" href="/docs">API</a>
</header>
<main id="main"{attributes}>
{body}
</main>
</body>
</html>"""
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


LIST_BODY = """
<div class="page-head"><h1>Traces</h1><span id="count" class="muted" aria-live="polite"></span></div>
<form id="filters" class="filters" role="search">
  <label>Pipeline <select name="pipeline"><option value="">any</option><option>agents</option><option>chat</option></select></label>
  <label>Status <select name="status"><option value="">any</option><option>ok</option><option>error</option><option>running</option></select></label>
  <label>Game <input name="game_id" maxlength="64" placeholder="game id" size="18"></label>
  <label>Since <input name="since" type="datetime-local" step="1"></label>
  <label>Until <input name="until" type="datetime-local" step="1"></label>
  <label>Per page <select name="limit"><option>20</option><option selected>50</option><option>100</option><option>200</option></select></label>
  <button type="submit">Apply</button> <button type="button" id="reset" class="secondary">Reset</button>
</form>
<div id="compare-bar" class="compare-bar">
  <span>Compare: pick <b class="tag-a">A</b> and <b class="tag-b">B</b> in the table</span>
  <span id="picked" class="muted"></span>
  <a id="compare-go" class="button disabled" aria-disabled="true" href="#">Compare A ↔ B</a>
</div>
<div id="status" class="notice" role="status" hidden></div>
<div class="table-wrap"><table id="traces" class="grid">
  <thead><tr><th title="side A">A</th><th title="side B">B</th><th>Started</th><th>Pipeline</th><th>Status</th>
  <th>Category</th><th>Game</th><th>Round</th><th class="num">Duration</th><th class="num">Model calls</th>
  <th class="num">Tokens in / out</th><th class="num">Cost</th><th class="num">Tools</th><th class="num">Handoffs</th>
  <th class="num">Spans</th></tr></thead>
  <tbody></tbody>
</table></div>
<nav id="pager" class="pager" aria-label="Pages"></nav>
"""

TRACE_BODY = """
<div id="status" class="notice" role="status">Loading trace…</div>
<section id="trace-head" class="trace-head" hidden></section>
<div class="wf-layout">
  <section class="wf-panel" aria-label="Spans">
    <div class="wf-tools">
      <input id="span-filter" type="search" placeholder="Filter spans (name, kind, role)" aria-label="Filter spans">
      <span class="legend" id="legend"></span>
    </div>
    <div id="waterfall" class="waterfall"></div>
  </section>
  <aside id="details" class="details" aria-label="Span details" aria-live="polite" tabindex="-1">
    <p class="muted">Select a span (click, or arrow keys and Enter) to see its messages, arguments, tokens and timing.</p>
  </aside>
</div>
"""

COMPARE_BODY = """
<div id="status" class="notice" role="status">Loading both traces…</div>
<section id="cmp-head" class="cmp-head" hidden></section>
<section id="cmp-diff" class="cmp-diff" hidden></section>
<section class="wf-panel" aria-label="Spans aligned by role">
  <div class="wf-tools"><span class="legend" id="legend"></span>
    <span class="muted">Rows pair the same step on both sides; click a span for its details.</span></div>
  <div id="cmp-waterfall" class="waterfall cmp"></div>
</section>
<aside id="details" class="details drawer" aria-label="Span details" tabindex="-1" hidden></aside>
"""


@router.get("/traces", response_class=HTMLResponse)
def traces_page() -> HTMLResponse:
    return render_page("Traces", LIST_BODY, scripts=["traces.js"], active="/traces")


@router.get("/traces/compare", response_class=HTMLResponse)
def compare_page(a: str = "", b: str = "") -> HTMLResponse:
    return render_page(
        "Compare traces",
        COMPARE_BODY,
        scripts=["waterfall.js", "compare.js"],
        active="/traces",
        data={"a": a[:64], "b": b[:64]},
    )


@router.get("/traces/{trace_id}", response_class=HTMLResponse)
def trace_page(trace_id: str) -> HTMLResponse:
    return render_page(
        "Trace",
        TRACE_BODY,
        scripts=["waterfall.js", "trace.js"],
        active="/traces",
        data={"trace-id": trace_id[:64]},
    )


def include_web(app: FastAPI) -> None:
    """Add the pages and serve ``/static`` (call once, from the app factory)."""
    from .game_pages import router as game_router  # it imports render_page from here

    app.include_router(game_router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
