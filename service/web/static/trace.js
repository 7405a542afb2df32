/* The trace page: header (pipeline, status, links, totals, time split, roll-ups per role),
   the waterfall and the details panel. `#span=<id>` in the URL selects a span. */
"use strict";
(function () {
  const QR = window.QR;
  const WF = QR.wf;
  const esc = QR.esc;
  const main = document.getElementById("main");
  const traceId = main.dataset.traceId;
  const waterfall = document.getElementById("waterfall");
  const details = document.getElementById("details");
  const filter = document.getElementById("span-filter");
  let view = null;
  let selected = null;

  const stat = (label, value, title) => '<div class="stat"' + (title ? ' title="' + esc(title) + '"' : "") +
    '><span class="stat-label">' + esc(label) + '</span><span class="stat-value">' + value + "</span></div>";

  function rollupTable(rollups) {
    const cols = ["duration_ms", "model_calls", "input_tokens", "output_tokens", "cost", "tool_calls", "handoffs", "errors", "model_ms"];
    const row = (name, r, cls) => '<tr class="' + cls + '" data-role="' + esc(name) + '"><th scope="row">' + esc(name) + "</th>" +
      cols.map((c) => '<td class="num' + (c === "errors" && r[c] ? " bad" : "") + '" data-metric="' + c + '">' + esc(QR.metric(c).fmt(r[c])) + "</td>").join("") + "</tr>";
    const roles = Object.entries(rollups.by_role || {});
    return '<div class="table-wrap rollup-wrap"><table class="grid rollup"><caption>Per role</caption><thead><tr><th>Role</th>' +
      cols.map((c) => '<th class="num">' + esc(QR.metric(c).label) + "</th>").join("") + "</tr></thead><tbody>" +
      roles.map(([name, r]) => row(name, r, "")).join("") + row("Total", rollups.total, "total") + "</tbody></table></div>";
  }

  /** Model time vs. everything else, and the slowest model/tool calls (the likely critical path). */
  function timeSplit(total, spans) {
    const duration = total.duration_ms || 0;
    const model = Math.min(total.model_ms || 0, duration);
    const other = Math.max(0, duration - model);
    const slow = spans.map((s, i) => [s, i]).filter(([s]) => s.kind === "generation" || s.kind === "function")
      .sort((x, y) => (y[0].duration_ms || 0) - (x[0].duration_ms || 0)).slice(0, 3);
    return '<div class="timesplit"><div class="split-bar" aria-hidden="true"><i class="split-model" style="width:' +
      (duration ? (100 * model) / duration : 0).toFixed(2) + '%"></i></div><p>' +
      "<b>Model time</b> " + esc(QR.fmtMs(model)) + " (" + esc(QR.fmtPct(model, duration)) + ") · " +
      "<b>orchestration, tools &amp; waiting</b> " + esc(QR.fmtMs(other)) + " (" + esc(QR.fmtPct(other, duration)) + ")</p>" +
      (slow.length ? '<p class="slowest">Slowest: ' + slow.map(([s, i]) => '<button type="button" class="linkish" data-goto="t' + i + '">' +
        esc((s.role ? s.role + " · " : "") + s.name) + " " + esc(QR.fmtMs(s.duration_ms)) + "</button>").join(" ") + "</p>" : "") + "</div>";
  }

  function renderHead(data) {
    const t = data.trace;
    const meta = t.metadata || {};
    const total = data.rollups.total;
    const links = [];
    if (t.round_id) links.push('Round <a href="' + esc(t.links.round || "/api/rounds/" + encodeURIComponent(t.round_id)) + '" data-link="round">' + esc(t.round_id) + "</a>");
    if (t.game_id) links.push('Game <a href="/traces' + esc(QR.qs({ game_id: t.game_id })) + '" data-link="game">' + esc(t.game_id) + "</a>");
    links.push('<a href="/traces' + esc(QR.qs({ a: t.id })) + '">Compare with another trace…</a>');
    links.push('<a href="/api/traces/' + esc(encodeURIComponent(t.id)) + '">JSON</a>');
    let html = '<div class="th-title"><h1>' + esc(t.workflow_name) + "</h1>" + QR.pipelineBadge(t.pipeline) + QR.statusBadge(t.status) +
      '<span class="muted mono">' + esc(t.id) + "</span></div>" + '<p class="th-links">' + links.join(" · ") + "</p>";
    if (t.error) html += '<div class="errbox" role="alert"><b>' + esc(t.error.code || "error") + ":</b> " + esc(t.error.message || "") + "</div>";
    html += '<div class="stats">' + stat("Started", esc(QR.fmtTime(t.started_at))) + stat("Duration", esc(QR.fmtMs(t.duration_ms))) +
      stat("Model calls", esc(QR.fmtInt(total.model_calls))) +
      stat("Tokens in / out", esc(QR.fmtInt(total.input_tokens)) + " / " + esc(QR.fmtInt(total.output_tokens))) +
      stat("Cost", esc(QR.fmtCost(total.cost)), total.cost === null ? "unknown price for a model" : "estimated from the price table") +
      stat("Tool calls", esc(QR.fmtInt(total.tool_calls))) + stat("Handoffs", esc(QR.fmtInt(total.handoffs))) +
      stat("Errors", '<span class="' + (total.errors ? "bad" : "") + '">' + esc(QR.fmtInt(total.errors)) + "</span>") +
      stat("Spans", esc(QR.fmtInt(data.spans.length))) +
      (meta.model ? stat("Model", esc(meta.model)) : "") +
      (meta.category ? stat("Question", esc(meta.category) + (meta.difficulty ? " · " + esc(meta.difficulty) : "")) : "") + "</div>";
    html += timeSplit(total, data.spans) + rollupTable(data.rollups);
    const head = document.getElementById("trace-head");
    head.innerHTML = html;
    head.hidden = false;
    document.title = (t.pipeline ? t.pipeline + " " : "") + "trace · quizrelay";
  }

  function select(key, focusPanel) {
    const index = Number(key.slice(1));
    const span = view && view.spans[index];
    if (!span) return;
    selected = span.id;
    const row = WF.markSelected(waterfall, key);
    details.innerHTML = WF.detailsHTML(span, "#span=" + encodeURIComponent(span.id));
    details.scrollTop = 0;
    if (location.hash !== "#span=" + encodeURIComponent(span.id)) history.replaceState(null, "", "#span=" + encodeURIComponent(span.id));
    if (focusPanel && window.matchMedia("(max-width: 900px)").matches) details.scrollIntoView({ block: "start" });
    return row;
  }

  function selectById(id) {
    const index = view.spans.findIndex((s) => s.id === id);
    if (index >= 0) {
      const row = select("t" + index);
      if (row) { row.hidden = false; row.scrollIntoView({ block: "nearest" }); }
    }
  }

  function render(data) {
    view = data;
    renderHead(data);
    if (!data.spans.length) {
      waterfall.innerHTML = '<p class="empty">This trace has no spans yet.</p>';
      return;
    }
    const scale = WF.extent(data.spans, data.trace.duration_ms);
    waterfall.innerHTML = WF.treeHTML(data.spans, scale, "t");
    waterfall._spans = data.spans;
    if (filter.value) WF.applyVisibility(waterfall, filter.value, data.spans);
    const fromHash = decodeURIComponent((location.hash.match(/^#span=(.+)$/) || [])[1] || "");
    if (selected || fromHash) selectById(selected || fromHash);
  }

  async function load() {
    try {
      const data = await QR.api("/api/traces/" + encodeURIComponent(traceId));
      QR.status(data.trace.status === "running" ? "This round is still running; the trace refreshes every 2 s." : "");
      render(data);
      if (data.trace.status === "running") setTimeout(load, 2000);
    } catch (err) {
      QR.status(err.status === 404 ? err.message : "Could not load the trace: " + err.message, "error");
    }
  }

  document.getElementById("legend").innerHTML = QR.legendHTML();
  WF.bind(waterfall, (key) => select(key, true));
  document.getElementById("trace-head").addEventListener("click", (event) => {
    const target = event.target.closest("[data-goto]");
    if (!target) return;
    filter.value = "";
    WF.applyVisibility(waterfall, "", view.spans);
    const row = select(target.dataset.goto, true);
    if (row) { row.scrollIntoView({ block: "nearest" }); row.focus({ preventScroll: true }); }
  });
  filter.addEventListener("input", () => { if (view) WF.applyVisibility(waterfall, filter.value, view.spans); });
  window.addEventListener("hashchange", () => {
    const id = decodeURIComponent((location.hash.match(/^#span=(.+)$/) || [])[1] || "");
    if (view && id && id !== selected) selectById(id);
  });
  load();
})();
