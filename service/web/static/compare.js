/* The compare page: two traces (A and B) side by side, aligned by role. For each role
   (Questioner, Answerer, Judge) both sides' spans share one time scale starting at the role's
   start, matching spans (same kind and tool) sit on the same row, and the B − A differences
   are marked with sign and colour, per role and in total. */
"use strict";
(function () {
  const QR = window.QR;
  const WF = QR.wf;
  const esc = QR.esc;
  const main = document.getElementById("main");
  const ids = { a: main.dataset.a, b: main.dataset.b };
  const board = document.getElementById("cmp-waterfall");
  const details = document.getElementById("details");
  const ROLES = ["Questioner", "Answerer", "Judge"];
  const COLS = ["duration_ms", "model_ms", "model_calls", "input_tokens", "output_tokens", "cost", "tool_calls", "handoffs", "errors"];
  let data = null;

  function card(side, t) {
    const meta = t.metadata || {};
    return '<div class="cmp-card side-' + side + '" data-side="' + side + '"><div class="th-title"><b class="tag-' + side + '">' + side.toUpperCase() + "</b>" +
      QR.pipelineBadge(t.pipeline) + QR.statusBadge(t.status) + '<a class="mono" href="/traces/' + esc(encodeURIComponent(t.id)) + '">' + esc(t.id) + "</a></div>" +
      '<p class="muted">' + esc(QR.fmtTime(t.started_at)) + " · " + esc(QR.fmtMs(t.duration_ms)) +
      (meta.model ? " · " + esc(meta.model) : "") + (meta.category ? " · " + esc(meta.category) : "") +
      (t.round_id ? ' · round <a href="' + esc(t.links.round) + '">' + esc(QR.shortId(t.round_id)) + "</a>" : "") + "</p>" +
      (t.error ? '<div class="errbox">' + esc((t.error.code || "error") + ": " + (t.error.message || "")) + "</div>" : "") + "</div>";
  }

  /** One sentence on the totals: "B (chat) took 3.56 s less (−47%), 1 fewer model call, …". */
  function headline(d) {
    const diff = d.total.diff;
    const name = "B (" + (d.b.pipeline || "trace") + ")";
    const parts = [];
    const da = d.total.a.duration_ms;
    if (diff.duration_ms !== null && Math.abs(diff.duration_ms) >= 0.5) {
      parts.push("took " + QR.fmtMs(Math.abs(diff.duration_ms)) + (diff.duration_ms < 0 ? " less" : " more") +
        (da ? " (" + (diff.duration_ms < 0 ? "\u2212" : "+") + QR.fmtPct(Math.abs(diff.duration_ms), da) + ")" : ""));
    }
    const count = (key, one, many) => {
      const v = diff[key];
      if (v) parts.push(QR.fmtInt(Math.abs(v)) + (v < 0 ? " fewer " : " more ") + (Math.abs(v) === 1 ? one : many));
    };
    count("model_calls", "model call", "model calls");
    count("total_tokens", "token", "tokens");
    count("tool_calls", "tool call", "tool calls");
    count("handoffs", "handoff", "handoffs");
    if (diff.cost) parts.push((diff.cost < 0 ? "cost " : "cost ") + QR.fmtCost(Math.abs(diff.cost)) + (diff.cost < 0 ? " less" : " more"));
    return parts.length ? name + " " + parts.join(", ") + " than A (" + (d.a.pipeline || "trace") + ")." : "Both traces have the same totals.";
  }

  function diffTable(d) {
    const cell = (role, r) => COLS.map((c) => {
      const m = QR.metric(c);
      return '<td class="num" data-role="' + esc(role) + '" data-metric="' + c + '"><span class="va">' + esc(m.fmt(r.a[c])) +
        '</span> <span class="arrow">→</span> <span class="vb">' + esc(m.fmt(r.b[c])) + "</span><br>" + QR.diffHTML(c, r.diff[c]) + "</td>";
    }).join("");
    const rows = d.roles.map((r) => '<tr data-role="' + esc(r.role) + '"><th scope="row">' + esc(r.role) + "</th>" + cell(r.role, r) + "</tr>");
    rows.push('<tr class="total" data-role="Total"><th scope="row">Total</th>' + cell("Total", d.total) + "</tr>");
    return '<p class="headline">' + esc(headline(d)) + "</p>" +
      '<div class="table-wrap"><table class="grid diff"><caption>Per role: <b class="tag-a">A</b> → <b class="tag-b">B</b>, difference B − A ' +
      '(<span class="delta less">green: B less</span>, <span class="delta more">red: B more</span>)</caption><thead><tr><th>Role</th>' +
      COLS.map((c) => '<th class="num">' + esc(QR.metric(c).label) + "</th>").join("") + "</tr></thead><tbody>" + rows.join("") + "</tbody></table></div>";
  }

  const keyOf = (s) => s.kind + ":" + (s.kind === "generation" || s.kind === "handoff" ? "" : s.name);

  /** Longest common subsequence of span keys → rows [[ia|null, ib|null], …] in order. */
  function align(left, right) {
    const n = left.length;
    const m = right.length;
    const table = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        table[i][j] = keyOf(left[i][0]) === keyOf(right[j][0]) ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
      }
    }
    const rows = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && keyOf(left[i][0]) === keyOf(right[j][0])) rows.push([left[i++], right[j++]]);
      else if (j >= m || (i < n && table[i + 1][j] >= table[i][j + 1])) rows.push([left[i++], null]);
      else rows.push([null, right[j++]]);
    }
    return rows;
  }

  function cell(side, entry, origin, scale) {
    if (!entry) return '<div class="cc empty side-' + side + '"><span class="muted">no matching span in ' + side.toUpperCase() + "</span></div>";
    const [span, index] = entry;
    return '<div class="cc side-' + side + (span.status === "error" ? " err" : "") + '" role="treeitem" aria-selected="false" aria-level="' +
      (span.depth + 1) + '" tabindex="-1" data-span="' + side + index + '" data-side="' + side + '" data-depth="' + span.depth + '">' +
      WF.nameHTML(span) + WF.trackHTML(span, scale, origin) + "</div>";
  }

  function deltaCell(pair) {
    const [a, b] = pair;
    if (!a || !b) return '<div class="cd"><span class="delta only">only ' + (a ? "A" : "B") + "</span></div>";
    let html = QR.diffHTML("duration_ms", (b[0].duration_ms || 0) - (a[0].duration_ms || 0));
    if (a[0].kind === "generation") {
      const tokens = (b[0].input_tokens + b[0].output_tokens) - (a[0].input_tokens + a[0].output_tokens);
      html += ' <span class="delta-sub" title="tokens, B − A">' + QR.diffHTML("total_tokens", tokens) + " tok</span>";
    }
    return '<div class="cd">' + html + "</div>";
  }

  function section(role, d, first) {
    const pick = (side) => d.spans[side].map((s, i) => [s, i]).filter(([s]) => (s.role || null) === role);
    const a = pick("a");
    const b = pick("b");
    if (!a.length && !b.length) return "";
    const origin = (list) => list.length ? Math.min(...list.map(([s]) => s.start_ms || 0)) : 0;
    const extent = (list, o) => Math.max(1, ...list.map(([s]) => (s.start_ms || 0) + (s.duration_ms || 0) - o));
    const oa = origin(a);
    const ob = origin(b);
    const scale = Math.max(extent(a, oa), extent(b, ob));
    const r = d.roles.find((x) => x.role === role);
    const summary = (side) => r ? esc(QR.fmtMs(r[side].duration_ms)) + " · " + esc(QR.fmtInt(r[side].model_calls)) + (r[side].model_calls === 1 ? " call · " : " calls · ") +
      esc(QR.fmtInt(r[side].total_tokens)) + " tok" : esc(String((side === "a" ? a : b).length)) + " spans";
    const label = role || "Outside any role";
    return '<div class="cmp-role" data-role="' + esc(label) + '"><div class="cmp-role-head"><h3>' + esc(label) + "</h3>" +
      '<span class="side-sum"><b class="tag-a">A</b> ' + summary("a") + "</span>" +
      (r ? '<span class="side-sum">Δ ' + QR.diffHTML("duration_ms", r.diff.duration_ms) + "</span>" : "") +
      '<span class="side-sum"><b class="tag-b">B</b> ' + summary("b") + "</span></div>" +
      '<div class="cr cr-axis"><div class="cc"><div class="wf-name">' + (first ? "A · " + esc(d.a.pipeline || "") : "") + "</div>" + WF.axisHTML(scale) + "</div>" +
      '<div class="cd muted">Δ time</div><div class="cc"><div class="wf-name">' + (first ? "B · " + esc(d.b.pipeline || "") : "") + "</div>" + WF.axisHTML(scale) + "</div></div>" +
      align(a, b).map((pair) => '<div class="cr">' + cell("a", pair[0], oa, scale) + deltaCell(pair) + cell("b", pair[1], ob, scale) + "</div>").join("") + "</div>";
  }

  function render(d) {
    data = d;
    const head = document.getElementById("cmp-head");
    head.innerHTML = '<div class="page-head"><h1>Compare traces</h1><a href="/traces/compare' + esc(QR.qs({ a: ids.b, b: ids.a })) + '">Swap A ↔ B</a>' +
      '<a href="/traces' + esc(QR.qs({ a: ids.a, b: ids.b })) + '">Pick other traces</a></div><div class="cmp-cards">' + card("a", d.a) + card("b", d.b) + "</div>";
    head.hidden = false;
    const diff = document.getElementById("cmp-diff");
    diff.innerHTML = diffTable(d);
    diff.hidden = false;
    const roles = [...ROLES, null];
    let first = true;
    board.innerHTML = '<div class="cmp-inner" role="tree" aria-label="Spans of A and B aligned by role">' + roles.map((role) => {
      const html = section(role, d, first);
      if (html) first = false;
      return html;
    }).join("") + "</div>";
    const firstCell = board.querySelector("[data-span]");
    if (firstCell) firstCell.tabIndex = 0;
  }

  function select(key) {
    const side = key[0];
    const span = data.spans[side][Number(key.slice(1))];
    if (!span) return;
    WF.markSelected(board, key);
    details.innerHTML = '<div class="d-side"><span>Side <b class="tag-' + side + '">' + side.toUpperCase() + "</b> · " + esc(data[side].pipeline || "") +
      '</span><button type="button" class="secondary close" aria-label="Close details">✕</button></div>' +
      WF.detailsHTML(span, "/traces/" + encodeURIComponent(data[side].id) + "#span=" + encodeURIComponent(span.id));
    details.hidden = false;
    details.scrollTop = 0;
    opener = board.querySelector('[data-span="' + key + '"]');
  }

  let opener = null;
  function closeDetails() {
    details.hidden = true;
    if (opener) opener.focus();
  }
  details.addEventListener("click", (event) => { if (event.target.closest(".close")) closeDetails(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !details.hidden) closeDetails(); });

  async function load() {
    if (!ids.a || !ids.b) {
      QR.status("Pick two traces to compare on the trace list (choose A and B).", "error");
      return;
    }
    try {
      render(await QR.api("/api/traces/compare", { a: ids.a, b: ids.b }));
      QR.status("");
    } catch (err) {
      QR.status("Could not compare: " + err.message, "error");
    }
  }

  document.getElementById("legend").innerHTML = QR.legendHTML();
  WF.bind(board, select);
  load();
})();
