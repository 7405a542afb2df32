/* The waterfall (span rows with time bars on one axis) and the span details panel, shared by
   the trace page and the compare page. Rows are built as one HTML string and inserted in one
   pass; clicks and keys are handled by delegation on the container, so 500+ spans stay fast. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const WF = {};

  /** ~6 round tick values from 0 to `total` ms (steps of 1, 2 or 5 × 10^n). */
  WF.ticks = (total) => {
    if (!(total > 0)) return [0];
    const raw = total / 6;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let t = 0; t <= total + step * 1e-9; t += step) ticks.push(t);
    return ticks;
  };

  const pct = (value) => Math.max(0, Math.min(100, value)).toFixed(3) + "%";

  /** The axis cell: tick labels at their positions. */
  WF.axisHTML = (scale) => '<div class="wf-axis-track">' + WF.ticks(scale).map((t) =>
    '<span class="tick" style="left:' + pct((100 * t) / scale) + '">' + esc(t === 0 ? "0" : QR.fmtMs(t)) + "</span>").join("") + "</div>";
  /** Vertical grid lines behind the bars (one set per track column). */
  WF.gridHTML = (scale) => WF.ticks(scale).map((t) => '<i class="gridline" style="left:' + pct((100 * t) / scale) + '"></i>').join("");

  /** Secondary text after a span's name. */
  WF.subtitle = (span) => {
    const data = span.data || {};
    if (span.kind === "generation") {
      const out = WF.messages(data.output).filter((m) => m.role === "assistant");
      const last = out[out.length - 1];
      let what = "";
      if (last && last.calls.length) what = "→ " + last.calls.map((c) => c.name).join(", ") + " · ";
      else if (last && last.text) what = "“" + (last.text.length > 28 ? last.text.slice(0, 27) + "…" : last.text) + "” · ";
      return what + QR.fmtInt(span.input_tokens) + "/" + QR.fmtInt(span.output_tokens) + " tok";
    }
    if (span.kind === "function" && typeof data.input === "string" && data.input.trim()) {
      const args = data.input.replace(/\s+/g, " ").trim();
      return "(" + (args.length > 48 ? args.slice(0, 47) + "…" : args) + ")";
    }
    return "";
  };

  /** The name cell of a span row. */
  WF.nameHTML = (span, opts) => {
    const o = opts || {};
    const twisty = o.parent ? '<span class="twisty" aria-hidden="true">▾</span>' : '<span class="twisty none"></span>';
    return '<div class="wf-name" style="padding-left:' + (6 + 14 * (o.indent === false ? 0 : span.depth)) + 'px">' + twisty +
      (span.status === "error" ? '<span class="kicon k-error" title="error">!</span>' : QR.kindIcon(span.kind)) +
      '<span class="wf-label">' + esc(span.name) + "</span>" +
      '<span class="wf-sub">' + esc(WF.subtitle(span)) + "</span></div>";
  };

  /** The time cell: a bar from start to end on a scale of `scale` ms starting at `origin` ms. */
  WF.trackHTML = (span, scale, origin) => {
    const start = (span.start_ms || 0) - (origin || 0);
    const duration = span.duration_ms;
    const left = (100 * start) / scale;
    const width = duration === null || duration === undefined ? 0 : (100 * duration) / scale;
    let ttft = "";
    if (span.kind === "generation" && span.ttft_ms !== null && span.ttft_ms !== undefined && duration > 0) {
      ttft = '<i class="wf-ttft" style="width:' + pct((100 * span.ttft_ms) / duration) + '" title="time to first token"></i>';
    }
    // The duration label goes after the bar, else before it, else (a bar across the whole
    // track) inside its end.
    const place = left + width <= 78 ? "after" : left >= 14 ? "before" : "inside";
    const at = { after: "left:" + pct(left + width), before: "right:" + pct(100 - left), inside: "right:" + pct(100 - left - width) }[place];
    const label = '<span class="wf-dur ' + place + (span.kind === "agent" ? " on-light" : "") + '" style="' + at + '">' +
      esc(duration === null || duration === undefined ? "running" : QR.fmtMs(duration)) + "</span>";
    return '<div class="wf-track"><div class="wf-bar k-' + QR.kindOf(span.kind) + '" style="left:' + pct(left) + ";width:" +
      pct(width) + '">' + ttft + "</div>" + label + "</div>";
  };

  /** All rows of one trace (tree order) as one HTML string, with the axis on top. */
  WF.treeHTML = (spans, scale, side) => {
    const rows = [];
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      const parent = i + 1 < spans.length && spans[i + 1].depth > span.depth;
      rows.push('<div class="wf-row' + (span.status === "error" ? " err" : "") + '" role="treeitem" aria-level="' + (span.depth + 1) +
        '" aria-selected="false"' + (parent ? ' aria-expanded="true"' : "") + ' tabindex="' + (i === 0 ? 0 : -1) +
        '" data-span="' + side + i + '" data-side="' + side + '" data-depth="' + span.depth + '">' +
        WF.nameHTML(span, { parent }) + WF.trackHTML(span, scale, 0) + "</div>");
    }
    return '<div class="wf-inner"><div class="wf-head"><div class="wf-name">Span</div>' + WF.axisHTML(scale) + "</div>" +
      '<div class="wf-body" role="tree" aria-label="Span tree"><div class="wf-grid">' + WF.gridHTML(scale) + "</div>" +
      rows.join("") + "</div></div>";
  };

  /** The time scale of a trace: its duration, or the end of its last span if later. */
  WF.extent = (spans, duration) => {
    let end = duration || 0;
    for (const s of spans) end = Math.max(end, (s.start_ms || 0) + (s.duration_ms || 0));
    return end > 0 ? end : 1;
  };

  // Interaction -----------------------------------------------------------------------------
  /** Click, Enter/Space, arrows, Home/End and collapse (← →, twisty) on `container`'s
      [data-span] rows; `onSelect(key, element)` is called when a span is chosen. */
  WF.bind = (container, onSelect) => {
    const visibleOfSide = (side) => QR.$$('[data-span][data-side="' + side + '"]', container).filter((el) => !el.hidden);
    const move = (from, to) => {
      if (!to) return;
      from.tabIndex = -1;
      to.tabIndex = 0;
      to.focus();
    };
    container.addEventListener("click", (event) => {
      const row = event.target.closest("[data-span]");
      if (!row || !container.contains(row)) return;
      if (event.target.closest(".twisty") && row.hasAttribute("aria-expanded")) {
        WF.toggle(container, row);
        return;
      }
      onSelect(row.dataset.span, row);
    });
    container.addEventListener("keydown", (event) => {
      const row = event.target.closest("[data-span]");
      if (!row) return;
      const rows = visibleOfSide(row.dataset.side);
      const index = rows.indexOf(row);
      const key = event.key;
      if (key === "Enter" || key === " ") onSelect(row.dataset.span, row);
      else if (key === "ArrowDown") move(row, rows[index + 1]);
      else if (key === "ArrowUp") move(row, rows[index - 1]);
      else if (key === "Home") move(row, rows[0]);
      else if (key === "End") move(row, rows[rows.length - 1]);
      else if (key === "ArrowLeft" && row.getAttribute("aria-expanded") === "true") WF.toggle(container, row);
      else if (key === "ArrowRight" && row.getAttribute("aria-expanded") === "false") WF.toggle(container, row);
      else return;
      event.preventDefault();
    });
  };

  /** Mark `key` selected (and only it) in `container`. */
  WF.markSelected = (container, key) => {
    for (const el of QR.$$('[aria-selected="true"]', container)) el.setAttribute("aria-selected", "false");
    const row = container.querySelector('[data-span="' + key + '"]');
    if (row) {
      row.setAttribute("aria-selected", "true");
      for (const el of QR.$$('[data-span][tabindex="0"]', container)) el.tabIndex = -1;
      row.tabIndex = 0;
    }
    return row;
  };

  WF.toggle = (container, row) => {
    row.setAttribute("aria-expanded", row.getAttribute("aria-expanded") === "true" ? "false" : "true");
    WF.applyVisibility(container, container._filter || "");
  };

  /** One pass over the rows: a row shows when no ancestor is collapsed and, with a filter,
      when it or a descendant matches (`match(i)`). */
  WF.applyVisibility = (container, query, spans) => {
    container._filter = query;
    spans = spans || container._spans || [];
    const rows = QR.$$(".wf-row[data-span]", container);
    const q = query.trim().toLowerCase();
    const matches = new Array(rows.length).fill(!q);
    if (q) {
      const stack = [];
      for (let i = 0; i < spans.length; i++) {
        const s = spans[i];
        while (stack.length && spans[stack[stack.length - 1]].depth >= s.depth) stack.pop();
        const hay = (s.name + " " + s.kind + " " + (s.role || "") + " " + (QR.KINDS[s.kind] || {}).label).toLowerCase();
        if (hay.includes(q)) { matches[i] = true; for (const j of stack) matches[j] = true; }
        stack.push(i);
      }
    }
    let hiddenBelow = Infinity;
    for (let i = 0; i < rows.length; i++) {
      const depth = Number(rows[i].dataset.depth);
      if (depth <= hiddenBelow) hiddenBelow = Infinity;
      const collapsedAbove = hiddenBelow !== Infinity;
      rows[i].hidden = collapsedAbove || !matches[i];
      if (!collapsedAbove && rows[i].getAttribute("aria-expanded") === "false") hiddenBelow = depth;
    }
  };

  // Details ---------------------------------------------------------------------------------
  const partText = (part) => {
    if (typeof part === "string") return part;
    if (part && typeof part.text === "string") return part.text;
    if (part && part.refusal) return "[refusal] " + part.refusal;
    return JSON.stringify(part);
  };
  const contentText = (content) => (content === null || content === undefined ? "" :
    Array.isArray(content) ? content.map(partText).join("\n") : typeof content === "string" ? content : JSON.stringify(content));
  const call = (name, args, id) => ({ name, args, id });

  /** Chat messages, Responses input items or whole Responses objects → [{role, text, calls, callId}]. */
  WF.messages = (items) => {
    if (items === null || items === undefined) return [];
    if (typeof items === "string") return [{ role: "assistant", text: items, calls: [] }];
    if (!Array.isArray(items)) items = [items];
    const out = [];
    for (const item of items) {
      if (!item || typeof item !== "object") { out.push({ role: "", text: String(item), calls: [] }); continue; }
      if (item.object === "response" && Array.isArray(item.output)) { out.push(...WF.messages(item.output)); continue; }
      if (item.type === "function_call") { out.push({ role: "assistant", text: "", calls: [call(item.name, item.arguments, item.call_id)] }); continue; }
      if (item.type === "function_call_output") { out.push({ role: "tool", text: contentText(item.output), calls: [], callId: item.call_id }); continue; }
      if (item.type === "reasoning") { out.push({ role: "reasoning", text: contentText((item.summary || []).map(partText)), calls: [] }); continue; }
      if (item.role || item.type === "message") {
        const calls = (item.tool_calls || []).map((c) => call((c.function || {}).name || c.name, (c.function || {}).arguments, c.id));
        out.push({ role: item.role || "assistant", text: contentText(item.content), calls, callId: item.tool_call_id, name: item.name });
        continue;
      }
      out.push({ role: item.type || "item", text: JSON.stringify(item, null, 2), calls: [] });
    }
    return out;
  };

  const textBlock = (text) => {
    if (!text) return "";
    if (text.length <= 700) return '<div class="msg-text">' + esc(text) + "</div>";
    return '<details class="msg-long"><summary><span class="msg-text">' + esc(text.slice(0, 240)) + "…</span> <span class=\"more\">show all " +
      QR.fmtInt(text.length) + " characters</span></summary><div class=\"msg-text\">" + esc(text) + "</div></details>";
  };

  WF.messagesHTML = (messages) => {
    if (!messages.length) return '<p class="muted">Not recorded (content capture may be off).</p>';
    return messages.map((m) => '<div class="msg msg-' + esc(m.role) + '"><div class="msg-role">' + esc(m.role || "?") +
      (m.name ? " · " + esc(m.name) : "") + (m.callId ? ' <span class="msg-ref">result of ' + esc(m.callId) + "</span>" : "") + "</div>" +
      textBlock(m.text) + m.calls.map((c) => '<div class="toolcall"><div>' + QR.kindIcon("function") + " <b>" + esc(c.name) + "</b>" +
        (c.id ? ' <span class="muted">' + esc(c.id) + "</span>" : "") + "</div>" + QR.preJSON(QR.maybeJSON(c.args || "")) + "</div>").join("") +
      (!m.text && !m.calls.length ? '<div class="muted">(empty)</div>' : "") + "</div>").join("");
  };

  const valueHTML = (value) => {
    const parsed = QR.maybeJSON(value);
    if (parsed === null || parsed === undefined || parsed === "") return '<p class="muted">Not recorded.</p>';
    return typeof parsed === "string" ? '<pre class="text">' + esc(parsed) + "</pre>" : QR.preJSON(parsed);
  };
  const kv = (pairs) => '<dl class="kv">' + pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== "")
    .map((p) => "<dt>" + esc(p[0]) + "</dt><dd>" + p[1] + "</dd>").join("") + "</dl>";

  /** The details panel for one span (all text escaped). `link` is an optional permalink. */
  WF.detailsHTML = (span, link) => {
    const data = span.data || {};
    const kind = QR.kindOf(span.kind);
    let html = '<div class="d-head">' + QR.kindIcon(kind) + '<h2 class="d-title">' + esc(span.name) + "</h2>" +
      QR.statusBadge(span.status) + "</div>";
    const pairs = [["Kind", esc(QR.KINDS[kind].label)], ["Role", esc(span.role || "—")],
      ["Starts at", "+" + esc(QR.fmtMs(span.start_ms))], ["Duration", esc(QR.fmtMs(span.duration_ms))]];
    if (span.kind === "generation") {
      pairs.push(["Model", esc(span.model || data.model || "—")], ["Time to first token", esc(QR.fmtMs(span.ttft_ms))],
        ["Tokens", "in " + esc(QR.fmtInt(span.input_tokens)) + " · out " + esc(QR.fmtInt(span.output_tokens))],
        ["Cost", '<span title="' + (span.cost === null ? "no price known for this model" : "estimated") + '">' + esc(QR.fmtCost(span.cost)) + "</span>"]);
    }
    html += kv(pairs);
    if (span.error) {
      html += '<div class="errbox" role="alert"><b>Error:</b> ' + esc(span.error.message || "error") +
        (span.error.data ? QR.preJSON(span.error.data) : "") + "</div>";
    }
    if (span.data === undefined) html += '<p class="muted">Span content not loaded.</p>';
    else if (span.kind === "generation") {
      const input = WF.messages(data.input);
      html += "<h3>Input messages <span class=\"muted\">(" + input.length + ")</span></h3>" + WF.messagesHTML(input) +
        "<h3>Output</h3>" + WF.messagesHTML(WF.messages(data.output));
      if (data.model_config) html += "<details><summary>Model settings</summary>" + QR.preJSON(QR.compact(data.model_config)) + "</details>";
    } else if (span.kind === "function") {
      html += "<h3>Arguments</h3>" + valueHTML(data.input) + "<h3>Result</h3>" + valueHTML(data.output);
    } else if (span.kind === "handoff") {
      html += '<p class="handoff">' + esc(data.from_agent || "?") + " ⇢ " + esc(data.to_agent || "?") + "</p>";
    } else if (span.kind === "agent") {
      html += kv([["Tools", esc((data.tools || []).join(", ") || "none")], ["Hands off to", esc((data.handoffs || []).join(", ") || "none")],
        ["Output type", esc(data.output_type || "—")]]);
    } else if (span.kind === "guardrail") {
      html += kv([["Triggered", esc(String(!!data.triggered))]]);
    }
    if (span.data !== undefined) html += '<details><summary>Raw span data</summary>' + QR.preJSON(data) + "</details>";
    html += '<p class="d-foot muted">span ' + esc(span.id) + (link ? ' · <a href="' + esc(link) + '">link to this span</a>' : "") + "</p>";
    return html;
  };

  window.QR.wf = WF;
})();
