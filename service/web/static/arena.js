/* The arena: one question, both pipelines streaming side by side at the same time. The seed is
   chosen here and sent with both requests, so both meet the same question (or both get the
   player's own question and reference answer). When both are done: verdicts, timings, tokens
   and calls per side, and links to both traces and to their comparison. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const form = document.getElementById("setup");
  const summary = document.getElementById("arena-summary");
  const PIPELINES = ["agents", "chat"];
  let controller = null;

  const randomSeed = () => Math.floor(Math.random() * 2147483647);
  const reseed = () => { form.elements.seed.value = String(randomSeed()); };

  function request() {
    const data = new FormData(form);
    const question = String(data.get("question") || "").trim();
    const reference = String(data.get("reference_answer") || "").trim();
    if (question || reference) {
      if (!question || !reference) throw new Error("Give both your question and its reference answer (or neither).");
      return { question, reference_answer: reference };
    }
    const seed = Number(data.get("seed"));
    if (!Number.isInteger(seed) || seed < 0 || seed > 2147483647) throw new Error("The seed must be a whole number from 0 to 2147483647.");
    const body = { seed };
    if (data.get("category")) body.category = data.get("category");
    if (data.get("difficulty")) body.difficulty = data.get("difficulty");
    return body;
  }

  async function play(pipeline, body, title, signal) {
    const stage = document.querySelector('.arena-col[data-pipeline="' + pipeline + '"] .arena-stage');
    stage.replaceChildren();
    const view = new QR.RoundView(stage, { title, pipeline });
    try {
      await QR.followRound({ body: { ...body, pipeline }, signal, onEvent: (event, id) => view.handle(event, id),
        onStatus: (text) => QR.status(pipeline + ": " + text) });
    } catch (err) {
      if (!signal.aborted) view.failed(err.status ? "HTTP " + err.status : "connection", err.message);
    }
    return view;
  }

  const handoffs = (view) => view.root.querySelectorAll(".handoff-line").length;
  const numbers = (view) => {
    const r = view.result || {};
    const timings = r.timings || {};
    const total = ((r.usage || view.usage || {}).total) || {};
    return { ttft: timings.time_to_first_token_ms, total_ms: timings.total_ms, calls: total.requests,
      input: total.input_tokens, output: total.output_tokens, tokens: total.total_tokens, handoffs: handoffs(view) };
  };
  const ROWS = [
    ["ttft", "Time to first token", QR.fmtMs, "duration_ms"], ["total_ms", "Round time", QR.fmtMs, "duration_ms"],
    ["calls", "Model calls", QR.fmtInt, "model_calls"], ["input", "Tokens in", QR.fmtInt, "input_tokens"],
    ["output", "Tokens out", QR.fmtInt, "output_tokens"], ["tokens", "Tokens in total", QR.fmtInt, "total_tokens"],
    ["handoffs", "Handoffs", QR.fmtInt, "handoffs"],
  ];

  function verdictCell(view) {
    if (view.error) return '<span class="bad">failed: ' + esc(view.error.code) + "</span>";
    if (!view.verdict) return '<span class="muted">no verdict</span>';
    return view.verdict.correct ? '<span class="good-text">✓ right</span>' : '<span class="bad">✗ wrong</span>';
  }

  function renderSummary(views, label) {
    const [a, b] = views;
    const na = numbers(a);
    const nb = numbers(b);
    const traceA = a.info && a.info.trace_id;
    const traceB = b.info && b.info.trace_id;
    const traceCell = (v, id) => (id ? '<a class="trace-page" href="/traces/' + esc(encodeURIComponent(id)) + '">' + esc(QR.shortId(id)) + "</a>" : "—");
    const diff = (key, metric) => (na[key] === undefined || nb[key] === undefined || na[key] === null || nb[key] === null ? "" :
      QR.diffHTML(metric, nb[key] - na[key]));
    const answer = (v) => {
      const text = v.result && v.result.answer;
      if (!text) return "—";
      return '<span title="' + esc(text) + '">“' + esc(text.length > 90 ? text.slice(0, 89) + "…" : text) + "”</span>";
    };
    summary.innerHTML = '<div class="panel-head"><h2>' + esc(label) + "</h2>" +
      (traceA && traceB ? '<a class="button" id="compare-link" href="/traces/compare' + esc(QR.qs({ a: traceA, b: traceB })) +
        '">Compare the two traces</a>' : "") + "</div>" +
      '<div class="table-wrap"><table class="grid arena-table"><thead><tr><th scope="col">Per side</th>' +
      '<th scope="col">' + QR.pipelineBadge("agents") + '</th><th scope="col">' + QR.pipelineBadge("chat") +
      '</th><th scope="col" class="diff-col">chat − agents</th></tr></thead><tbody>' +
      '<tr data-metric="verdict"><th scope="row">Verdict</th><td data-pipeline="agents">' + verdictCell(a) + '</td><td data-pipeline="chat">' +
      verdictCell(b) + "</td><td class=\"diff-col\"></td></tr>" +
      '<tr data-metric="answer"><th scope="row">Answer</th><td class="wrap" data-pipeline="agents">' + answer(a) + '</td><td class="wrap" data-pipeline="chat">' +
      answer(b) + "</td><td class=\"diff-col\"></td></tr>" +
      ROWS.map(([key, text, fmt, metric]) => '<tr data-metric="' + key + '"><th scope="row">' + esc(text) + '</th><td class="num" data-pipeline="agents">' +
        esc(fmt(na[key])) + '</td><td class="num" data-pipeline="chat">' + esc(fmt(nb[key])) + '</td><td class="num diff-col">' + diff(key, metric) + "</td></tr>").join("") +
      '<tr data-metric="trace"><th scope="row">Trace</th><td data-pipeline="agents">' + traceCell(a, traceA) + '</td><td data-pipeline="chat">' +
      traceCell(b, traceB) + "</td><td class=\"diff-col\"></td></tr></tbody></table></div>";
    summary.hidden = false;
  }

  async function start() {
    let body;
    try {
      body = request();
    } catch (err) {
      QR.status(err.message, "error");
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    QR.status("");
    summary.hidden = true;
    const label = body.question ? "Your question" : "Seed " + body.seed;
    QR.announce("Both pipelines started.");
    const views = await Promise.all(PIPELINES.map((pipeline) => play(pipeline, body, label, signal)));
    if (signal.aborted) return;
    renderSummary(views, label);
    const right = views.map((v, i) => PIPELINES[i] + (v.verdict ? (v.verdict.correct ? " right" : " wrong") : " failed")).join(", ");
    QR.announce("Both done: " + right + ".");
    if (!body.question) reseed(); // the next start asks a new question; this one's seed stays in the title
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); start(); });
  document.getElementById("reseed").addEventListener("click", reseed);
  reseed();
  QR.loadCategories(form.elements.category);
})();
