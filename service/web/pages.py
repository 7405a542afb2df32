"""The web pages' shared layout, and the trace viewer's pages (the player's pages, /play, /arena
and /compare, are in :mod:`quizrelay.web.game_pages`).

Each page is a small HTML shell (a shared layout with the top nav) that loads the shared
``static/app.css`` and ``static/common.js`` plus one page script; the scripts fetch the JSON API
and render everything client-side. Each page's body is a plain HTML file in ``templates/``
(no template engine, no build step, no third-party assets: the service runs offline).
Parameters reach the scripts through escaped ``data-*`` attributes.

Other pages reuse :func:`render_page` and add themselves to :data:`NAV`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from html import escape
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"

NAV: list[tuple[str, str]] = [
    ("Play", "/play"),
    ("Arena", "/arena"),
    ("Compare", "/compare"),
    ("Traces", "/traces"),
]
"""(label, path) of the top navigation, in order."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; object-src 'none'"
)
"""Defence in depth: the scripts escape all trace text, and no inline or foreign script may run
anyway."""

router = APIRouter(include_in_schema=False)


def template(name: str) -> str:
    """A page body (trusted HTML) from ``templates/``; read once, when the module is imported."""
    return (TEMPLATES_DIR / name).read_text(encoding="utf-8")


def _versions() -> dict[str, str]:
    """A short content hash per static file, appended as ``?v=``: browsers never run stale code."""
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
    scripts: Sequence[str] = (),
    active: str | None = None,
    data: dict[str, str] | None = None,
    styles: Sequence[str] = (),
) -> HTMLResponse:
    """The shared layout: head, top nav (``active`` is the current nav path), ``body`` (trusted
    HTML from ``templates/``, never trace text), then ``common.js`` and the page's ``scripts``.
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


LIST_BODY = template("traces.html")
TRACE_BODY = template("trace.html")
COMPARE_BODY = template("traces_compare.html")


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
