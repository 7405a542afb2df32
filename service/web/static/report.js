/* The compare page's results, from a comparison summary (GET /api/comparisons/{id} result or the
   stream's comparison_summary): the per-pipeline table, latency strip plots, per-role bars
   (averaged from the rounds' traces, GET /api/traces/{id} roll-ups) and the per-question pairs
   with links to both traces and their comparison. QR.report.render(result). */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const C = QR.charts;
  const PIPES = ["agents", "chat"];
  const ROLE_METRICS = [
    { key: "model_calls", label: "Model calls", fmt: (v) => Number(v).toFixed(1) },
    { key: "input_tokens", label: "Input tokens", fmt: (v) => QR.fmtInt(Math.round(v)) },
    { key: "output_tokens", label: "Output tokens", fmt: (v) => QR.fmtInt(Math.round(v)) },
    { key: "duration_ms", label: "Time in the role", fmt: QR.fmtMs },
  ];
  let current = null;
  let roleMeans = null;
  let token = 0;

  const fixed1 = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(1));
  const share = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
  const errors = (s) => Object.entries(s.errors || {}).map(([code, count]) => code + " ×" + count).join(", ") || "none";
  const spread = (s, key, q) => (s[key] || {})[q];
  const ROWS = [
    { key: "completed", label: "Rounds completed", text: (s) => s.completed + " / " + s.rounds },
    { key: "correct", label: "Correct", text: (s) => s.correct + " / " + s.rounds + (s.accuracy === null ? "" : " (" + Math.round(s.accuracy * 100) + "%)") },
    { key: "errors", label: "Errors", text: errors },
    { key: "ttft_median", label: "Time to first token, median", num: (s) => spread(s, "ttft_ms", "median"), fmt: QR.fmtMs, metric: "duration_ms" },
    { key: "ttft_p95", label: "Time to first token, p95", num: (s) => spread(s, "ttft_ms", "p95"), fmt: QR.fmtMs, metric: "duration_ms" },
    { key: "round_median", label: "Round time, median", num: (s) => spread(s, "round_ms", "median"), fmt: QR.fmtMs, metric: "duration_ms" },
    { key: "round_p95", label: "Round time, p95", num: (s) => spread(s, "round_ms", "p95"), fmt: QR.fmtMs, metric: "duration_ms" },
    { key: "model_ms", label: "Time in model calls, median", num: (s) => spread(s, "model_ms", "median"), fmt: QR.fmtMs, metric: "duration_ms" },
    { key: "overhead_ms", label: "Orchestration overhead, median", num: (s) => spread(s, "overhead_ms", "median"), fmt: QR.fmtMs, metric: "duration_ms" },
    { key: "overhead_share", label: "Overhead share of round time", text: (s) => share(s.overhead_share) },
    { key: "model_calls", label: "Model calls per round", num: (s) => spread(s, "model_calls", "mean"), fmt: fixed1, metric: "model_calls" },
    { key: "model_calls_total", label: "Model calls in all", num: (s) => spread(s, "model_calls", "total"), fmt: QR.fmtInt, metric: "model_calls" },
    { key: "input_tokens", label: "Input tokens per round", num: (s) => spread(s, "input_tokens", "mean"), fmt: fixed1, metric: "input_tokens" },
    { key: "output_tokens", label: "Output tokens per round", num: (s) => spread(s, "output_tokens", "mean"), fmt: fixed1, metric: "output_tokens" },
    { key: "cost", label: "Cost in all", num: (s) => (s.cost ? s.cost.total : null), fmt: QR.fmtCost, metric: "cost", unknown: "n/a (no price)" },
  ];

  function summaryTable(result) {
    const stats = result.pipelines;
    const rows = ROWS.map((row) => {
      const cells = PIPES.map((p) => {
        const s = stats[p];
        const value = row.num ? row.num(s) : null;
        const text = row.text ? row.text(s) : value === null || value === undefined ? row.unknown || "—" : row.fmt(value);
        return '<td class="num" data-pipeline="' + p + '" data-metric="' + row.key + '">' + esc(text) + "</td>";
      }).join("");
      const a = row.num && row.num(stats.agents);
      const b = row.num && row.num(stats.chat);
      const diff = row.num && a !== null && a !== undefined && b !== null && b !== undefined ? QR.diffHTML(row.metric, b - a) : "";
      return '<tr data-metric="' + row.key + '"><th scope="row">' + esc(row.label) + "</th>" + cells + '<td class="num diff-col">' + diff + "</td></tr>";
    });
    const settings = result.settings || {};
    return '<table class="grid summary-table"><caption>' + esc(QR.plural(settings.rounds, "question") + ", each asked of both pipelines") +
      ' · difference chat − agents (<span class="delta less">green: chat less</span>, <span class="delta more">red: chat more</span>)</caption>' +
      '<thead><tr><th scope="col">Per pipeline</th><th scope="col" class="num">' + QR.pipelineBadge("agents") + '</th><th scope="col" class="num">' +
      QR.pipelineBadge("chat") + '</th><th scope="col" class="num diff-col">chat − agents</th></tr></thead><tbody>' + rows.join("") + "</tbody></table>";
  }

  function roundCell(r) {
    if (!r) return "<td>—</td>";
    const mark = r.correct === true ? '<span class="good-text" title="right">✓</span>' : r.correct === false ? '<span class="bad" title="wrong">✗</span>' :
      '<span class="bad">' + esc(r.error_code || r.status) + "</span>";
    return '<td data-pipeline="' + esc(r.pipeline) + '">' + mark + " " + esc(QR.fmtMs(r.round_ms)) + ' · <span title="model calls">' +
      esc(QR.fmtInt(r.model_calls)) + ' calls</span> · <a class="trace-page" href="' + esc(r.links.trace_page) + '">trace</a></td>';
  }

  function questionsTable(result) {
    const rows = result.questions.map((q) => '<tr data-index="' + esc(q.index) + '"><td class="num">' + esc(q.index + 1) + '</td><td class="wrap">' +
      '<span class="muted">' + esc(q.category) + "</span> " + esc(q.question || "—") + '</td><td class="wrap">' + esc(q.reference_answer || "—") + "</td>" +
      roundCell(q.rounds.agents) + roundCell(q.rounds.chat) + "<td>" +
      (q.compare_page ? '<a class="compare-page" href="' + esc(q.compare_page) + '">compare traces</a>' : "") + "</td></tr>");
    return '<table class="grid questions-table"><thead><tr><th class="num">#</th><th>Question</th><th>Reference</th><th>' + QR.pipelineBadge("agents") +
      "</th><th>" + QR.pipelineBadge("chat") + "</th><th></th></tr></thead><tbody>" + rows.join("") + "</tbody></table>";
  }

  function latencyCharts(result) {
    const box = document.getElementById("chart-latency");
    const width = box.clientWidth || 560;
    const series = (key) => PIPES.map((p) => ({
      name: p, median: spread(result.pipelines[p], key, "median"), p95: spread(result.pipelines[p], key, "p95"),
      values: result.questions.filter((q) => q.rounds[p]).map((q) => ({ value: q.rounds[p][key], label: "Q" + (q.index + 1) + " " + p })),
    }));
    box.innerHTML = C.legend(PIPES) + '<span class="muted small"> dots: rounds · bar: median · dashed: p95</span>' +
      '<figure class="chart-box" data-chart="round_ms"><figcaption>Round time</figcaption>' +
      C.strip({ title: "Round time per round", width, fmt: QR.fmtMs, series: series("round_ms") }) + "</figure>" +
      '<figure class="chart-box" data-chart="ttft_ms"><figcaption>Time to first token</figcaption>' +
      C.strip({ title: "Time to first token per round", width, fmt: QR.fmtMs, series: series("ttft_ms") }) + "</figure>";
  }

  /** Per pipeline and role, the mean of the traces' roll-ups (4 traces fetched at a time). */
  async function loadRoles(result, mine) {
    const jobs = [];
    for (const q of result.questions) for (const p of PIPES) if (q.rounds[p] && q.rounds[p].trace_id) jobs.push([p, q.rounds[p].trace_id]);
    const sums = { agents: { count: 0, roles: {} }, chat: { count: 0, roles: {} } };
    let next = 0;
    let failed = 0;
    const worker = async () => {
      while (next < jobs.length && mine === token) {
        const [pipeline, id] = jobs[next++];
        try {
          const trace = await QR.api("/api/traces/" + encodeURIComponent(id), { content: "false" });
          const into = sums[pipeline];
          into.count += 1;
          for (const [role, r] of Object.entries(trace.rollups.by_role || {})) {
            const acc = into.roles[role] || (into.roles[role] = {});
            for (const m of ROLE_METRICS) acc[m.key] = (acc[m.key] || 0) + (r[m.key] || 0);
          }
        } catch (err) {
          failed += 1;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    return { sums, failed, traces: jobs.length };
  }

  function roleCharts() {
    const box = document.getElementById("chart-roles");
    if (!roleMeans) return;
    const { sums, failed, traces } = roleMeans;
    const roles = QR.ROLES_ORDER.filter((r) => PIPES.some((p) => sums[p].roles[r]));
    const value = (key) => (role, p) => (sums[p].count && sums[p].roles[role] ? sums[p].roles[role][key] / sums[p].count : sums[p].count ? 0 : null);
    box.innerHTML = C.legend(PIPES) + '<span class="muted small"> mean per round, from ' + esc(traces - failed) + " traces" +
      (failed ? " (" + esc(failed) + " could not be loaded)" : "") + "</span>" + '<div class="chart-grid">' +
      ROLE_METRICS.map((m) => '<figure class="chart-box" data-chart="' + m.key + '"><figcaption>' + esc(m.label) + "</figcaption></figure>").join("") + "</div>";
    for (const m of ROLE_METRICS) {
      const figure = box.querySelector('[data-chart="' + m.key + '"]');
      figure.insertAdjacentHTML("beforeend", C.bars({ title: m.label + " per role and pipeline", width: figure.clientWidth || 320,
        fmt: m.fmt, tickFmt: m.key === "model_calls" ? (v) => String(v) : m.fmt, groups: roles, series: PIPES, value: value(m.key) }));
    }
  }

  const R = {};
  R.render = async (result) => {
    current = result;
    roleMeans = null;
    const mine = ++token;
    document.getElementById("report").hidden = false;
    document.getElementById("summary").innerHTML = summaryTable(result);
    document.getElementById("questions").innerHTML = questionsTable(result);
    latencyCharts(result);
    document.getElementById("chart-roles").innerHTML = '<p class="muted">Loading the rounds’ traces…</p>';
    const loaded = await loadRoles(result, mine);
    if (mine !== token) return;
    roleMeans = loaded;
    roleCharts();
  };
  R.hide = () => { token++; current = null; document.getElementById("report").hidden = true; };

  let resizeTimer = null;
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (!current || window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { latencyCharts(current); roleCharts(); }, 150);
  });

  QR.ROLES_ORDER = ["Questioner", "Answerer", "Judge"];
  QR.report = R;
})();
