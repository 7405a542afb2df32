/* Shared helpers for every page: fetching the JSON API (QR.fetch: the one way to call it, with
   the access token and its dialog), reading event streams (QR.readSSE, QR.follow), escaping,
   formatting numbers, times and differences, span kinds, pretty JSON. Everything lives on
   window.QR. Rule: any text that comes from the API goes through QR.esc (or QR.jsonHTML, or
   textContent) before it becomes HTML, exactly once; span data and round events are model
   output. Model text streamed into a round (live.js) is first QR.unescape'd, as the service
   does to the answers it records, so it reads the same as the answer. */
"use strict";
(function () {
  const QR = {};

  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  /** HTML-escape anything (null/undefined → ""). Safe in text and in quoted attributes. */
  QR.esc = (value) => (value === null || value === undefined ? "" : String(value)).replace(/[&<>"']/g, (c) => ESC[c]);

  /** Undo the HTML character references in model text ("&#34;p&#34;" → '"p"', "&amp;" → "&"),
      as the service does to answers and tool arguments (clean_model_text: Python's
      html.unescape, the same HTML5 rules the browser applies here). Some chat templates escape
      the prompt (llama-cpp-python's chatml-function-calling renders it with Jinja autoescape)
      and small models copy the entities into what they write. The result is plain text: set it
      with textContent or pass it through QR.esc, like any other model text. Only each
      reference itself ("&", "#", letters, digits, ";") reaches the decoder, never markup. */
  const REFERENCE = /&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)/g;
  const decoder = document.createElement("textarea");
  const decoded = new Map();
  QR.unescape = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    if (!text.includes("&")) return text;
    return text.replace(REFERENCE, (ref) => {
      if (!decoded.has(ref)) {
        if (decoded.size > 1000) decoded.clear();
        decoder.innerHTML = ref; // RCDATA: references decoded, nothing else; `ref` has no "<"
        decoded.set(ref, decoder.value);
      }
      return decoded.get(ref);
    });
  };

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

  // Fetching ----------------------------------------------------------------------------------
  // QR.fetch is the one door to the API, for JSON and for streams alike: it adds
  // `Authorization: Bearer <token>` when a token is stored (localStorage["quizrelay.token"]) and,
  // on a 401, asks for the token in a dialog, stores it and sends the request again.
  const TOKEN_KEY = "quizrelay.token";
  QR.token = () => { try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (err) { return ""; } };
  QR.setToken = (value) => {
    try { if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY); } catch (err) { /* private mode */ }
  };

  /** The API's `detail` of an error response as one line (FastAPI lists become "field: msg; …"). */
  QR.errorDetail = async (response) => {
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    let detail = body && body.detail;
    if (Array.isArray(detail)) detail = detail.map((d) => ((d.loc || []).slice(1).join(".") + ": " + d.msg).replace(/^: /, "")).join("; ");
    return typeof detail === "string" && detail ? detail : "HTTP " + response.status;
  };
  /** An Error for a failed response: message = the API's detail, `.status` = the HTTP status. */
  QR.httpError = async (response) => {
    const error = new Error(await QR.errorDetail(response));
    error.status = response.status;
    return error;
  };

  let asking = null; // one dialog at a time; requests that meet a 401 meanwhile wait for it
  QR.askToken = (message) => {
    if (!asking) asking = tokenDialog(message).finally(() => { asking = null; });
    return asking;
  };

  function tokenDialog(message) {
    let dialog = document.getElementById("token-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "token-dialog";
      dialog.className = "token-dialog";
      dialog.setAttribute("aria-labelledby", "token-title");
      dialog.setAttribute("aria-describedby", "token-why");
      dialog.innerHTML = '<form class="token-form"><h2 id="token-title">Access token needed</h2><p id="token-why"></p>' +
        '<label for="token-input">Access token</label><input id="token-input" name="token" type="password" autocomplete="current-password" ' +
        'spellcheck="false" required><p class="muted small">Kept in this browser only (localStorage) and sent as a bearer token.</p>' +
        '<div class="dialog-actions"><button type="button" class="secondary" data-cancel>Cancel</button><button type="submit">Use token</button></div></form>';
      document.body.appendChild(dialog);
    }
    const form = dialog.querySelector("form");
    const input = dialog.querySelector("input");
    const opener = document.activeElement;
    dialog.querySelector("#token-why").textContent = message;
    input.value = "";
    return new Promise((resolve) => {
      const finish = (value) => {
        form.onsubmit = dialog.oncancel = null;
        if (dialog.open) dialog.close();
        if (opener && opener.focus && document.contains(opener)) opener.focus();
        resolve(value);
      };
      form.onsubmit = (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) { input.focus(); return; }
        QR.setToken(value);
        finish(value);
      };
      dialog.querySelector("[data-cancel]").onclick = () => finish("");
      dialog.oncancel = (event) => { event.preventDefault(); finish(""); }; // Escape
      dialog.showModal();
      input.focus();
    });
  }

  /** fetch(), with the bearer token and the 401 dialog; resolves to the Response. A cancelled
      dialog (or a token refused four times) leaves the 401 for the caller to report. */
  QR.fetch = async (path, init) => {
    const options = init || {};
    let response = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      const used = QR.token();
      const headers = new Headers(options.headers || {});
      if (used) headers.set("Authorization", "Bearer " + used);
      response = await fetch(path, { ...options, headers });
      if (response.status !== 401) return response;
      const detail = await QR.errorDetail(response.clone());
      if (QR.token() !== used) continue; // another request got a new token meanwhile (checked after the await)
      const why = used ? "The stored token was refused (" + detail + "). Enter a valid one." :
        "This service needs an access token (" + detail + ").";
      if (!(await QR.askToken(why))) return response;
    }
    return response;
  };

  /** Call a JSON API path (GET, or `init.method` with a JSON `init.body` object); throws an
      Error whose message is the API's `detail`. */
  QR.api = async (path, params, init) => {
    const options = { ...(init || {}), headers: { accept: "application/json" } };
    if (options.body !== undefined && typeof options.body !== "string") {
      options.body = JSON.stringify(options.body);
      options.headers["content-type"] = "application/json";
    }
    let response;
    try {
      response = await QR.fetch(path + QR.qs(params), options);
    } catch (err) {
      throw new Error("The service did not answer (" + err.message + ")");
    }
    if (!response.ok) throw await QR.httpError(response);
    try { return await response.json(); } catch (err) { return null; }
  };
  QR.post = (path, body) => QR.api(path, null, { method: "POST", body: body || {} });

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
  /** "1 question", "2 questions" (`many` defaults to `one` + "s"). */
  QR.plural = (n, one, many) => QR.fmtInt(n) + " " + (Number(n) === 1 ? one : many || one + "s");
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

  // Event streams ---------------------------------------------------------------------------
  /** Read a text/event-stream Response: `onMessage({id, event, data})` per complete message
      (a message split across chunks is joined; one cut off by the end is dropped, as the spec
      says). `onMessage` returning false stops reading and closes the stream. */
  QR.readSSE = async (response, onMessage) => {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let message = { id: null, event: "", data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let from = 0;
        for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n", from)) {
          const line = buffer.slice(from, buffer[end - 1] === "\r" ? end - 1 : end);
          from = end + 1;
          if (line === "") {
            if (message.data.length && onMessage({ id: message.id, event: message.event, data: message.data.join("\n") }) === false) return;
            message = { id: null, event: "", data: [] };
          } else if (line[0] !== ":") { // ":" starts a comment (the heartbeat)
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
            if (field === "data") message.data.push(text);
            else if (field === "id" && /^\d+$/.test(text)) message.id = Number(text);
            else if (field === "event") message.event = text;
          }
        }
        buffer = buffer.slice(from);
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  };

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const RUN_END = ["RUN_FINISHED", "RUN_ERROR"];

  /** Follow one run of AG-UI events to its RUN_FINISHED / RUN_ERROR, re-attaching after a drop.
      opts: start() → Response (the first request, e.g. the POST that starts a round), or none
      to attach at once; reattach(key, lastId) → the path that replays events after lastId;
      keyOf(event) → the id to re-attach to (learnt from the events), or opts.key; after: ids
      up to this one were seen already; onEvent(event, id); onStatus(text) on drops.
      Every event reaches onEvent once, in order. Resolves {lastId, key, end}. */
  QR.follow = async (opts) => {
    let lastId = opts.after || 0;
    let key = opts.key || null;
    let failures = 0;
    for (let attempt = 0; ; attempt++) {
      let response = null;
      let end = null;
      let broken = null;
      try {
        response = attempt === 0 && opts.start ? await opts.start() :
          await QR.fetch(opts.reattach(key, lastId), { headers: { accept: "text/event-stream" }, signal: opts.signal });
      } catch (err) {
        if (!key || (opts.signal && opts.signal.aborted)) throw new Error("The service did not answer (" + err.message + ")");
      }
      if (response && !response.ok) throw await QR.httpError(response);
      if (response) {
        try {
          await QR.readSSE(response, (message) => {
            if (message.id !== null && message.id <= lastId) return true; // already seen
            let event;
            try { event = JSON.parse(message.data); } catch (err) { return true; }
            if (message.id !== null) lastId = message.id;
            key = key || (opts.keyOf && opts.keyOf(event)) || null;
            failures = 0;
            try { opts.onEvent(event, message.id); } catch (err) { broken = err; return false; }
            if (RUN_END.includes(event.type)) { end = event; return false; }
            return true;
          });
        } catch (err) {
          if (opts.signal && opts.signal.aborted) throw err;
        }
      }
      if (broken) throw broken;
      if (end) return { lastId, key, end };
      if (!key) throw new Error("The stream broke before the run started.");
      if (++failures > 6) throw new Error("The connection keeps dropping; gave up re-attaching after event " + lastId + ".");
      if (opts.onStatus) opts.onStatus("Connection lost; re-attaching after event " + lastId + "…");
      await sleep(Math.min(150 * 2 ** (failures - 1), 3000));
    }
  };

  /** POST a JSON body and answer the streaming Response (for QR.follow's `start`). */
  QR.startStream = (path, body, signal) => QR.fetch(path, {
    method: "POST", body: JSON.stringify(body || {}), signal,
    headers: { "content-type": "application/json", accept: "text/event-stream" },
  });

  /** Follow a round: POST `body` to /api/rounds (or to `path`), re-attaching through
      GET /api/rounds/{id}/events?after=N. */
  QR.followRound = (opts) => QR.follow({
    start: opts.body ? () => QR.startStream(opts.path || "/api/rounds", opts.body, opts.signal) : null,
    reattach: (id, after) => "/api/rounds/" + encodeURIComponent(id) + "/events" + QR.qs({ after }),
    keyOf: (e) => (e.type === "CUSTOM" && e.name === "round" ? e.value.round_id : e.type === "RUN_STARTED" ? e.runId : null),
    ...opts,
  });

  /** Say `text` in the page's polite live region (for screen readers; never per token). */
  QR.announce = (text) => {
    let region = document.getElementById("live");
    if (!region) {
      region = document.createElement("div");
      region.id = "live";
      region.className = "sr-only";
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    region.textContent = text;
  };

  window.QR = QR;
})();
