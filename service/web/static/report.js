/* The compare page's results, from a comparison summary (GET /api/comparisons/{id} result or the
   stream's comparison_summary), for any number of arms (named in result.settings.arms): export
   links, the per-arm summary, interval charts, paired differences and categories (stats_view.js,
   the API's numbers as they are), latency strip plots, per-role bars and the per-question rounds
   with links to their traces and to their comparison with the baseline's.
   Per-role bars are the mean of the rounds' trace roll-ups: on the page they are fetched
   (GET /api/traces/{id}); a saved report (body[data-offline], report_html.py) never fetches and
   shows the roll-ups embedded in it, or says they are missing.
   QR.report.render(result, {roles}). */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const C = QR.charts;
  const S = QR.stats;
  const ROLE_METRICS = [
    { key: "model_calls", label: "Model calls", fmt: (v) => Number(v).toFixed(1) },
    { key: "input_tokens", label: "Input tokens", fmt: (v) => QR.fmtInt(Math.round(v)) },
    { key: "output_tokens", label: "Output tokens", fmt: (v) => QR.fmtInt(Math.round(v)) },
    { key: "duration_ms", label: "Time in the role", fmt: QR.fmtMs },
  ];
  const EXPORTS = [["json", "JSON (everything)"], ["csv", "CSV (one row per round)"], ["html", "HTML report (works offline)"]];
  const offline = () => document.body.dataset.offline === "1";
  let current = null;
  let arms = [];
  let roles = null; // {arms: {name: {traces, missing, by_role: {role: {metric: mean}}}}}, or null
  let token = 0;

  const SECTIONS = [
    ["summary", "Summary", "table-wrap"],
    ["chart-intervals", "Accuracy and medians, with 95% intervals", "charts"],
    ["paired", "Paired differences against the baseline", "table-wrap"],
    ["by-category", "Accuracy per category", "table-wrap"],
    ["chart-latency", "Latency per round", "charts"],
    ["chart-roles", "Per role, mean per round", "charts"],
    ["questions", "Questions", "table-wrap"],
  ];
  function skeleton(box) {
    box.innerHTML = (offline() ? "" : '<nav id="exports" class="exports" aria-label="Export this comparison"></nav>') +
      SECTIONS.map(([id, title, cls]) => '<h2 class="section-title" id="' + id + '-title">' + esc(title) + '</h2><div id="' + id + '" class="' + cls +
        '" role="region" aria-labelledby="' + id + '-title"></div>').join("");
  }

  function exportsBar(result) {
    const nav = document.getElementById("exports");
    if (!nav) return;
    const base = "/api/comparisons/" + encodeURIComponent(result.id) + "/export";
    nav.innerHTML = '<span class="muted small">Export:</span>' + EXPORTS.map(([format, label]) => '<a class="export" data-format="' + format +
      '" href="' + esc(base + QR.qs({ format })) + '" download="quizrelay-' + esc(result.id) + "." + format + '">' + esc(label) + "</a>").join("");
  }
  /** With an access token a plain link would be refused: fetch the file with it instead. */
  document.addEventListener("click", async (event) => {
    const link = event.target.closest && event.target.closest("a.export");
    if (!link || !QR.token()) return;
    event.preventDefault();
    try {
      const response = await QR.fetch(link.getAttribute("href"));
      if (!response.ok) throw await QR.httpError(response);
      const url = URL.createObjectURL(await response.blob());
      const save = Object.assign(document.createElement("a"), { href: url, download: link.getAttribute("download") });
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      QR.status("Could not export: " + err.message, "error");
    }
  });

  function roundCell(arm, r) {
    if (!r) return '<td data-arm="' + esc(arm) + '">—</td>';
    const mark = r.correct === true ? '<span class="good-text" title="right">✓</span>' : r.correct === false ? '<span class="bad" title="wrong">✗</span>' :
      '<span class="bad">' + esc(r.error_code || r.status) + "</span>";
    const trace = offline() ? '<span class="mono" title="' + esc(r.trace_id) + '">' + esc(QR.shortId(r.trace_id)) + "</span>" :
      '<a class="trace-page" href="' + esc(r.links.trace_page) + '">trace</a>';
    return '<td data-arm="' + esc(arm) + '" data-pipeline="' + esc(r.pipeline) + '">' + mark + " " + esc(QR.fmtMs(r.round_ms)) +
      ' · <span title="model calls">' + esc(QR.fmtInt(r.model_calls)) + " calls</span> · " + trace + "</td>";
  }

  function questionsTable(result) {
    const pages = (q) => (offline() ? "" : Object.entries(q.compare_pages || {}).map(([arm, href]) => '<a class="compare-page" data-arm="' + esc(arm) +
      '" href="' + esc(href) + '">' + esc(arm) + " vs " + esc(result.baseline) + "</a>").join("<br>"));
    const rows = result.questions.map((q) => '<tr data-index="' + esc(q.index) + '"><td class="num">' + esc(q.index + 1) + '</td><td class="wrap">' +
      '<span class="muted">' + esc(q.category) + "</span> " + esc(q.question || "—") + '</td><td class="wrap">' + esc(q.reference_answer || "—") + "</td>" +
      arms.map((a) => roundCell(a.name, q.rounds[a.name])).join("") + "<td>" + pages(q) + "</td></tr>");
    return '<table class="grid questions-table"><thead><tr><th class="num">#</th><th>Question</th><th>Reference</th>' +
      arms.map((a) => '<th data-arm="' + esc(a.name) + '">' + S.armHead(a, result.baseline) + "</th>").join("") +
      "<th>" + (offline() ? "" : "Compare traces") + "</th></tr></thead><tbody>" + rows.join("") + "</tbody></table>";
  }

  const clsOf = (name) => (arms.find((a) => a.name === name) || { cls: "" }).cls;

  function latencyCharts(result) {
    const box = document.getElementById("chart-latency");
    const width = box.clientWidth || 560;
    const plain = result.pipelines || {};
    const series = (key) => arms.map((a) => ({
      name: a.name, cls: a.cls, median: ((plain[a.name] || {})[key] || {}).median, p95: ((plain[a.name] || {})[key] || {}).p95,
      values: result.questions.filter((q) => q.rounds[a.name]).map((q) => ({ value: q.rounds[a.name][key], label: "Q" + (q.index + 1) + " " + a.name })),
    }));
    box.innerHTML = C.legend(arms.map((a) => a.name), clsOf) + '<span class="muted small"> dots: rounds · bar: median · dashed: p95</span>' +
      '<figure class="chart-box" data-chart="round_ms"><figcaption>Round time</figcaption>' +
      C.strip({ title: "Round time per round", width, fmt: QR.fmtMs, series: series("round_ms") }) + "</figure>" +
      '<figure class="chart-box" data-chart="ttft_ms"><figcaption>Time to first token</figcaption>' +
      C.strip({ title: "Time to first token per round", width, fmt: QR.fmtMs, series: series("ttft_ms") }) + "</figure>";
  }

  /** Per arm and role, the mean of the traces' roll-ups (4 traces fetched at a time). */
  async function loadRoles(result, mine) {
    const jobs = [];
    for (const q of result.questions) for (const a of arms) if (q.rounds[a.name] && q.rounds[a.name].trace_id) jobs.push([a.name, q.rounds[a.name].trace_id]);
    const sums = Object.fromEntries(arms.map((a) => [a.name, { traces: 0, missing: 0, by_role: {} }]));
    let next = 0;
    const worker = async () => {
      while (next < jobs.length && mine === token) {
        const [arm, id] = jobs[next++];
        try {
          const trace = await QR.api("/api/traces/" + encodeURIComponent(id), { content: "false" });
          sums[arm].traces += 1;
          for (const [role, r] of Object.entries(trace.rollups.by_role || {})) {
            const acc = sums[arm].by_role[role] || (sums[arm].by_role[role] = {});
            for (const m of ROLE_METRICS) acc[m.key] = (acc[m.key] || 0) + (r[m.key] || 0);
          }
        } catch (err) {
          sums[arm].missing += 1;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    for (const s of Object.values(sums)) {
      for (const acc of Object.values(s.by_role)) for (const key of Object.keys(acc)) acc[key] /= s.traces;
    }
    return { arms: sums };
  }

  function roleCharts() {
    const box = document.getElementById("chart-roles");
    if (!roles || !roles.arms) {
      box.innerHTML = '<p class="muted roles-missing">' + (offline() ? "The per-role numbers are not in this file (it was saved without the rounds’ traces)." :
        "Loading the rounds’ traces…") + "</p>";
      return;
    }
    const of = (name) => roles.arms[name] || { traces: 0, missing: 0, by_role: {} };
    const names = arms.map((a) => a.name);
    const found = QR.ROLES_ORDER.filter((r) => names.some((n) => of(n).by_role[r]));
    const value = (key) => (role, name) => (of(name).traces ? ((of(name).by_role[role] || {})[key] || 0) : null);
    const traces = names.reduce((n, name) => n + of(name).traces, 0);
    const missing = names.reduce((n, name) => n + (of(name).missing || 0), 0);
    box.innerHTML = C.legend(names, clsOf) + '<span class="muted small"> mean per round, from ' + esc(traces) + " traces" +
      (missing ? " (" + esc(missing) + " could not be loaded)" : "") + "</span>" + '<div class="chart-grid">' +
      ROLE_METRICS.map((m) => '<figure class="chart-box" data-chart="' + m.key + '"><figcaption>' + esc(m.label) + "</figcaption></figure>").join("") + "</div>";
    for (const m of ROLE_METRICS) {
      const figure = box.querySelector('[data-chart="' + m.key + '"]');
      figure.insertAdjacentHTML("beforeend", C.bars({ title: m.label + " per role and arm", width: figure.clientWidth || 320, cls: clsOf,
        fmt: m.fmt, tickFmt: m.key === "model_calls" ? (v) => String(v) : m.fmt, groups: found, series: names, value: value(m.key) }));
    }
  }

  function draw(result) {
    S.intervalCharts(document.getElementById("chart-intervals"), result, arms);
    latencyCharts(result);
    roleCharts();
  }

  const R = {};
  /** Draw the report; opts.roles: per-role means given with the result (a saved report). */
  R.render = async (result, opts) => {
    current = result;
    arms = S.arms(result);
    roles = (opts && opts.roles) || null;
    const mine = ++token;
    const box = document.getElementById("report");
    skeleton(box);
    box.hidden = false;
    exportsBar(result);
    document.getElementById("summary").innerHTML = S.summaryTable(result, arms);
    document.getElementById("paired").innerHTML = S.pairedTable(result, arms);
    document.getElementById("by-category").innerHTML = S.categoryTable(result, arms);
    document.getElementById("questions").innerHTML = questionsTable(result);
    draw(result);
    if (roles || offline()) return;
    const loaded = await loadRoles(result, mine);
    if (mine !== token) return;
    roles = loaded;
    roleCharts();
  };
  R.hide = () => { token++; current = null; document.getElementById("report").hidden = true; };

  let resizeTimer = null;
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (!current || window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => draw(current), 150);
  });

  QR.ROLES_ORDER = ["Questioner", "Answerer", "Judge"];
  QR.report = R;
})();
