/* The trace list: filters kept in the URL (shareable, back button works), pages of traces,
   and picking two traces (A and B) to compare. `?a=<id>` arrives from a trace page. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const form = document.getElementById("filters");
  const tbody = QR.$("#traces tbody");
  const pager = document.getElementById("pager");
  const FIELDS = ["pipeline", "status", "game_id", "since", "until", "limit"];
  const picks = { a: null, b: null };
  let state = {};
  let items = [];

  function readURL() {
    const params = new URLSearchParams(location.search);
    const next = {};
    for (const key of [...FIELDS, "offset"]) if (params.get(key)) next[key] = params.get(key);
    if (params.get("a")) picks.a = params.get("a");
    if (params.get("b")) picks.b = params.get("b");
    return next;
  }

  function fillForm() {
    for (const key of FIELDS) {
      const input = form.elements[key];
      const value = state[key] || "";
      input.value = key === "since" || key === "until" ? QR.isoToLocalInput(value) : value;
      if (key === "limit" && !value) input.value = "50";
    }
  }

  function readForm() {
    const next = {};
    for (const key of FIELDS) {
      let value = form.elements[key].value.trim();
      if (key === "since" || key === "until") value = QR.localInputToIso(value);
      if (key === "limit" && value === "50") value = "";
      if (value) next[key] = value;
    }
    return next;
  }

  function row(t) {
    const totals = t.totals || {};
    const meta = t.metadata || {};
    const page = "/traces/" + encodeURIComponent(t.id);
    const error = t.error ? (t.error.code || "") + ": " + (t.error.message || "") : "";
    const radio = (side) => '<input type="radio" name="pick-' + side + '" value="' + esc(t.id) + '" aria-label="pick as ' +
      side.toUpperCase() + '"' + (picks[side] === t.id ? " checked" : "") + ">";
    return '<tr data-trace="' + esc(t.id) + '"' + (t.status === "error" ? ' class="err"' : "") + ">" +
      '<td class="pick pick-a">' + radio("a") + '</td><td class="pick pick-b">' + radio("b") + "</td>" +
      '<td><a class="trace-link" href="' + esc(page) + '">' + esc(QR.fmtTime(t.started_at)) + '</a><div class="muted mono">' +
      esc(QR.shortId(t.id)) + "</div></td>" +
      "<td>" + QR.pipelineBadge(t.pipeline) + "</td><td>" + QR.statusBadge(t.status, error) + "</td>" +
      "<td>" + esc(meta.category || "—") + (meta.difficulty ? '<div class="muted">' + esc(meta.difficulty) + "</div>" : "") + "</td>" +
      "<td>" + (t.game_id ? '<a class="game-link mono" href="/traces' + esc(QR.qs({ game_id: t.game_id })) + '" title="all traces of this game">' +
        esc(t.game_id) + "</a>" : "—") + "</td>" +
      "<td>" + (t.round_id ? '<a class="round-link mono" href="' + esc(t.links && t.links.round ? t.links.round : "/api/rounds/" + encodeURIComponent(t.round_id)) +
        '">' + esc(QR.shortId(t.round_id)) + "</a>" : "—") + "</td>" +
      '<td class="num">' + esc(QR.fmtMs(t.duration_ms)) + '</td><td class="num">' + esc(QR.fmtInt(totals.model_calls)) + "</td>" +
      '<td class="num">' + esc(QR.fmtInt(totals.input_tokens)) + " / " + esc(QR.fmtInt(totals.output_tokens)) + "</td>" +
      '<td class="num">' + esc(QR.fmtCost(totals.cost)) + '</td><td class="num">' + esc(QR.fmtInt(totals.tool_calls)) + "</td>" +
      '<td class="num">' + esc(QR.fmtInt(totals.handoffs)) + '</td><td class="num">' + esc(QR.fmtInt(t.span_count)) + "</td></tr>";
  }

  function describe(id) {
    const t = items.find((item) => item.id === id);
    return t ? (t.pipeline || "trace") + " " + QR.fmtTime(t.started_at) : QR.shortId(id);
  }

  function updateCompare() {
    const go = document.getElementById("compare-go");
    const ready = picks.a && picks.b && picks.a !== picks.b;
    document.getElementById("picked").textContent = (picks.a ? "A: " + describe(picks.a) : "A: —") + "   " + (picks.b ? "B: " + describe(picks.b) : "B: —");
    go.classList.toggle("disabled", !ready);
    go.setAttribute("aria-disabled", String(!ready));
    go.href = ready ? "/traces/compare" + QR.qs({ a: picks.a, b: picks.b }) : "#";
  }

  function renderPager(data) {
    if (!data.total) { pager.innerHTML = ""; return; }
    const first = data.offset + 1;
    const last = data.offset + data.items.length;
    const prev = data.offset > 0 ? Math.max(0, data.offset - data.limit) : null;
    const link = (offset, label, rel) => offset === null ? '<span class="button disabled" aria-disabled="true">' + label + "</span>" :
      '<a class="button" rel="' + rel + '" href="/traces' + esc(QR.qs({ ...state, offset: offset || "", a: picks.a, b: picks.b })) + '" data-offset="' + offset + '">' + label + "</a>";
    pager.innerHTML = link(prev, "← Newer", "prev") + '<span class="muted">' + esc(first + "–" + last + " of " + QR.fmtInt(data.total)) + "</span>" +
      link(data.next_offset, "Older →", "next");
  }

  async function load() {
    QR.status("Loading…");
    try {
      const data = await QR.api("/api/traces", state);
      items = data.items;
      const filtered = FIELDS.some((key) => key !== "limit" && state[key]);
      tbody.innerHTML = items.map(row).join("") || '<tr><td colspan="15" class="empty">' +
        (filtered ? "No traces match these filters." : "No traces yet. Play a round (POST /api/rounds) and it appears here.") + "</td></tr>";
      document.getElementById("count").textContent = QR.fmtInt(data.total) + (data.total === 1 ? " trace" : " traces");
      renderPager(data);
      updateCompare();
      QR.status("");
    } catch (err) {
      tbody.innerHTML = "";
      QR.status("Could not load traces: " + err.message, "error");
    }
  }

  function navigate(next, push) {
    state = next;
    const url = "/traces" + QR.qs({ ...state, a: picks.a, b: picks.b });
    if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
    fillForm();
    load();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); navigate(readForm(), true); });
  form.addEventListener("change", (event) => { if (event.target.tagName === "SELECT") navigate(readForm(), true); });
  document.getElementById("reset").addEventListener("click", () => navigate({}, true));
  tbody.addEventListener("change", (event) => {
    const input = event.target;
    if (!input.name || !input.name.startsWith("pick-")) return;
    picks[input.name.slice(5)] = input.value;
    history.replaceState(null, "", "/traces" + QR.qs({ ...state, a: picks.a, b: picks.b }));
    updateCompare();
  });
  pager.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-offset]");
    if (!link) return;
    event.preventDefault();
    navigate({ ...state, offset: link.dataset.offset === "0" ? "" : link.dataset.offset }, true);
  });
  document.getElementById("compare-go").addEventListener("click", (event) => {
    if (event.currentTarget.classList.contains("disabled")) event.preventDefault();
  });
  window.addEventListener("popstate", () => { state = readURL(); fillForm(); load(); });

  state = readURL();
  fillForm();
  load();
})();
