/* The statistics of a comparison, as the API computed them (result.statistics, from
   service/comparisons/statistics.py): nothing is recomputed here, only shown. For N arms (named in
   result.settings.arms): the per-arm summary table (accuracy with its 95 % Wilson interval,
   medians with 95 % bootstrap intervals), error-bar charts of the same intervals, the paired
   differences against the baseline (difference, interval, p-value, test, significance, rough
   questions needed) and accuracy per category. Every number cell carries the API's raw value in
   data-value / data-low / data-high / data-p. QR.stats.{arms, summaryTable, intervalCharts,
   pairedTable, categoryTable}. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const C = QR.charts;
  const S = {};
  const known = (v) => v !== null && v !== undefined;
  const num = (v) => (known(v) ? Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 }) : "—");
  const pct = (v) => (known(v) ? (v * 100).toFixed(1) + "%" : "—");
  S.pct = pct;
  S.MEASURES = [
    { key: "ttft_ms", label: "Time to first token", fmt: QR.fmtMs },
    { key: "round_ms", label: "Round time", fmt: QR.fmtMs },
    { key: "overhead_ms", label: "Orchestration overhead", fmt: QR.fmtMs },
    { key: "model_calls", label: "Model calls", fmt: num },
    { key: "input_tokens", label: "Input tokens", fmt: num },
    { key: "output_tokens", label: "Output tokens", fmt: num },
    { key: "cost", label: "Cost", fmt: QR.fmtCost },
  ];
  const TESTS = { mcnemar_exact: "McNemar (exact)", wilcoxon: "Wilcoxon signed-rank" };

  /** The arms in the order they ran: [{name, pipeline, model, model_settings, index, cls}]. */
  S.arms = (result) => {
    const settings = result.settings || {};
    const list = settings.arms || Object.keys(result.pipelines || {}).map((name) => ({ name, pipeline: name }));
    return list.map((a, i) => ({ ...a, index: i, cls: "arm-c arm-" + (i % 8) }));
  };
  S.armHead = (a, baseline) => '<span class="arm-name ' + esc(a.cls) + '">' + esc(a.name) + "</span>" +
    (a.name === baseline ? ' <span class="muted small">(baseline)</span>' : "");
  const ci = (interval, fmt) => (interval && known(interval.low) ? ' <span class="ci">[' + esc(fmt(interval.low)) + " – " + esc(fmt(interval.high)) + "]</span>" : "");
  const attrs = (o) => Object.entries(o).map(([k, v]) => " data-" + k + '="' + esc(known(v) ? v : "") + '"').join("");
  const settingsText = (s) => Object.entries(s || {}).map(([k, v]) => k + " " + v).join(", ") || "—";

  /** Per arm: what ran, completion, accuracy (Wilson), errors, medians (bootstrap), p95s, totals. */
  S.summaryTable = (result, arms) => {
    const stats = (result.statistics || {}).arms || {};
    const plain = result.pipelines || {};
    const cell = (a, key, html, data) => '<td class="num" data-arm="' + esc(a.name) + '" data-metric="' + key + '"' + attrs(data || {}) + ">" + html + "</td>";
    const row = (key, label, fn) => '<tr data-metric="' + key + '"><th scope="row">' + esc(label) + "</th>" +
      arms.map((a) => fn(a, stats[a.name] || null, plain[a.name] || {})).join("") + "</tr>";
    const rows = [
      row("pipeline", "Pipeline", (a) => cell(a, "pipeline", QR.pipelineBadge(a.pipeline))),
      row("model", "Model", (a) => cell(a, "model", esc(a.model || "—"))),
      row("settings", "Model settings", (a) => cell(a, "settings", esc(settingsText(a.model_settings)))),
      row("completed", "Rounds completed", (a, s, p) => (s ? cell(a, "completed", esc(s.completed + " / " + s.rounds) + ci(s.completion_wilson, pct),
        { value: s.completion_rate, low: (s.completion_wilson || {}).low, high: (s.completion_wilson || {}).high }) :
        cell(a, "completed", esc(known(p.completed) ? p.completed + " / " + p.rounds : "—")))),
      row("correct", "Correct", (a, s, p) => cell(a, "correct", esc(s ? s.correct + " / " + s.judged : known(p.correct) ? p.correct + " / " + p.rounds : "—"))),
      row("accuracy", "Accuracy (95% Wilson interval)", (a, s, p) => (s ? cell(a, "accuracy", esc(pct(s.accuracy)) + ci(s.accuracy_wilson, pct),
        { value: s.accuracy, low: (s.accuracy_wilson || {}).low, high: (s.accuracy_wilson || {}).high }) : cell(a, "accuracy", esc(pct(p.accuracy))))),
      row("errors", "Errors", (a, s, p) => cell(a, "errors", esc(Object.entries((s || p).errors || {}).map(([c, k]) => c + " ×" + k).join(", ") || "none"))),
      ...S.MEASURES.map((m) => row(m.key, m.label + ", median (95% interval)", (a, s) => {
        const v = s ? s.metrics[m.key] : null;
        return v ? cell(a, m.key, esc(m.fmt(v.median)) + ci(v, m.fmt), { value: v.median, low: v.low, high: v.high, n: v.n }) : cell(a, m.key, "—");
      })),
      row("ttft_p95", "Time to first token, p95", (a, s, p) => cell(a, "ttft_p95", esc(QR.fmtMs((p.ttft_ms || {}).p95)), { value: (p.ttft_ms || {}).p95 })),
      row("round_p95", "Round time, p95", (a, s, p) => cell(a, "round_p95", esc(QR.fmtMs((p.round_ms || {}).p95)), { value: (p.round_ms || {}).p95 })),
      row("overhead_share", "Overhead share of round time, median", (a, s, p) => cell(a, "overhead_share", esc(pct(p.overhead_share)), { value: p.overhead_share })),
      row("model_calls_total", "Model calls in all", (a, s, p) => cell(a, "model_calls_total", esc(QR.fmtInt((p.model_calls || {}).total)),
        { value: (p.model_calls || {}).total })),
      row("cost_total", "Cost in all", (a, s, p) => cell(a, "cost_total", esc(p.cost ? QR.fmtCost(p.cost.total) : "n/a (no price)"), { value: p.cost ? p.cost.total : null })),
    ];
    const settings = result.settings || {};
    return '<table class="grid summary-table"><caption>' + esc(QR.plural(settings.rounds, "question") + ", each asked of every arm. ") +
      "In brackets: 95% intervals (Wilson for proportions, bootstrap for medians)." +
      (result.statistics ? "" : " This result has no statistics (it predates them).") + '</caption><thead><tr><th scope="col">Per arm</th>' +
      arms.map((a) => '<th scope="col" class="num" data-arm="' + esc(a.name) + '">' + S.armHead(a, result.baseline) + "</th>").join("") +
      "</tr></thead><tbody>" + rows.join("") + "</tbody></table>";
  };

  /** Error bars: accuracy with its Wilson interval, then each median with its bootstrap interval. */
  S.intervalCharts = (box, result, arms) => {
    const stats = (result.statistics || {}).arms;
    if (!stats) {
      box.innerHTML = '<p class="muted">No intervals: this result has no statistics.</p>';
      return;
    }
    const charts = [];
    const figure = (key, label, rows, fmt, max, tickFmt) => charts.push({ key, label, rows, fmt, max, tickFmt });
    const accuracy = arms.map((a) => {
      const s = stats[a.name] || {};
      const w = s.accuracy_wilson || {};
      return { name: a.name, cls: a.cls, value: s.accuracy, low: w.low, high: w.high, note: "n=" + (s.judged || 0) };
    });
    figure("accuracy", "Accuracy, 95% Wilson interval", accuracy, pct, 1, (v) => Math.round(v * 100) + "%");
    for (const m of S.MEASURES) {
      const rows = arms.map((a) => {
        const v = ((stats[a.name] || {}).metrics || {})[m.key] || {};
        return { name: a.name, cls: a.cls, value: v.median, low: v.low, high: v.high, note: "n=" + (v.n || 0) };
      });
      if (m.key === "cost" && !rows.some((r) => r.high)) continue; // no prices: all zero or unknown
      figure(m.key, m.label + ", median with 95% bootstrap interval", rows, m.fmt);
    }
    box.innerHTML = C.legend(arms.map((a) => a.name), (name) => arms.find((a) => a.name === name).cls) +
      '<span class="muted small"> point: estimate · line: 95% interval</span><div class="chart-grid ci-grid">' + charts.map((c) =>
        '<figure class="chart-box" data-chart="ci-' + c.key + '"><figcaption>' + esc(c.label) + "</figcaption></figure>").join("") + "</div>";
    for (const c of charts) {  // drawn at the figure's own width, so the labels stay legible
      const fig = box.querySelector('[data-chart="ci-' + c.key + '"]');
      fig.insertAdjacentHTML("beforeend", C.errorBars({ title: c.label, width: fig.clientWidth || 420, fmt: c.fmt, tickFmt: c.tickFmt, max: c.max, rows: c.rows }));
    }
  };

  const signed = (fmt, v) => (!known(v) ? "—" : v > 0 ? "+" + fmt(v) : v < 0 ? "\u2212" + fmt(-v) : "±" + fmt(0));
  const pp = (v) => (v * 100).toFixed(1) + " pp";

  function pairedRow(arm, measure, label, d, fmt) {
    const verdict = d.significant ? '<span class="sig">significant</span>' : '<span class="not-sig">not significant at n=' + esc(d.n) + "</span>";
    const needed = known(d.questions_needed) ? "≈ " + QR.fmtInt(d.questions_needed) : "—";
    const why = d.questions_needed === null ? (d.value === 0 || d.median === 0 ? "no difference observed" : "too few differences to tell") :
      "about this many paired questions would detect a difference of this size (80% power, α = 0.05)";
    return '<tr data-arm="' + esc(arm) + '" data-measure="' + esc(measure) + '"><th scope="row">' + esc(label) + "</th>" +
      '<td class="num pd-diff"' + attrs({ value: d.value }) + ">" + esc(signed(fmt, d.value)) + "</td>" +
      '<td class="num pd-interval"' + attrs({ low: d.low, high: d.high }) + ">" + (known(d.low) ? esc("[" + signed(fmt, d.low) + ", " + signed(fmt, d.high) + "]") : "—") + "</td>" +
      '<td class="num pd-p"' + attrs({ p: d.p_value }) + ">" + esc(known(d.p_value) ? String(d.p_value) : "—") + "</td>" +
      '<td class="pd-test">' + esc(TESTS[d.test] || d.test || "—") + (d.reason ? '<span class="reason">' + esc(d.reason) + "</span>" : "") + "</td>" +
      '<td class="pd-verdict"' + attrs({ significant: String(Boolean(d.significant)), n: d.n }) + ">" + verdict + "</td>" +
      '<td class="num pd-needed"' + attrs({ needed: d.questions_needed }) + ' title="' + esc(why) + '">' + esc(needed) + "</td></tr>";
  }

  /** Every other arm against the baseline, question by question (other − baseline). */
  S.pairedTable = (result, arms) => {
    const stats = result.statistics || {};
    const paired = stats.paired || {};
    const baseline = stats.baseline || result.baseline;
    const others = arms.filter((a) => paired[a.name]);
    if (!others.length) return '<p class="muted stat-note">' + esc(stats.paired ? "Only one arm: nothing to pair with the baseline." : "No paired statistics in this result.") + "</p>";
    const body = others.map((a) => {
      const p = paired[a.name];
      const c = p.correctness;
      const t = c.table || {};
      const rows = [pairedRow(a.name, "accuracy", "Accuracy", { ...c, value: c.difference.value, low: c.difference.low, high: c.difference.high }, pp)];
      for (const m of S.MEASURES) {
        const d = p.metrics[m.key];
        if (d) rows.push(pairedRow(a.name, m.key, m.label + " (median difference)", { ...d, value: d.median }, m.fmt));
      }
      return '<tbody data-arm="' + esc(a.name) + '"><tr class="arm-head"><th colspan="7" scope="rowgroup">' + S.armHead(a, baseline) + " − " + esc(baseline) +
        ' <span class="muted small">' + esc(QR.plural(p.pairs, "paired question") + " · right in both " + (t.both_correct || 0) + ", only " + baseline + " " +
        (t.baseline_only || 0) + ", only " + a.name + " " + (t.other_only || 0) + ", in neither " + (t.both_wrong || 0)) + "</span></th></tr>" + rows.join("") + "</tbody>";
    }).join("");
    return '<table class="grid paired-table"><caption>Each arm minus the baseline (' + esc(baseline) + "), paired by question. Significant: p &lt; " +
      esc(stats.alpha) + ". Questions needed: a rough number of paired questions to detect a difference of this size.</caption>" +
      '<thead><tr><th scope="col">Measure</th><th scope="col" class="num">Difference</th><th scope="col" class="num">95% interval</th>' +
      '<th scope="col" class="num">p-value</th><th scope="col">Test</th><th scope="col">Verdict</th><th scope="col" class="num">Questions needed</th></tr></thead>' +
      body + "</table>";
  };

  /** Accuracy per category and arm, with Wilson intervals and the median round time. */
  S.categoryTable = (result, arms) => {
    const categories = (result.statistics || {}).categories;
    if (!categories) return '<p class="muted stat-note">No per-category statistics in this result.</p>';
    const rows = Object.entries(categories).map(([category, byArm]) => '<tr data-category="' + esc(category) + '"><th scope="row">' + esc(category) + "</th>" +
      arms.map((a) => {
        const c = byArm[a.name];
        if (!c) return '<td class="num" data-category="' + esc(category) + '" data-arm="' + esc(a.name) + '">—</td>';
        const w = c.wilson || {};
        return '<td class="num" data-category="' + esc(category) + '" data-arm="' + esc(a.name) + '"' +
          attrs({ accuracy: c.accuracy, low: w.low, high: w.high, correct: c.correct, judged: c.judged, rounds: c.rounds }) + ">" +
          esc(c.correct + " / " + c.judged + " · " + pct(c.accuracy)) + ci(c.wilson, pct) +
          '<div class="muted small">median ' + esc(QR.fmtMs((c.round_ms || {}).median)) + "</div></td>";
      }).join("") + "</tr>");
    return '<table class="grid category-table"><caption>Correct / judged, accuracy and its 95% Wilson interval, per category and arm</caption>' +
      '<thead><tr><th scope="col">Category</th>' + arms.map((a) => '<th scope="col" class="num" data-arm="' + esc(a.name) + '">' + S.armHead(a, result.baseline) +
      "</th>").join("") + "</tr></thead><tbody>" + (rows.join("") || '<tr><td class="empty">No rounds.</td></tr>') + "</tbody></table>";
  };

  QR.stats = S;
})();
