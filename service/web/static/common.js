/* Shared helpers for every page: fetching the JSON API, escaping, formatting numbers, times
   and differences, span kinds, pretty JSON. Everything lives on window.QR.
   Rule: any text that comes from the API goes through QR.esc (or QR.jsonHTML) before it
   becomes HTML; span data is model output. */
"use strict";
(function () {
  const QR = {};

  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  /** HTML-escape anything (null/undefined → ""). Safe in text and in quoted attributes. */
  QR.esc = (value) => (value === null || value === undefined ? "" : String(value)).replace(/[&<>"']/g, (c) => ESC[c]);

  QR.$ = (selector, root) => (root || document).querySelector(selector);
  QR.$$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  /** Query string from an object, leaving out empty values. */
  QR.qs = (params) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== null && value !== undefined && value !== "") search.set(key, value);
    }
    const text = search.toString();
    return text ? "?" + text : "";
  };

  /** GET a JSON API path; throws an Error whose message is the API's `detail` when there is one. */
  QR.api = async (path, params) => {
    let response;
    try {
      response = await fetch(path + QR.qs(params), { headers: { accept: "application/json" } });
    } catch (err) {
      throw new Error("The service did not answer (" + err.message + ")");
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!response.ok) {
      let detail = body && body.detail;
      if (Array.isArray(detail)) detail = detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
      const error = new Error(detail || "HTTP " + response.status);
      error.status = response.status;
      throw error;
    }
    return body;
  };

  /** Show a message in the page's #status box (kind: "", "error"); empty text hides it. */
  QR.status = (text, kind) => {
    const box = document.getElementById("status");
    if (!box) return;
    box.hidden = !text;
    box.textContent = text || "";
    box.className = "notice" + (kind ? " " + kind : "");
  };

  // Numbers ---------------------------------------------------------------------------------
  const round = (value, digits) => Number(value.toFixed(digits));
  QR.fmtMs = (ms) => {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
    const abs = Math.abs(ms);
    if (abs < 10) return round(ms, 1) + " ms";
    if (abs < 1000) return Math.round(ms) + " ms";
    if (abs < 60000) return round(ms / 1000, abs < 10000 ? 2 : 1) + " s";
    const sign = ms < 0 ? "-" : "";
    const seconds = Math.round(abs / 1000);
    return sign + Math.floor(seconds / 60) + " m " + String(seconds % 60).padStart(2, "0") + " s";
  };
  QR.fmtInt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
  QR.fmtCost = (cost) => {
    if (cost === null || cost === undefined) return "n/a";
    if (cost === 0) return "$0";
    const abs = Math.abs(cost);
    const text = abs >= 1 ? abs.toFixed(2) : abs >= 0.01 ? abs.toFixed(4) : abs.toPrecision(3);
    return (cost < 0 ? "-" : "") + "$" + text;
  };
  QR.fmtPct = (part, whole) => (whole ? Math.round((100 * part) / whole) + "%" : "—");
  const pad = (n) => String(n).padStart(2, "0");
  /** Local date and time, "2026-05-01 14:03:09". */
  QR.fmtTime = (iso) => {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  };
  /** ISO (UTC) → the value of a datetime-local input, in local time. */
  QR.isoToLocalInput = (iso) => {
    const d = new Date(iso);
    if (!iso || Number.isNaN(d.getTime())) return "";
    return QR.fmtTime(iso).replace(" ", "T");
  };
  QR.localInputToIso = (value) => {
    const d = new Date(value);
    return !value || Number.isNaN(d.getTime()) ? "" : d.toISOString();
  };
  QR.shortId = (id) => (id ? String(id).replace(/^(trace|round|game|span)_/, "").slice(0, 8) : "");

  /** Metrics of a roll-up ({duration_ms, model_calls, …}) and how to show each. */
  QR.METRICS = [
    { key: "duration_ms", label: "Duration", fmt: QR.fmtMs },
    { key: "model_calls", label: "Model calls", fmt: QR.fmtInt },
    { key: "input_tokens", label: "Tokens in", fmt: QR.fmtInt },
    { key: "output_tokens", label: "Tokens out", fmt: QR.fmtInt },
    { key: "total_tokens", label: "Tokens", fmt: QR.fmtInt },
    { key: "cost", label: "Cost", fmt: QR.fmtCost },
    { key: "tool_calls", label: "Tool calls", fmt: QR.fmtInt },
    { key: "handoffs", label: "Handoffs", fmt: QR.fmtInt },
    { key: "errors", label: "Errors", fmt: QR.fmtInt },
    { key: "model_ms", label: "Model time", fmt: QR.fmtMs },
  ];
  QR.metric = (key) => QR.METRICS.find((m) => m.key === key);

  /** A difference b − a as {text, cls}: "+1" / "−1" / "±0"; cls more | less | same | unknown
      (for every metric here, more means slower, costlier or busier). */
  QR.fmtDiff = (key, value) => {
    if (value === null || value === undefined) return { text: "n/a", cls: "unknown" };
    const metric = QR.metric(key);
    const tiny = key.endsWith("_ms") ? Math.abs(value) < 0.5 : value === 0;
    if (tiny) return { text: "±0", cls: "same" };
    const body = metric.fmt(Math.abs(value));
    return value > 0 ? { text: "+" + body, cls: "more" } : { text: "\u2212" + body, cls: "less" };
  };
  QR.diffHTML = (key, value) => {
    const d = QR.fmtDiff(key, value);
    return '<span class="delta ' + d.cls + '">' + QR.esc(d.text) + "</span>";
  };

  // Span kinds ------------------------------------------------------------------------------
  QR.KINDS = {
    agent: { glyph: "A", label: "agent" },
    generation: { glyph: "✦", label: "model call" },
    function: { glyph: "ƒ", label: "tool call" },
    handoff: { glyph: "⇢", label: "handoff" },
    guardrail: { glyph: "⛨", label: "guardrail" },
    custom: { glyph: "•", label: "custom" },
  };
  QR.kindOf = (kind) => (QR.KINDS[kind] ? kind : "custom");
  QR.kindIcon = (kind) => {
    const k = QR.kindOf(kind);
    return '<span class="kicon k-' + k + '" title="' + QR.esc(QR.KINDS[k].label) + '" aria-label="' +
      QR.esc(QR.KINDS[k].label) + '">' + QR.KINDS[k].glyph + "</span>";
  };
  QR.legendHTML = () => Object.keys(QR.KINDS).map((k) => '<span class="legend-item">' + QR.kindIcon(k) + " " +
    QR.esc(QR.KINDS[k].label) + "</span>").join("") + '<span class="legend-item"><span class="kicon k-error">!</span> error</span>' +
    '<span class="legend-item"><i class="ttft-swatch"></i> waiting for the first token</span>';

  QR.statusBadge = (status, title) => '<span class="badge st-' + QR.esc(status) + '"' +
    (title ? ' title="' + QR.esc(title) + '"' : "") + ">" + QR.esc(status) + "</span>";
  QR.pipelineBadge = (pipeline) => '<span class="badge pl-' + QR.esc(pipeline || "none") + '">' +
    QR.esc(pipeline || "—") + "</span>";

  // JSON ------------------------------------------------------------------------------------
  /** Parse a string that may hold JSON; anything else comes back unchanged. */
  QR.maybeJSON = (value) => {
    if (typeof value !== "string") return value;
    const text = value.trim();
    if (!/^[[{"]/.test(text)) return value;
    try { return JSON.parse(text); } catch (err) { return value; }
  };
  /** Pretty, highlighted JSON as escaped HTML (built from the value, never from a string). */
  QR.jsonHTML = (value, indent) => {
    const pad0 = indent || "";
    const pad1 = pad0 + "  ";
    if (value === null || value === undefined) return '<span class="j-lit">null</span>';
    if (typeof value === "string") return '<span class="j-str">' + QR.esc(JSON.stringify(value)) + "</span>";
    if (typeof value === "number") return '<span class="j-num">' + value + "</span>";
    if (typeof value === "boolean") return '<span class="j-lit">' + value + "</span>";
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      return "[\n" + value.map((v) => pad1 + QR.jsonHTML(v, pad1)).join(",\n") + "\n" + pad0 + "]";
    }
    const keys = Object.keys(value);
    if (!keys.length) return "{}";
    return "{\n" + keys.map((k) => pad1 + '<span class="j-key">' + QR.esc(JSON.stringify(k)) + "</span>: " +
      QR.jsonHTML(value[k], pad1)).join(",\n") + "\n" + pad0 + "}";
  };
  QR.preJSON = (value) => '<pre class="json">' + QR.jsonHTML(value) + "</pre>";
  /** Drop null/empty fields (model settings are mostly nulls). */
  QR.compact = (obj) => {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) return obj;
    const out = {};
    for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined && v !== "") out[k] = v;
    return out;
  };

  window.QR = QR;
})();
