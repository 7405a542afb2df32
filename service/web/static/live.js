/* A round as it streams, shared by the play and arena pages: three role lanes (Questioner,
   Answerer, Judge) with the active one highlighted, the handoffs between them, tool calls with
   their arguments and model text as they stream, then the question, the answer, the verdict,
   timings and tokens. `new QR.RoundView(container, opts).handle(event)` per AG-UI event.
   Streaming text is appended to text nodes (no re-render per token); everything from the API
   reaches the page as textContent or through QR.esc, once. Model text (message deltas, tool
   arguments) is QR.unescape'd on the way in, as the service does to the answer it records:
   a model behind an escaping chat template writes `&#34;p&#34;` for `"p"`. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const ROLES = ["Questioner", "Answerer", "Judge"];
  const ROLE_HINT = { Questioner: "asks", Answerer: "answers", Judge: "judges" };

  function laneHTML(role, human) {
    const label = role === "Answerer" && human ? "Answerer · you" : role;
    return '<section class="lane" data-role="' + role + '" aria-label="' + esc(label) + '"><header class="lane-head">' +
      '<span class="lane-dot" aria-hidden="true"></span><h3>' + esc(label) + '</h3><span class="lane-state">waiting</span></header>' +
      '<div class="lane-body"><p class="lane-empty muted">' + ROLE_HINT[role] + "</p></div>" +
      '<footer class="lane-usage" hidden></footer></section>';
  }

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  // A character reference that may be unfinished, at the end of the text; held back when at most
  // HOLD long (the longest named one, "&CounterClockwiseContourIntegral;", has 33 characters).
  const OPEN_REFERENCE = /&(?:#[xX]?[0-9a-fA-F]*|[A-Za-z][A-Za-z0-9]*)?$/;
  const HOLD = 40;

  /** Streamed model text into one text node, decoded (QR.unescape). A delta may end inside a
      character reference ("…&#3" then "4;p…"): a tail that could still grow into one is held
      back until the next delta or flush(). References never contain "&", so decoding the text
      piece by piece, cut before an "&", gives what decoding it whole would. */
  class ModelText {
    constructor(node) { this.node = node; this.held = ""; }
    add(delta) {
      const text = this.held + (delta || "");
      const tail = OPEN_REFERENCE.exec(text);
      const cut = tail && text.length - tail.index <= HOLD ? tail.index : text.length;
      this.held = text.slice(cut);
      if (cut) this.node.appendData(QR.unescape(text.slice(0, cut)));
    }
    flush() {
      if (this.held) this.node.appendData(QR.unescape(this.held));
      this.held = "";
    }
  }

  class RoundView {
    /** opts: {title, pipeline, human, announce (bool: speak through the live region)} */
    constructor(container, opts) {
      this.opts = opts || {};
      this.ids = []; // event ids in the order they were handled (a transcript, for checks)
      this.calls = new Map();
      this.texts = new Map();
      this.active = null;
      this.info = null;
      this.result = null;
      this.verdict = null;
      this.error = null;
      this.usage = null;
      const root = el("article", "round");
      root.dataset.state = "running";
      root.setAttribute("aria-busy", "true");
      root.innerHTML = '<header class="round-head"><h2 class="round-title"></h2>' + QR.pipelineBadge(this.opts.pipeline) +
        '<span class="round-meta muted"></span><span class="badge st-running round-state">starting</span>' +
        '<a class="trace-link" hidden>Trace</a></header>' +
        '<div class="q-box" hidden><span class="qa-label">Question</span><p class="q-text"></p></div>' +
        '<div class="answer-slot"></div>' +
        '<div class="a-box" hidden><span class="qa-label">Answer <span class="a-by"></span></span><p class="a-text"></p></div>' +
        '<div class="relay">' + ROLES.map((r, i) => laneHTML(r, this.opts.human) +
          (i < 2 ? '<div class="hand" data-from="' + r + '" aria-hidden="true"></div>' : "")).join("") + "</div>" +
        '<ol class="handoff-log" aria-label="Handoffs"></ol>' +
        '<div class="verdict" hidden></div><div class="errbox round-error" role="alert" hidden></div>' +
        '<dl class="round-stats" hidden></dl>';
      root.querySelector(".round-title").textContent = this.opts.title || "Round";
      root._view = this;
      container.appendChild(root);
      this.root = root;
      this.slot = root.querySelector(".answer-slot");
    }

    $(selector) { return this.root.querySelector(selector); }
    lane(role) { return ROLES.includes(role) ? this.$('.lane[data-role="' + role + '"]') : null; }
    say(text) { if (this.opts.announce) QR.announce(text); }

    setState(state, label, badge) {
      this.root.dataset.state = state;
      const pill = this.$(".round-state");
      pill.textContent = label;
      pill.className = "badge round-state st-" + badge;
      if (state !== "running") this.root.removeAttribute("aria-busy");
      else this.root.setAttribute("aria-busy", "true");
    }

    setActive(role) {
      for (const lane of this.root.querySelectorAll(".lane.active")) {
        lane.classList.remove("active");
        lane.removeAttribute("aria-current");
      }
      this.active = ROLES.includes(role) ? role : null;
      const lane = this.lane(role);
      if (!lane) return;
      lane.classList.add("active");
      lane.classList.remove("done");
      lane.setAttribute("aria-current", "step");
    }

    laneState(role, text) {
      const lane = this.lane(role);
      if (lane) lane.querySelector(".lane-state").textContent = text;
    }

    /** Append `node` to a lane's body (the active lane unless `role` names one). */
    append(node, role) {
      const lane = this.lane(role) || this.lane(this.active) || this.lane("Questioner");
      const body = lane.querySelector(".lane-body");
      const empty = body.querySelector(".lane-empty");
      if (empty) empty.remove();
      body.appendChild(node);
      this.follow(body);
      return node;
    }

    /** Keep a lane scrolled to its end, at most once per frame. */
    follow(body) {
      if (body._pending) return;
      body._pending = true;
      requestAnimationFrame(() => { body._pending = false; body.scrollTop = body.scrollHeight; });
    }

    handle(event, id) {
      if (id !== null && id !== undefined) this.ids.push(id);
      const type = event.type;
      if (type === "CUSTOM") return this.custom(event.name, event.value || {});
      if (type === "RUN_STARTED") return this.setState("running", "running", "running");
      if (type === "STEP_STARTED") {
        this.lastStep = event.stepName;
        this.setActive(event.stepName);
        this.laneState(event.stepName, "working…");
        this.say(event.stepName + " is working");
      } else if (type === "STEP_FINISHED") {
        const lane = this.lane(event.stepName);
        if (lane) lane.classList.add("done");
        if (this.active === event.stepName) this.setActive(null);
        this.laneState(event.stepName, "done");
      } else if (type.startsWith("TEXT_MESSAGE_") && String(event.messageId).startsWith("fact_")) {
        // The round's facts said as messages (for generic AG-UI clients): drawn from CUSTOM events here.
      } else if (type === "TEXT_MESSAGE_START") {
        this.message(event.messageId, ROLES.includes(event.name) ? event.name : null);
      } else if (type === "TEXT_MESSAGE_CONTENT") {
        const text = this.texts.get(event.messageId) || this.message(event.messageId, null);
        text.add(event.delta);
        this.follow(text.node.parentNode.parentNode);
      } else if (type === "TEXT_MESSAGE_END") {
        const text = this.texts.get(event.messageId);
        if (text) text.flush();
      } else if (type.startsWith("TOOL_CALL_")) {
        this.toolCall(type, event);
      } else if (type === "RUN_FINISHED") {
        this.flushAll();
        this.finished(event);
      } else if (type === "RUN_ERROR") {
        this.failed(event.code || "error", event.message || "");
      }
    }

    /** A new text message (a paragraph in `role`'s lane, else the active one): its ModelText. */
    message(messageId, role) {
      const text = new ModelText(this.append(el("p", "say"), role).appendChild(document.createTextNode("")));
      this.texts.set(messageId, text);
      return text;
    }

    /** Show what is held back of every message and tool call (the stream ended or broke). */
    flushAll() {
      for (const text of this.texts.values()) text.flush();
      for (const call of this.calls.values()) call.args.flush();
    }

    toolCall(type, event) {
      let call = this.calls.get(event.toolCallId);
      if (type === "TOOL_CALL_START" || !call) {
        const name = event.toolCallName || "tool";
        const handoff = name.startsWith("transfer_to_");
        const node = el("div", "call" + (handoff ? " call-handoff" : ""));
        node.innerHTML = '<div class="call-head"><span class="kicon k-' + (handoff ? "handoff" : "function") + '" aria-hidden="true">' +
          (handoff ? "⇢" : "ƒ") + '</span><b class="call-name"></b><span class="call-state muted">calling…</span></div><pre class="call-args"></pre>';
        node.querySelector(".call-name").textContent = name;
        call = { node, args: new ModelText(node.querySelector(".call-args").appendChild(document.createTextNode(""))) };
        this.calls.set(event.toolCallId, call);
        this.append(node);
      }
      if (type === "TOOL_CALL_ARGS") {
        call.args.add(event.delta);
        this.follow(call.node.parentNode);
      } else if (type === "TOOL_CALL_END") {
        call.args.flush();
        call.node.querySelector(".call-state").textContent = "called";
      } else if (type === "TOOL_CALL_RESULT") {
        call.args.flush();
        call.node.querySelector(".call-state").textContent = "done";
        const result = call.node.appendChild(el("div", "call-result"));
        result.appendChild(el("span", "qa-label", "result"));
        // The tool's result is the service's text (the question as stored, the check): as it is.
        result.appendChild(document.createTextNode(" " + (event.content || "")));
        this.follow(call.node.parentNode);
      }
    }

    custom(name, value) {
      if (name === "round") {
        this.info = value;
        this.$(".round-meta").textContent = [value.category, value.difficulty, value.model].filter(Boolean).join(" · ");
        this.traceLink(value.trace_id);
      } else if (name === "question") {
        this.$(".q-box").hidden = false;
        this.$(".q-text").textContent = value.text || "";
        this.say("Question: " + (value.text || ""));
      } else if (name === "answer") {
        this.$(".a-box").hidden = false;
        this.$(".a-by").textContent = value.answered_by === "player" ? "(yours)" : "(by the " + (value.answered_by || "Answerer") + ")";
        this.$(".a-text").textContent = value.text || "";
      } else if (name === "handoff") {
        this.handoff(value.from, value.to);
      } else if (name === "retry") {
        const note = el("p", "lane-note", "Model call failed (" + (value.code || "error") + "): retry " + value.retry + " of " +
          value.max_retries + " in " + QR.fmtMs(value.delay_ms) + ". " + (value.message || ""));
        this.append(note, value.role);
      } else if (name === "guardrail") {
        const note = el("p", "lane-note guard" + (value.triggered ? " tripped" : ""), (value.triggered ? "Guardrail tripped: " : "Guardrail passed: ") +
          (value.name || "guardrail") + (value.triggered && value.reason ? " — " + value.reason : ""));
        note.title = value.reason || "";
        this.append(note, value.role);
      } else if (name === "verdict") {
        this.showVerdict(value);
      } else if (name === "usage") {
        this.usage = value;
        for (const role of ROLES) {
          const u = (value.roles || {})[role];
          const foot = this.lane(role).querySelector(".lane-usage");
          foot.hidden = !u;
          if (u) foot.textContent = QR.fmtInt(u.requests) + (u.requests === 1 ? " call · " : " calls · ") + QR.fmtInt(u.input_tokens) +
            " in / " + QR.fmtInt(u.output_tokens) + " out tokens";
        }
      }
    }

    traceLink(traceId) {
      if (!traceId) return;
      const link = this.$(".trace-link");
      link.href = "/traces/" + encodeURIComponent(traceId);
      link.hidden = false;
    }

    handoff(from, to) {
      const line = this.$(".handoff-log").appendChild(el("li", "handoff-line"));
      line.dataset.from = from || "";
      line.dataset.to = to || "";
      line.textContent = (from || "?") + " → " + (to || "?");
      const hand = this.$('.hand[data-from="' + (ROLES.includes(from) ? from : "none") + '"]');
      if (hand) hand.classList.add("passed");
      const target = this.lane(to);
      if (target) {
        target.classList.remove("incoming");
        void target.offsetWidth; // restart the animation
        target.classList.add("incoming");
      }
      this.say("Handoff: " + from + " to " + to);
    }

    showVerdict(v) {
      this.verdict = v;
      const box = this.$(".verdict");
      box.hidden = false;
      box.className = "verdict " + (v.correct ? "v-good" : "v-bad");
      box.dataset.correct = String(!!v.correct);
      const agreed = v.judge_agreed === false ? "the Judge disagreed" : v.judge_agreed === true ? "the Judge agreed" : "";
      box.innerHTML = '<div class="verdict-head"><span class="verdict-mark" aria-hidden="true">' + (v.correct ? "✓" : "✗") + "</span><b>" +
        (v.correct ? "Right" : "Wrong") + '</b><span class="muted">score ' + esc(typeof v.score === "number" ? Number(v.score.toFixed(2)) : v.score) + "</span></div>" +
        '<p class="verdict-why">' + esc(v.explanation || "") + "</p>" +
        '<dl class="kv"><dt>Reference answer</dt><dd class="verdict-ref">' + esc(v.reference_answer || "—") + "</dd>" +
        (v.decided_by ? "<dt>Decided by</dt><dd>" + esc(v.decided_by) + (agreed ? " (" + esc(agreed) +
          (v.judge_explanation && v.judge_agreed === false ? ": “" + esc(v.judge_explanation) + "”" : "") + ")" : "") + "</dd>" : "") + "</dl>";
      this.say("Verdict: " + (v.correct ? "right" : "wrong") + ". Reference answer " + (v.reference_answer || ""));
    }

    finished(event) {
      const result = event.result || {};
      this.result = result;
      this.traceLink(result.trace_id);
      if (event.outcome && event.outcome.type === "interrupt") {
        this.setState("awaiting", "your turn", "running");
        this.setActive("Answerer");
        this.laneState("Answerer", "your turn");
        const hint = this.lane("Answerer").querySelector(".lane-empty");
        if (hint) hint.textContent = "Your answer goes in the box above.";
        return;
      }
      this.setActive(null);
      if (result.status === "failed" || result.error) {
        const error = result.error || {};
        return this.failed(error.code || "failed", error.message || "");
      }
      this.setState("done", result.status || "completed", "ok");
      this.stats();
    }

    failed(code, message) {
      this.flushAll();
      this.error = { code, message };
      const role = this.active || this.lastStep; // the step where it broke (it is closed before RUN_ERROR)
      const lane = this.lane(role);
      if (lane) { lane.classList.remove("done"); lane.classList.add("failed"); this.laneState(role, "failed"); }
      this.setActive(null);
      const box = this.$(".round-error");
      box.hidden = false;
      box.innerHTML = "<b>" + esc(code) + ":</b> " + esc(message);
      this.setState("failed", "failed", "error");
      this.say("The round failed: " + code);
      if (this.result) this.stats();
    }

    /** Timings and tokens of the finished round. */
    stats() {
      const r = this.result || {};
      const timings = r.timings || {};
      const total = ((r.usage || this.usage || {}).total) || {};
      const pairs = [["ttft", "Time to first token", QR.fmtMs(timings.time_to_first_token_ms)], ["total", "Total", QR.fmtMs(timings.total_ms)],
        ["calls", "Model calls", QR.fmtInt(total.requests)], ["tokens", "Tokens in / out / total", QR.fmtInt(total.input_tokens) + " / " +
        QR.fmtInt(total.output_tokens) + " / " + QR.fmtInt(total.total_tokens)]];
      const box = this.$(".round-stats");
      box.hidden = false;
      box.innerHTML = pairs.map(([key, label, value]) => '<div class="stat" data-stat="' + key + '"><dt class="stat-label">' + esc(label) +
        '</dt><dd class="stat-value">' + esc(value) + "</dd></div>").join("");
    }
  }

  /** Fill a <select> with the categories from the API (value: name, text: title). */
  QR.loadCategories = async (select) => {
    try {
      for (const c of await QR.api("/api/categories")) {
        const option = new Option(c.title + (c.verified ? "" : " (free-form)"), c.name);
        option.title = c.description;
        select.add(option);
      }
    } catch (err) {
      QR.status("Could not load the categories: " + err.message, "error");
    }
  };

  QR.RoundView = RoundView;
  QR.ROLES = ROLES;
})();
