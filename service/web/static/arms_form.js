/* The compare page's arms picker (the #arms fieldset of the setup form): each arm a pipeline on a
   named model (GET /api/models) with an optional temperature and name; arms can be added (up to
   the API's 8) and removed, and one is the baseline. Plain form controls, so it works from the
   keyboard; focus moves to the new arm, or past a removed one. Arm names follow the API's rule
   (the pipeline, and the model when several are used) plus the temperature, made distinct, so
   the baseline can be chosen by name before the comparison starts.
   QR.armsForm.init() → Promise; QR.armsForm.value() → {arms, baseline}. */
"use strict";
(function () {
  const QR = window.QR;
  const esc = QR.esc;
  const PIPELINES = ["agents", "agents-tools", "chat"];
  const MAX_ARMS = 8;
  const NAME_PATTERN = "[A-Za-z0-9_.:\\-]{1,40}";
  const list = document.getElementById("arm-list");
  const addButton = document.getElementById("add-arm");
  const baseline = document.getElementById("baseline");
  let models = { default: "", items: [] };
  let nextKey = 0;
  let wanted = null; // the key of the arm chosen as baseline

  function modelOptions(selected) {
    const items = models.items.length ? models.items : [{ name: models.default, model: models.default }];
    return items.map((m) => '<option value="' + esc(m.name) + '"' + (m.name === selected ? " selected" : "") + ">" + esc(m.name) +
      (m.name === models.default ? " (default)" : "") + (m.model && m.model !== m.name ? " · " + esc(m.model) : "") + "</option>").join("");
  }

  function armHTML(key, arm) {
    const id = "arm-" + key;
    return '<fieldset class="arm" data-key="' + key + '"><legend id="' + id + '-legend"></legend>' +
      '<label>Pipeline <select name="arm-pipeline">' + PIPELINES.map((p) => '<option value="' + p + '"' + (p === arm.pipeline ? " selected" : "") + ">" +
        p + "</option>").join("") + "</select></label>" +
      '<label>Model <select name="arm-model">' + modelOptions(arm.model) + "</select></label>" +
      '<label>Temperature <input name="arm-temperature" type="number" min="0" max="2" step="0.05" inputmode="decimal" placeholder="default"' +
        (arm.temperature !== undefined && arm.temperature !== null ? ' value="' + esc(arm.temperature) + '"' : "") + "></label>" +
      '<label>Name <input name="arm-name" maxlength="40" pattern="' + NAME_PATTERN + '" autocomplete="off" spellcheck="false"' +
        ' title="letters, digits and . _ : - (up to 40)"' + (arm.name ? ' value="' + esc(arm.name) + '"' : "") + "></label>" +
      '<button type="button" class="secondary remove-arm" aria-describedby="' + id + '-legend">Remove</button></fieldset>';
  }

  /** The arms as typed: [{key, pipeline, model, temperature|null, explicit name|""}]. */
  function rows() {
    return QR.$$("fieldset.arm", list).map((box) => {
      const temperature = box.querySelector("[name=arm-temperature]").value.trim();
      return {
        key: box.dataset.key, box, pipeline: box.querySelector("[name=arm-pipeline]").value,
        model: box.querySelector("[name=arm-model]").value,
        temperature: temperature === "" || Number.isNaN(Number(temperature)) ? null : Number(temperature),
        explicit: box.querySelector("[name=arm-name]").value.trim(),
      };
    });
  }

  /** Each arm's name: the typed one, or pipeline[.model][-t<temperature>], made distinct. */
  function named(arms) {
    const several = new Set(arms.map((a) => a.model)).size > 1;
    const taken = new Set(arms.filter((a) => a.explicit).map((a) => a.explicit));
    return arms.map((a) => {
      if (a.explicit) return { ...a, name: a.explicit };
      let base = a.pipeline + (several ? "." + a.model.replace(/[^A-Za-z0-9_.-]/g, "-") : "") + (a.temperature === null ? "" : "-t" + a.temperature);
      base = base.slice(0, 37);
      let name = base;
      for (let i = 2; taken.has(name); i++) name = base + "-" + i;
      taken.add(name);
      return { ...a, name };
    });
  }

  function refresh() {
    const arms = named(rows());
    const counts = {};
    arms.forEach((a) => { counts[a.name] = (counts[a.name] || 0) + 1; });
    arms.forEach((a, i) => {
      a.box.className = "arm arm-c arm-" + (i % 8);
      a.box.querySelector("legend").textContent = "Arm " + (i + 1) + " · " + a.name;
      const name = a.box.querySelector("[name=arm-name]");
      name.placeholder = a.explicit ? "" : a.name;
      name.setCustomValidity(a.explicit && counts[a.name] > 1 ? "Another arm is named " + a.name + ": give each arm its own name." : "");
      const remove = a.box.querySelector(".remove-arm");
      remove.disabled = arms.length === 1;
      remove.setAttribute("aria-label", "Remove arm " + (i + 1) + " (" + a.name + ")");
    });
    addButton.disabled = arms.length >= MAX_ARMS;
    if (!arms.some((a) => a.key === wanted)) wanted = (arms.find((a) => a.pipeline === "chat") || arms[0] || {}).key || null;
    baseline.innerHTML = arms.map((a) => '<option value="' + esc(a.key) + '"' + (a.key === wanted ? " selected" : "") + ">" + esc(a.name) + "</option>").join("");
  }

  function add(arm, focus) {
    const key = String(nextKey++);
    list.insertAdjacentHTML("beforeend", armHTML(key, arm));
    refresh();
    if (focus) list.querySelector('fieldset[data-key="' + key + '"] select').focus();
  }

  function remove(box) {
    const boxes = QR.$$("fieldset.arm", list);
    if (boxes.length <= 1) return;
    const at = boxes.indexOf(box);
    box.remove();
    refresh();
    const after = QR.$$("fieldset.arm", list)[at];
    (after ? after.querySelector("select") : addButton).focus();
    QR.announce("Arm " + (at + 1) + " removed; " + QR.plural(boxes.length - 1, "arm") + " left.");
  }

  function addNext() {
    const used = new Set(rows().map((a) => a.pipeline + " " + a.model));
    const pipeline = PIPELINES.find((p) => !used.has(p + " " + models.default)) || "chat";
    add({ pipeline, model: models.default }, true);
    QR.announce("Arm " + QR.$$("fieldset.arm", list).length + " added.");
  }

  const F = {};
  /** Load the named models and draw the default arms: each pipeline on the default model. */
  F.init = async () => {
    try {
      models = await QR.api("/api/models");
    } catch (err) {
      QR.status("Could not load the models (every arm uses the configured one): " + err.message, "error");
    }
    list.replaceChildren();
    wanted = null;
    for (const pipeline of PIPELINES) add({ pipeline, model: models.default }, false);
    wanted = null; // the default baseline: the chat arm
    refresh();
  };
  /** The request's arms and baseline: {arms: [{pipeline, model, name, model_settings?}], baseline}. */
  F.value = () => {
    const arms = named(rows());
    const chosen = arms.find((a) => a.key === baseline.value) || arms[0];
    return {
      arms: arms.map((a) => ({
        pipeline: a.pipeline, name: a.name, ...(a.model ? { model: a.model } : {}),
        ...(a.temperature === null ? {} : { model_settings: { temperature: a.temperature } }),
      })),
      baseline: chosen ? chosen.name : undefined,
    };
  };

  list.addEventListener("input", refresh);
  list.addEventListener("change", refresh);
  list.addEventListener("click", (event) => {
    const button = event.target.closest(".remove-arm");
    if (button) remove(button.closest("fieldset.arm"));
  });
  addButton.addEventListener("click", addNext);
  baseline.addEventListener("change", () => { wanted = baseline.value; });
  QR.armsForm = F;
})();
