"""The player's pages: play a game (``/play``), both pipelines on one question (``/arena``) and
comparisons over many questions (``/compare``). ``/`` goes to ``/play``.

Same rules as the trace pages (:mod:`quizrelay.web.pages`): static HTML shells in ``templates/``,
all API data rendered client-side by the page scripts (``live.js`` draws a streaming round), no
inline script, no third-party assets.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from .pages import render_page, template

router = APIRouter(include_in_schema=False)

# The difficulty picker is shared by the three forms: ``{difficulty}`` in each page's template.
DIFFICULTY = template("difficulty.html").rstrip("\n")
PLAY_BODY = template("play.html").replace("{difficulty}", DIFFICULTY)
ARENA_BODY = template("arena.html").replace("{difficulty}", DIFFICULTY)
COMPARE_BODY = template("compare.html").replace("{difficulty}", DIFFICULTY)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/play", status_code=302)


@router.get("/play", response_class=HTMLResponse)
def play_page() -> HTMLResponse:
    return render_page(
        "Play", PLAY_BODY, scripts=["live.js", "play.js"], styles=["game.css"], active="/play"
    )


@router.get("/arena", response_class=HTMLResponse)
def arena_page() -> HTMLResponse:
    return render_page(
        "Arena", ARENA_BODY, scripts=["live.js", "arena.js"], styles=["game.css"], active="/arena"
    )


@router.get("/compare", response_class=HTMLResponse)
def comparisons_page() -> HTMLResponse:
    return render_page(
        "Compare pipelines",
        COMPARE_BODY,
        scripts=["charts.js", "stats_view.js", "report.js", "arms_form.js", "comparisons.js"],
        styles=["game.css"],
        active="/compare",
    )
