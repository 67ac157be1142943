// New import / edit job: 1 source (upload, or a connection: wizard-connection.js), 2 target (instance, object, operation, match key),
// 3 mapping grid (automap, column/constant/formula, lookups, options, live preview), 4 review (validate, save, run).
// While anything loads, computes or waits to re-render (a debounced preview too) the screen says so with
// data-state="busy" and aria-busy; "ready" once the last piece of work has been laid out.
import { h, clear, table, alert, setProgress } from "../dom.js";
import { mappingGrid } from "./mapping.js";
import { connectionStep } from "./wizard-connection.js";

const plural = (n, word) => `${Number(n).toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

export function mount(root, ctx) {
  const { api, announce, navigate } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const job = JSON.parse(root.querySelector("[data-wizard-job]").textContent || "{}");
  const state = {
    step: 1, jobId: job.id || null, source: job.source || null, columns: [], rows: [],
    org: job.org_connection_id || null, object: job.object || "", operation: job.operation || "insert",
    objects: [], describe: null, mapping: job.mapping || null, name: job.name || "",
    api: (job.mapping && job.mapping.api) || "auto",
  };
  const errorBox = $("[data-wizard-error]");
  let pending = 0;
  let settling = 0;
  function busy(delta) {
    pending += delta;
    const turn = ++settling;
    if (pending > 0) { root.dataset.state = "busy"; root.setAttribute("aria-busy", "true"); return; }
    // Ready only after two frames: what the work rendered has been laid out and the canvas frame resized to it.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (turn !== settling || pending) return;
      root.dataset.state = "ready";
      root.setAttribute("aria-busy", "false");
    }));
  }
  async function work(fn) {
    busy(1);
    try { return await fn(); } finally { busy(-1); }
  }
  busy(0);
  const grid = mappingGrid($("[data-mapping-rows]"), $("[data-add-field]"), $("[data-preview]"), root, { api, state, announce, showError, busy });

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.classList.toggle("slds-hide", !message);
    if (message) announce(message);
  }

  async function guard(fn) {
    try { showError(""); return await fn(); } catch (err) { showError(err.message); return undefined; }
  }

  function go(step) {
    state.step = step;
    root.querySelectorAll("[data-step]").forEach((s) => s.classList.toggle("slds-hide", Number(s.dataset.step) !== step));
    root.querySelectorAll("[data-step-marker]").forEach((li) => {
      const n = Number(li.dataset.stepMarker);
      li.classList.toggle("slds-is-active", n === step);
      li.classList.toggle("slds-is-completed", n < step);
      const btn = li.querySelector("button");
      if (n === step) btn.setAttribute("aria-current", "step"); else btn.removeAttribute("aria-current");
    });
    $("[data-steps-bar]").style.width = `${((step - 1) / 3) * 100}%`;
    const heading = root.querySelector(`[data-step="${step}"] h2`);
    heading.setAttribute("tabindex", "-1");
    heading.focus();
    announce(`Step ${step} of 4: ${heading.textContent.replace(/^\d\.\s*/, "")}`);
  }

  // ---- step 1: source -------------------------------------------------------------------------
  function showSource() {
    const summary = clear($("[data-source-summary]"));
    const sample = clear($("[data-source-sample]"));
    if (!state.source) return;
    const fromConnection = Boolean(state.source.connection_id);
    const counted = fromConnection ? ` · first ${plural(state.rows.length, "row")} shown`
      : state.rowCount === undefined || state.rowCount === null ? "" : ` · ${plural(state.rowCount, "row")}`;
    summary.append(h("p", { "data-source-counts": true }, h("strong", {}, state.source.name || "Uploaded file"),
      ` · ${plural(state.columns.length, "column")}${counted}`));
    if (fromConnection) settingsBox.classList.add("slds-hide"); else showSettings();
    if (state.warnings && state.warnings.length) summary.append(alert("warning", state.warnings.join(" ")));
    if (state.columns.length) sample.append(table(fromConnection ? "First rows of the source" : "First rows of the file", state.columns, state.rows));
    $('[data-next="2"]').disabled = !state.columns.length;
  }

  // Source settings: detection is the default; every change re-reads the file and shows its effect at once.
  const settingsBox = $("[data-source-settings]");
  const CHOICES = { // the CSV source's config_schema enums, in words
    encoding: [["auto", "Detect automatically"], ["utf-8", "UTF-8"], ["utf-16", "UTF-16"], ["cp1252", "Windows-1252"],
      ["latin-1", "Latin-1 (ISO 8859-1)"]],
    delimiter: [["auto", "Detect automatically"], [",", "Comma (,)"], [";", "Semicolon (;)"], ["\t", "Tab"], ["|", "Pipe (|)"]],
  };
  Object.entries(CHOICES).forEach(([name, options]) => {
    const select = $(`[data-src="${name}"]`);
    options.forEach(([value, label]) => select.append(h("option", { value }, label)));
  });
  function showSettings() {
    const kind = state.source.type === "xlsx" ? "xlsx" : "csv";
    const config = state.source.config || {};
    settingsBox.classList.remove("slds-hide");
    settingsBox.querySelectorAll("[data-for]").forEach((el) => el.classList.toggle("slds-hide", el.dataset.for !== kind));
    const detected = state.detected || {};
    if (kind === "csv") {
      $('[data-src="encoding"]').value = config.encoding || "auto";
      $('[data-src="delimiter"]').value = config.delimiter || "auto";
    } else {
      const sheet = clear($('[data-src="sheet"]'));
      sheet.append(h("option", { value: "" }, "Detect automatically"));
      (detected.sheets || []).forEach((name) => sheet.append(h("option", { value: name }, name)));
      sheet.value = config.sheet || "";
    }
    $('[data-src="header_row"]').value = config.header_row || 1;
    const said = kind === "csv"
      ? [detected.encoding && `encoding ${detected.encoding}`, detected.delimiter && `${detected.delimiter} delimited`]
      : [detected.sheet && `sheet "${detected.sheet}"`];
    $("[data-detected]").textContent = said.filter(Boolean).length ? `Reading with ${said.filter(Boolean).join(", ")}.` : "";
  }

  settingsBox.addEventListener("change", (event) => {
    const input = event.target.closest("[data-src]");
    if (!input || !state.source) return;
    const config = { ...(state.source.config || {}) };
    const value = input.dataset.src === "header_row" ? Math.max(1, parseInt(input.value, 10) || 1) : input.value;
    if (value === "auto" || value === "" || (input.dataset.src === "header_row" && value === 1)) delete config[input.dataset.src];
    else config[input.dataset.src] = value;
    state.source = { ...state.source, config };
    work(() => guard(async () => {
      const found = await api.post("/api/sources/inspect", { source: state.source, count: true });
      Object.assign(state, { columns: found.columns, rows: found.rows, warnings: found.warnings,
        rowCount: found.row_count, detected: found.detected });
      grid.reset();
      showSource();
      announce(`${plural(found.columns.length, "column")}, ${plural(found.row_count, "row")} with these settings`);
    }));
  });

  async function uploadFile(file) {
    if (!file) return;
    const box = $("[data-upload-progress]");
    const bar = $("[data-upload-bar]");
    const text = $("[data-upload-text]");
    box.classList.remove("slds-hide");
    setProgress(bar, 0);
    text.textContent = `Uploading ${file.name}…`;
    await work(() => guard(async () => {
      const body = await api.upload("/api/sources/upload", file, (f) => {
        const pct = setProgress(bar, f);
        text.textContent = `Uploading ${file.name}: ${pct}%`;
      });
      setProgress(bar, 1);
      if (body.error) throw new Error(body.error);
      Object.assign(state, { source: body.source, columns: body.columns, rows: body.rows, warnings: body.warnings,
        rowCount: body.row_count, detected: body.detected });
      text.textContent = `${file.name} uploaded (${plural(body.columns.length, "column")}).`;
      grid.reset();
      showSource();
      announce(`${file.name} uploaded with ${body.columns.length} columns`);
    }));
  }

  $("[data-sample]").addEventListener("click", async (event) => {
    const url = event.currentTarget.dataset.sample;
    await work(() => guard(async () => {
      const response = await fetch(url);
      if (!response.ok) throw new Error("The sample file could not be loaded.");
      const name = url.split("/").pop();
      await uploadFile(new File([await response.blob()], name, { type: "text/csv" }));
      if (!objectInput.value) objectInput.value = "Contact";
    }));
  });

  const input = $("[data-file]");
  input.addEventListener("change", () => uploadFile(input.files[0]));
  const zone = $("[data-dropzone]");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("slds-has-drag-over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("slds-has-drag-over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("slds-has-drag-over");
    uploadFile(e.dataTransfer.files[0]);
  });

  // "Upload a file" or "From a connection": each panel keeps its own form; the source is whichever was read last.
  function showMode(mode) {
    root.querySelectorAll("[data-mode-panel]").forEach((el) => el.classList.toggle("slds-hide", el.dataset.modePanel !== mode));
  }
  root.querySelectorAll("[data-source-mode]").forEach((radio) => radio.addEventListener("change", () => showMode(radio.value)));
  const connection = connectionStep(root, {
    api, work, guard, announce,
    onSource(source, columns, rows) {
      Object.assign(state, { source, columns, rows, warnings: [], rowCount: null, detected: null });
      grid.reset();
      showSource();
    },
  });

  // ---- step 2: target -------------------------------------------------------------------------
  const orgSelect = $("[data-org]");
  const objectInput = $("[data-object]");
  const opSelect = $("[data-operation]");
  const matchSelect = $("[data-match]");
  if (state.org && [...orgSelect.options].some((o) => o.value === state.org)) orgSelect.value = state.org;
  state.org = orgSelect.value || null;
  objectInput.value = state.object;
  opSelect.value = state.operation;

  async function loadObjects() {
    if (!state.org) return;
    await work(() => guard(async () => {
      state.objects = await api.get(`/api/orgs/${encodeURIComponent(state.org)}/objects`);
      const list = clear($("[data-object-list]"));
      state.objects.forEach((o) => list.append(h("option", { value: o.name }, `${o.label} (${o.name})`)));
    }));
  }

  function pickedObject() {
    const text = objectInput.value.trim().toLowerCase();
    return state.objects.find((o) => o.name.toLowerCase() === text)
      || state.objects.find((o) => o.label.toLowerCase() === text);
  }

  // One describe per object at a time: "Next: mapping" clicked while the object is still resolving (the
  // field's change event fires on that very mousedown) waits for the request under way, not a second one.
  let describing = null;
  function loadDescribe() {
    const picked = pickedObject();
    const help = $("[data-object-help]");
    if (!picked) { help.textContent = objectInput.value ? "No object has this label or API name." : ""; return Promise.resolve(false); }
    help.textContent = `${picked.label} (${picked.name})`;
    if (state.describe && state.describe.name === picked.name) return Promise.resolve(true);
    if (describing && describing.name === picked.name) return describing.done;
    const done = work(async () => (await guard(async () => {
      const describe = await api.get(`/api/orgs/${encodeURIComponent(state.org)}/objects/${encodeURIComponent(picked.name)}`);
      if (pickedObject() !== picked) return false; // the field changed meanwhile; its own describe decides
      state.describe = describe;
      if (state.object !== picked.name) grid.reset();
      state.object = picked.name;
      fillMatchKeys();
      return true;
    })) || false).finally(() => { if (describing && describing.done === done) describing = null; });
    describing = { name: picked.name, done };
    return done;
  }

  function fillMatchKeys() {
    const keep = (state.mapping && state.mapping.match_key) || matchSelect.value || "Id";
    clear(matchSelect);
    const keys = state.describe.fields.filter((f) => f.name === "Id" || f.externalId || (f.idLookup && f.type !== "id"));
    keys.forEach((f) => matchSelect.append(h("option", { value: f.name }, `${f.label} (${f.name})${f.externalId ? " · external id" : ""}`)));
    if ([...matchSelect.options].some((o) => o.value === keep)) matchSelect.value = keep;
    syncMatch();
  }

  function syncMatch() {
    state.operation = opSelect.value;
    $("[data-match-wrap]").classList.toggle("slds-hide", state.operation === "insert");
  }

  orgSelect.addEventListener("change", () => { state.org = orgSelect.value; state.describe = null; describing = null; grid.reset(); loadObjects(); });
  objectInput.addEventListener("change", loadDescribe);
  opSelect.addEventListener("change", () => { syncMatch(); grid.reset(); });
  syncMatch(); // the match key's row is shown or hidden by the operation now, not when the describe arrives

  // ---- step 4: review -------------------------------------------------------------------------
  const nameInput = $("[data-name]");
  const apiSelect = $("[data-api]");
  apiSelect.value = state.api;

  // "Save and run" stays disabled until the review found nothing that would make the run fail, and says why.
  const runButton = $('[data-action="save-run"]');
  const blocked = $("[data-run-blocked]");
  function blockRun(reason) {
    runButton.disabled = Boolean(reason);
    blocked.textContent = reason ? `Cannot run yet: ${reason}` : "";
  }

  async function review() {
    if (!nameInput.value) nameInput.value = state.name || `${state.object} from ${state.source.name || "file"}`;
    const box = clear($("[data-validation]"));
    box.append(h("p", {}, "Checking every row of the file…"));
    blockRun("the review is still checking the file.");
    const result = await guard(() => api.post("/api/mapping/validate", body()));
    clear(box);
    if (!result) { blockRun("the review could not check the file."); return; }
    const report = result.report || { errors: [], warnings: [] };
    report.errors.forEach((e) => box.append(alert("error", e.message)));
    if (report.warnings.length) {
      box.append(h("p", { class: "slds-text-title slds-m-top_small" }, "Notes (they do not stop the run)"));
      report.warnings.forEach((w) => box.append(alert("warning", w.message)));
    }
    const allFail = !report.errors.length && result.rows > 0 && result.valid === 0;
    blockRun(report.errors.length ? report.errors.map((e) => e.message).join(" ")
      : allFail ? `every one of the ${result.rows} rows would fail (see below).` : "");
    if (!report.errors.length) {
      box.append(h("p", { class: "slds-text-heading_small", "data-validation-summary": true },
        `${result.rows} rows read: ${result.valid} ready to import, ${result.error_count} with errors.`));
    }
    if (result.errors.length) {
      box.append(h("div", { class: "inflow-error-rows inflow-table-wrap" },
        table("Rows that would fail", ["Row", "Problem"], result.errors.map((e) => [String(e.row), e.message]))));
    }
    announce(runButton.disabled ? `Cannot run yet: ${blocked.textContent}` : `${result.valid} rows ready, ${result.error_count} with errors`);
  }

  function body() {
    return {
      org_connection_id: state.org, source: state.source, object: state.object, operation: state.operation,
      mapping: grid.mapping(matchSelect.value), name: nameInput.value.trim(), api: apiSelect.value,
    };
  }

  const save = (run) => work(async () => {
    const saved = await guard(() => (state.jobId ? api.put(`/api/jobs/${state.jobId}`, body()) : api.post("/api/jobs", body())));
    if (!saved) return;
    state.jobId = saved.id;
    announce(`Job ${saved.name} saved`);
    if (!run) { navigate(`#/jobs/${saved.id}`); return; }
    // A saved job running again asks first, on its own page, with what its last run did.
    if (job.id) { navigate(`#/jobs/${saved.id}?run=ask`); return; }
    const started = await guard(() => api.post(`/api/jobs/${saved.id}/runs`));
    if (started) navigate(`#/runs/${started.id}`);
  });

  // ---- navigation between steps ---------------------------------------------------------------
  async function enter(step) {
    grid.stop(); // a preview still waiting belongs to the step being left
    if (step >= 2 && !state.columns.length) { showError("Upload a file or read a connection first."); return; }
    if (step >= 2 && !state.objects.length) await loadObjects();
    if (step >= 3 && !(await loadDescribe())) { showError("Choose the object to import into."); go(2); return; }
    if (step >= 3 && !grid.ready()) await guard(() => grid.build());
    go(step);
    if (step === 3) await grid.refreshPreview();
    if (step === 4) await review();
  }

  // Step changes run one after another: a click while the previous one is still loading is kept, not lost.
  let moving = Promise.resolve();
  function goTo(step) {
    const move = moving.then(() => enter(step));
    moving = move.catch(() => {});
    return work(() => move);
  }

  root.addEventListener("click", (event) => {
    const next = event.target.closest("[data-next], [data-goto]");
    if (next) { goTo(Number(next.dataset.next || next.dataset.goto)); return; }
    const action = event.target.closest("[data-action]");
    if (action && action.dataset.action === "save") save(false);
    if (action && action.dataset.action === "save-run") save(true);
  });

  go(1);
  if (state.source && state.source.connection_id) {
    root.querySelector('[data-source-mode][value="connection"]').checked = true;
    showMode("connection");
    work(async () => {
      if (!(await connection.load(state.source))) showError("The job's connection could not be read; choose the source again.");
    });
  } else if (state.source) {
    work(() => guard(async () => {
      const found = await api.post("/api/sources/inspect", { source: state.source, count: true });
      Object.assign(state, { columns: found.columns, rows: found.rows, warnings: found.warnings,
        rowCount: found.row_count, detected: found.detected });
      showSource();
    })).then(() => { if (!state.columns.length) showError("The saved file has expired; upload it again."); });
  }
  return () => grid.stop();
}
