/* The play page: set up a game (pipeline, mode, category, difficulty, rounds), then play it
   round by round. Each round streams into a QR.RoundView; in human mode an answer box appears
   after the question and the answer streams the Judge's part. The score comes from the API's
   game, the leaderboard from /api/leaderboard. `?game=<id>` resumes a game (the page keeps it
   in the URL), re-attaching to a round still in play. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const form = document.getElementById("setup");
  const stage = document.getElementById("stage");
  const scorebar = document.getElementById("scorebar");
  const next = document.getElementById("next");
  let game = null;
  let view = null;
  let controller = null;

  const isInterrupt = (end) => end && end.type === "RUN_FINISHED" && end.outcome && end.outcome.type === "interrupt";

  async function loadLeaderboard() {
    const body = document.querySelector("#leaderboard tbody");
    try {
      const { entries } = await QR.api("/api/leaderboard");
      body.innerHTML = entries.slice(0, 10).map((e) => '<tr data-mode="' + esc(e.mode) + '" data-pipeline="' + esc(e.pipeline) + '">' +
        '<td class="num">' + esc(e.rank) + '</td><td class="who">' + (e.mode === "human" ? "<b>Humans</b>" : esc(e.model)) + " " + QR.pipelineBadge(e.pipeline) +
        '</td><td class="num">' + esc(e.correct + " / " + e.answered) + '</td><td class="num">' +
        esc(e.accuracy === null ? "—" : Math.round(e.accuracy * 100) + "%") + "</td></tr>").join("") ||
        '<tr><td colspan="4" class="empty">No rounds played yet.</td></tr>';
    } catch (err) {
      body.innerHTML = '<tr><td colspan="4" class="empty">' + esc(err.message) + "</td></tr>";
    }
  }

  function renderGame() {
    const s = game.score;
    scorebar.hidden = false;
    document.getElementById("score").textContent = s.correct + " / " + s.played + " correct";
    document.getElementById("progress").textContent = "round " + Math.min(s.played + (game.status === "finished" ? 0 : 1), game.rounds_planned) +
      " of " + game.rounds_planned + " · " + game.pipeline + " · " + (game.mode === "human" ? "you answer" : "AI vs AI");
    const list = document.getElementById("game-rounds");
    list.innerHTML = game.rounds.map((r, i) => {
      const mark = r.correct === true ? "✓" : r.correct === false ? "✗" : r.status === "failed" ? "!" : "…";
      const cls = r.correct === true ? "gr-good" : r.correct === false || r.status === "failed" ? "gr-bad" : "";
      return '<li class="' + cls + '" data-round="' + esc(r.id) + '"><span class="gr-mark" aria-label="' +
        esc(r.correct === true ? "right" : r.correct === false ? "wrong" : r.status) + '">' + mark + '</span><span class="gr-text">' +
        '<span class="gr-q">' + esc(r.question || "Round " + (i + 1)) + "</span>" +
        (r.answer ? '<span class="muted"> · answer “' + esc(r.answer) + "”</span>" : "") +
        (r.reference_answer && r.correct === false ? '<span class="muted"> · reference “' + esc(r.reference_answer) + "”</span>" : "") +
        (r.error_code ? '<span class="bad"> · ' + esc(r.error_code) + "</span>" : "") +
        ' <a class="gr-trace" href="' + esc(r.links.trace_page) + '">trace</a></span></li>';
    }).join("") || '<li class="muted">No rounds yet.</li>';
  }

  async function refreshGame() {
    try {
      game = await QR.api("/api/games/" + encodeURIComponent(game.id));
      renderGame();
    } catch (err) {
      QR.status("Could not refresh the game: " + err.message, "error");
    }
  }

  function newView(number) {
    stage.replaceChildren();
    view = new QR.RoundView(stage, { title: "Round " + number + " of " + game.rounds_planned,
      pipeline: game.pipeline, human: game.mode === "human", announce: true });
    return view;
  }

  const handlers = (v) => ({
    onEvent: (event, id) => v.handle(event, id),
    onStatus: (text) => QR.status(text),
    signal: controller.signal,
  });

  /** After a round ends (verdict, failure or refusal): score, list, leaderboard, next step. */
  async function roundOver() {
    QR.status("");
    await refreshGame();
    loadLeaderboard();
    const over = game.status === "finished";
    next.textContent = over ? "Play again" : "Next round";
    next.dataset.action = over ? "again" : "next";
    next.hidden = false;
    if (over) QR.announce("Game over: " + game.score.correct + " of " + game.score.played + " correct.");
    next.focus({ preventScroll: true });
  }

  function fail(v, err) {
    if (controller.signal.aborted) return;
    v.failed(err.status ? "HTTP " + err.status : "connection", err.message);
    roundOver();
  }

  async function playRound() {
    next.hidden = true;
    controller = new AbortController();
    const v = newView(game.rounds.length + 1);
    try {
      const run = await QR.followRound({ body: { game_id: game.id }, ...handlers(v) });
      if (isInterrupt(run.end)) askAnswer(v, run.key, run.lastId);
      else roundOver();
    } catch (err) {
      fail(v, err);
    }
  }

  /** Re-attach to a round in play (after a reload): replay its events, then carry on. */
  async function attach(roundId) {
    controller = new AbortController();
    const v = newView(game.rounds.length);
    try {
      let run = await QR.followRound({ key: roundId, ...handlers(v) });
      while (isInterrupt(run.end)) {
        const round = await QR.api("/api/rounds/" + encodeURIComponent(roundId));
        if (round.status === "awaiting_answer") return askAnswer(v, roundId, run.lastId);
        run = await QR.followRound({ key: roundId, after: run.lastId, ...handlers(v) });
      }
      roundOver();
    } catch (err) {
      fail(v, err);
    }
  }

  function askAnswer(v, roundId, lastId) {
    const box = document.createElement("form");
    box.className = "answer-form";
    box.innerHTML = '<label for="answer-input">Your answer</label><div class="answer-row"><input id="answer-input" name="answer" maxlength="500" ' +
      'autocomplete="off" enterkeyhint="send" required><button type="submit">Answer</button></div>' +
      '<p class="answer-error bad" role="alert" hidden></p><p class="muted small">Press Enter to send. The Judge decides.</p>';
    v.slot.appendChild(box);
    const input = box.querySelector("input");
    const button = box.querySelector("button");
    const problem = box.querySelector(".answer-error");
    input.focus();
    QR.announce("Your turn: type your answer and press Enter.");
    box.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = input.value.trim();
      if (!answer) { problem.hidden = false; problem.textContent = "Type an answer first."; input.focus(); return; }
      input.readOnly = button.disabled = true;
      problem.hidden = true;
      try {
        await QR.followRound({ path: "/api/rounds/" + encodeURIComponent(roundId) + "/answer", body: { answer }, key: roundId,
          after: lastId, ...handlers(v) });
        box.remove();
        roundOver();
      } catch (err) {
        if (err.status === 422) { // a bad answer: say why and let the player try again
          problem.hidden = false;
          problem.textContent = err.message;
          input.readOnly = button.disabled = false;
          input.focus();
          return;
        }
        box.remove();
        fail(v, err);
      }
    });
  }

  function settings() {
    const data = new FormData(form);
    const body = { pipeline: data.get("pipeline"), mode: data.get("mode"), rounds: Number(data.get("rounds")) || 3 };
    if (data.get("category")) body.categories = [data.get("category")];
    if (data.get("difficulty")) body.difficulty = data.get("difficulty");
    return body;
  }

  async function startGame() {
    if (controller) controller.abort();
    QR.status("");
    try {
      game = await QR.post("/api/games", settings());
    } catch (err) {
      QR.status("Could not start a game: " + err.message, "error");
      return;
    }
    history.replaceState(null, "", "/play" + QR.qs({ game: game.id }));
    renderGame();
    playRound();
  }

  async function resume(id) {
    try {
      game = await QR.api("/api/games/" + encodeURIComponent(id));
    } catch (err) {
      QR.status("Could not load game " + id + ": " + err.message, "error");
      return;
    }
    form.elements.pipeline.value = game.pipeline;
    for (const radio of form.querySelectorAll("input[name=mode]")) radio.checked = radio.value === game.mode;
    form.elements.rounds.value = game.rounds_planned;
    if (game.difficulty) form.elements.difficulty.value = game.difficulty;
    renderGame();
    const last = game.rounds[game.rounds.length - 1];
    if (last && (last.status === "running" || last.status === "awaiting_answer")) return attach(last.id);
    stage.innerHTML = '<p class="intro muted">' + esc(game.status === "finished" ? "This game is over." : "Ready for the next round.") + "</p>";
    roundOver();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); startGame(); });
  next.addEventListener("click", () => (next.dataset.action === "again" ? startGame() : playRound()));

  const categoriesLoaded = QR.loadCategories(form.elements.category);
  loadLeaderboard();
  const wanted = new URLSearchParams(location.search).get("game");
  if (wanted) categoriesLoaded.then(() => resume(wanted));
})();
