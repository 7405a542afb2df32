"""The player's pages: play a game (``/play``), both pipelines on one question (``/arena``) and
comparisons over many questions (``/compare``). ``/`` goes to ``/play``.

Same rules as the trace pages (:mod:`quizrelay.web.pages`): static HTML shells written here, all
API data rendered client-side by the page scripts (``live.js`` draws a streaming round), no
inline script, no third-party assets.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from .pages import render_page

router = APIRouter(include_in_schema=False)

DIFFICULTY = """<label>Difficulty <select name="difficulty"><option value="">any</option><option>easy</option>
  <option>medium</option><option>hard</option></select></label>"""

PLAY_BODY = f"""
<div class="page-head"><h1>Play</h1><span id="game-head" class="muted">Three agents relay a quiz question: the Questioner asks,
the Answerer answers, the Judge judges.</span></div>
<form id="setup" class="filters setup" aria-label="New game">
  <label>Pipeline <select name="pipeline"><option value="agents">agents · Agents SDK</option><option value="chat">chat · plain calls</option></select></label>
  <fieldset class="seg"><legend>Mode</legend>
    <label><input type="radio" name="mode" value="ai" checked> Watch AI vs AI</label>
    <label><input type="radio" name="mode" value="human"> Answer myself</label>
  </fieldset>
  <label>Category <select name="category"><option value="">any</option></select></label>
  {DIFFICULTY}
  <label>Rounds <input name="rounds" type="number" min="1" max="50" value="3" inputmode="numeric" required></label>
  <button type="submit">Start game</button>
</form>
<div id="status" class="notice" role="status" hidden></div>
<div class="play-layout">
  <section class="stage-wrap" aria-label="Current round">
    <div id="scorebar" class="scorebar" hidden>
      <span class="score-label">Score <b id="score">0 / 0 correct</b></span>
      <span id="progress" class="muted"></span>
      <span class="scorebar-actions"><button type="button" id="next" hidden>Next round</button></span>
    </div>
    <div id="stage"><p class="intro muted">Pick a pipeline and a mode, then <b>Start game</b>. Watch the agents hand the
    question along live, or take the Answerer's seat yourself.</p></div>
  </section>
  <aside class="side">
    <section aria-labelledby="rounds-title"><h2 id="rounds-title">This game</h2>
      <ol id="game-rounds" class="game-rounds"><li class="muted">No game yet.</li></ol></section>
    <section aria-labelledby="lb-title"><h2 id="lb-title">Leaderboard</h2>
      <div class="table-wrap"><table id="leaderboard" class="grid compact"><thead><tr><th class="num">#</th><th>Who · pipeline</th>
      <th class="num">Right</th><th class="num" title="accuracy">%</th></tr></thead><tbody></tbody></table></div></section>
  </aside>
</div>
<div id="live" class="sr-only" aria-live="polite"></div>
"""

ARENA_BODY = f"""
<div class="page-head"><h1>Arena</h1><span class="muted">One question, both pipelines at the same time.</span></div>
<form id="setup" class="filters setup" aria-label="Arena question">
  <label>Category <select name="category"><option value="">any</option></select></label>
  {DIFFICULTY}
  <label>Seed <span class="inline"><input name="seed" type="number" min="0" max="2147483647" inputmode="numeric" required>
    <button type="button" id="reseed" class="secondary" title="Pick a new random seed">New</button></span></label>
  <button type="submit">Start both</button>
  <details class="custom-q"><summary>Ask your own question</summary>
    <label>Question <textarea name="question" maxlength="2000" rows="2"></textarea></label>
    <label>Reference answer <input name="reference_answer" maxlength="200"></label>
  </details>
</form>
<div id="status" class="notice" role="status" hidden></div>
<section id="arena-summary" class="arena-summary" aria-label="Result" hidden></section>
<div class="arena-grid">
  <section class="arena-col" data-pipeline="agents" aria-labelledby="col-agents"><h2 id="col-agents"><span class="badge pl-agents">agents</span>
    <span class="muted small">Agents SDK, with handoffs</span></h2><div class="arena-stage"></div></section>
  <section class="arena-col" data-pipeline="chat" aria-labelledby="col-chat"><h2 id="col-chat"><span class="badge pl-chat">chat</span>
    <span class="muted small">plain Chat Completions</span></h2><div class="arena-stage"></div></section>
</div>
<div id="live" class="sr-only" aria-live="polite"></div>
"""

COMPARE_BODY = f"""
<div class="page-head"><h1>Compare pipelines</h1><span class="muted">The same questions through both pipelines, one round at a time.</span></div>
<form id="setup" class="filters setup" aria-label="New comparison">
  <label>Questions <input name="rounds" type="number" min="1" max="100" value="5" inputmode="numeric" required></label>
  <fieldset id="categories" class="cats"><legend>Categories <span class="muted">(none: mixed)</span></legend></fieldset>
  {DIFFICULTY}
  <label>Seed <input name="seed" type="number" min="0" max="2147483647" placeholder="random" inputmode="numeric"></label>
  <button type="submit">Run comparison</button>
</form>
<div id="status" class="notice" role="status" hidden></div>
<section id="run" class="panel" aria-labelledby="run-title" hidden>
  <div class="panel-head"><h2 id="run-title">Comparison</h2><span id="run-count" class="muted"></span></div>
  <div id="run-bar" class="bar" role="progressbar" aria-labelledby="run-title" aria-valuemin="0" aria-valuemax="1" aria-valuenow="0"><i></i></div>
  <div class="table-wrap scroll-y"><table id="progress-table" class="grid compact"><caption>Rounds as they finish</caption>
    <thead><tr><th class="num">#</th><th>Pipeline</th><th>Category</th><th class="hide-narrow">Status</th><th>Verdict</th><th>Trace</th></tr></thead>
    <tbody></tbody></table></div>
</section>
<section id="report" aria-label="Results" hidden>
  <h2 class="section-title">Summary</h2><div id="summary" class="table-wrap"></div>
  <h2 class="section-title">Latency per round</h2><div id="chart-latency" class="charts"></div>
  <h2 class="section-title">Per role, mean per round</h2><div id="chart-roles" class="charts"><p class="muted">Loading the traces…</p></div>
  <h2 class="section-title">Questions</h2><div id="questions" class="table-wrap"></div>
</section>
<section aria-labelledby="history-title" class="history"><h2 id="history-title" class="section-title">Previous comparisons</h2>
  <div class="table-wrap"><table id="history" class="grid compact"><thead><tr><th>Started</th><th>Status</th><th class="num">Questions</th>
  <th>Categories</th><th>Difficulty</th><th class="num">Seed</th></tr></thead><tbody></tbody></table></div></section>
<div id="live" class="sr-only" aria-live="polite"></div>
"""


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
        scripts=["charts.js", "report.js", "comparisons.js"],
        styles=["game.css"],
        active="/compare",
    )
