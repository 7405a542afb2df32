/* The compare page: choose the arms (arms_form.js), start a comparison (POST /api/comparisons
   streams its progress), watch it (a progress bar and a live list of rounds), then its report
   (report.js). `?id=<cmp>` opens a stored one (GET /api/comparisons/{id}) or re-attaches to one
   still running; previous comparisons are listed below. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const form = document.getElementById("setup");
  const run = document.getElementById("run");
  const bar = document.getElementById("run-bar");
  const progressBody = document.querySelector("#progress-table tbody");
  let controller = null;
  let openId = null;
  const armsReady = QR.armsForm.init();

  async function loadCategories() {
    const box = document.getElementById("categories");
    try {
      const categories = await QR.api("/api/categories");
      box.insertAdjacentHTML("beforeend", '<div class="cat-list">' + categories.filter((c) => c.verified).map((c) =>
        '<label class="check" title="' + esc(c.description) + '"><input type="checkbox" name="categories" value="' + esc(c.name) + '"> ' +
        esc(c.title) + "</label>").join("") + "</div>");
    } catch (err) {
      QR.status("Could not load the categories: " + err.message, "error");
    }
  }

  async function loadHistory() {
    const body = document.querySelector("#history tbody");
    try {
      const { items } = await QR.api("/api/comparisons", { limit: 20 });
      body.innerHTML = items.map((c) => {
        const s = c.settings || {};
        const current = c.id === openId ? ' aria-current="true" class="current"' : "";
        const arms = (s.arms || []).map((a) => a.name + (a.name === s.baseline ? " (baseline)" : "")).join(", ") || (s.pipelines || []).join(", ");
        return "<tr data-comparison=\"" + esc(c.id) + '"' + current + '><td><a href="/compare' + esc(QR.qs({ id: c.id })) + '">' +
          esc(QR.fmtTime(c.created_at)) + '</a><div class="muted mono">' + esc(c.id) + "</div></td><td>" +
          QR.statusBadge(c.status === "completed" ? "ok" : c.status === "failed" ? "error" : "running", c.status) +
          '</td><td class="num">' + esc(s.rounds) + '</td><td class="wrap">' + esc(arms) + "</td><td>" + esc((s.categories || []).join(", ") || "mixed") + "</td><td>" +
          esc(s.difficulty || "any") + '</td><td class="num">' + esc(s.seed) + "</td></tr>";
      }).join("") || '<tr><td colspan="7" class="empty">No comparisons yet.</td></tr>';
    } catch (err) {
      body.innerHTML = '<tr><td colspan="7" class="empty">' + esc(err.message) + "</td></tr>";
    }
  }

  function setProgress(done, of) {
    bar.setAttribute("aria-valuemax", String(of || 1));
    bar.setAttribute("aria-valuenow", String(done));
    bar.setAttribute("aria-valuetext", done + " of " + of + " rounds");
    bar.querySelector("i").style.width = (of ? (100 * done) / of : 0).toFixed(1) + "%";
    document.getElementById("run-count").textContent = done + " / " + of + " rounds";
  }

  function showRun(id, settings) {
    openId = id;
    run.hidden = false;
    document.getElementById("run-title").textContent = "Comparison " + QR.shortId(id) + " · " + QR.plural(settings.rounds, "question") + " · " +
      QR.plural((settings.arms || settings.pipelines || []).length, "arm") + " · " +
      ((settings.categories || []).join(", ") || "mixed categories") + " · " + (settings.difficulty || "any difficulty") + " · seed " + settings.seed;
    if (location.search !== QR.qs({ id })) history.replaceState(null, "", "/compare" + QR.qs({ id }));
  }

  function progressRow(p) {
    const verdict = p.correct === true ? '<span class="good-text">✓ right</span>' : p.correct === false ? '<span class="bad">✗ wrong</span>' :
      '<span class="bad">' + esc(p.error_code || "no verdict") + "</span>";
    const arm = p.arm || p.pipeline;
    progressBody.insertAdjacentHTML("beforeend", '<tr data-round="' + esc(p.round_id) + '" data-arm="' + esc(arm) + '" data-pipeline="' + esc(p.pipeline) +
      '"><td class="num">' + esc(p.index + 1) + "</td><td>" + esc(arm) + (arm !== p.pipeline ? " " + QR.pipelineBadge(p.pipeline) : "") + "</td><td>" +
      esc(p.category || "—") + '</td><td class="hide-narrow">' +
      QR.statusBadge(p.status === "completed" ? "ok" : "error", p.status) + "</td><td>" + verdict + '</td><td><a class="trace-page" href="/traces/' +
      esc(encodeURIComponent(p.trace_id)) + '">' + esc(QR.shortId(p.trace_id)) + "</a></td></tr>");
    const wrap = progressBody.closest(".table-wrap");
    wrap.scrollTop = wrap.scrollHeight;
  }

  function onEvent(event) {
    if (event.type === "CUSTOM" && event.name === "comparison") {
      const settings = event.value;
      showRun(settings.comparison_id, settings);
      setProgress(0, settings.rounds * (settings.arms || settings.pipelines || [1, 2]).length);
    } else if (event.type === "CUSTOM" && event.name === "comparison_progress") {
      progressRow(event.value);
      setProgress(event.value.done, event.value.of);
      QR.announce("Round " + event.value.done + " of " + event.value.of + " done.");
    } else if (event.type === "CUSTOM" && event.name === "comparison_summary") {
      QR.report.render(event.value);
    } else if (event.type === "RUN_ERROR") {
      QR.status("The comparison failed: " + (event.code || "error") + ": " + (event.message || ""), "error");
    }
  }

  const follow = (start, key) => QR.follow({
    start, key, onEvent, signal: controller.signal,
    reattach: (id, after) => "/api/comparisons/" + encodeURIComponent(id) + "/events" + QR.qs({ after }),
    keyOf: (e) => (e.type === "RUN_STARTED" ? e.runId : null),
    onStatus: (text) => QR.status(text),
  });

  function reset() {
    if (controller) controller.abort();
    controller = new AbortController();
    progressBody.replaceChildren();
    QR.report.hide();
    QR.status("");
  }

  async function start() {
    await armsReady;
    const data = new FormData(form);
    const body = { rounds: Number(data.get("rounds")) };
    const categories = data.getAll("categories");
    if (categories.length) body.categories = categories;
    if (data.get("difficulty")) body.difficulty = data.get("difficulty");
    if (String(data.get("seed") || "").trim()) body.seed = Number(data.get("seed"));
    Object.assign(body, QR.armsForm.value());
    reset();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    run.hidden = false;
    setProgress(0, body.rounds * body.arms.length);
    document.getElementById("run-title").textContent = "Starting…";
    try {
      const end = (await follow(() => QR.startStream("/api/comparisons", body, controller.signal))).end;
      if (end.type === "RUN_FINISHED") QR.announce("The comparison is done.");
    } catch (err) {
      if (!controller.signal.aborted) QR.status("The comparison could not run: " + err.message, "error");
    } finally {
      submit.disabled = false;
      loadHistory();
    }
  }

  /** Open a stored comparison, or re-attach to one still running. */
  async function open(id) {
    reset();
    let stored;
    try {
      stored = await QR.api("/api/comparisons/" + encodeURIComponent(id));
    } catch (err) {
      QR.status("Could not open comparison " + id + ": " + err.message, "error");
      return;
    }
    showRun(stored.id, stored.settings || {});
    if (stored.status === "running") {
      try { await follow(null, stored.id); } catch (err) { QR.status(err.message, "error"); }
      loadHistory();
      return;
    }
    const result = stored.result;
    const names = armNames(stored.settings || {}, result);
    const played = result ? result.questions.flatMap((q) => names.map((name) => q.rounds[name]).filter(Boolean).map((r) => ({ ...r, index: q.index }))) : [];
    played.forEach(progressRow);
    setProgress(played.length, (stored.settings.rounds || 0) * names.length);
    if (stored.error) QR.status("This comparison failed: " + (stored.error.code || "") + ": " + (stored.error.message || ""), "error");
    if (result) QR.report.render(result);
  }
  const armNames = (settings, result) => (settings.arms ? settings.arms.map((a) => a.name) : Object.keys((result && result.pipelines) || {}));

  form.addEventListener("submit", (event) => { event.preventDefault(); start(); });
  loadCategories();
  const wanted = new URLSearchParams(location.search).get("id");
  if (wanted) open(wanted).then(loadHistory); else loadHistory();
})();
