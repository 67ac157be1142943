// The mapping grid: one row per target field with its source (column, constant or formula), confidence,
// lookup settings for reference fields, and a live preview of the first rows.
import { h, clear, table, alert } from "../dom.js";

const ID_LIKE = /^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/;
const KINDS = [["column", "Column"], ["constant", "Constant"], ["formula", "Formula"], ["none", "Not mapped"]];

function confidenceBadge(score) {
  if (score === undefined || score === null) return h("span", { class: "slds-text-color_weak" }, "—");
  const level = score >= 0.9 ? "high" : score >= 0.6 ? "mid" : "low";
  const word = { high: "High", mid: "Medium", low: "Low" }[level];
  return h("span", { class: `slds-badge inflow-confidence-${level}`, title: `${Math.round(score * 100)}%` },
    `${word} ${Math.round(score * 100)}%`);
}

export function mappingGrid(tbody, addSelect, previewBox, root, ctx) {
  const { api, state, announce, showError, busy } = ctx;
  let rows = [];          // {field (describe entry), kind, value, score, lookup: {enabled, parent_object, match_field, no_match, many_match}}
  let built = false;
  let timer = null;
  let seq = 0;
  const fieldsByName = () => Object.fromEntries(state.describe.fields.map((f) => [f.name, f]));
  const writable = (f) => (state.operation === "insert" ? f.createable : f.updateable || f.createable) || f.name === "Id";

  function lookupDefaults(f, column) {
    const sample = column ? state.rows.map((r) => r[state.columns.indexOf(column)]).find((v) => v) : "";
    return { enabled: f.type === "reference" && !ID_LIKE.test(sample || ""), parent_object: (f.referenceTo || [])[0] || "",
      match_field: "Name", no_match: "error", many_match: "error" };
  }

  function rowFor(f, kind = "none", value = "", score = null) {
    return { field: f, kind, value, score, valueMap: {}, lookup: lookupDefaults(f, kind === "column" ? value : "") };
  }

  async function build() {
    const byName = fieldsByName();
    rows = [];
    const saved = state.mapping && state.mapping.object === state.object ? state.mapping : null;
    if (saved) {
      (saved.fields || []).forEach((fm) => {
        const f = byName[fm.field] || { name: fm.field, label: fm.field, type: "string" };
        const kind = fm.column != null ? "column" : fm.constant != null ? "constant" : "formula";
        const row = rowFor(f, kind, fm[kind] ?? "");
        row.valueMap = fm.value_map || {};
        const lk = (saved.lookups || []).find((l) => l.field === fm.field);
        row.lookup = lk ? { enabled: true, ...lk } : { ...row.lookup, enabled: false };
        rows.push(row);
      });
      applyOptions(saved.options || {});
    } else {
      const result = await api.post("/api/mapping/automap", {
        org_connection_id: state.org, source: state.source, object: state.object, operation: state.operation });
      result.suggestions.forEach((s) => { if (byName[s.field]) rows.push(rowFor(byName[s.field], "column", s.column, s.score)); });
      applyOptions({ date_formats: [result.date_format || "iso"] });
      root.querySelector("[data-date-help]").textContent = result.date_format_reason || "";
      announce(`${result.suggestions.length} columns mapped automatically`);
    }
    // Required fields matter where records are created; update and delete need only the match key.
    if (["insert", "upsert"].includes(state.operation)) {
      state.describe.fields.filter((f) => f.required && !rows.some((r) => r.field.name === f.name))
        .forEach((f) => rows.push(rowFor(f)));
    }
    built = true;
    render();
  }

  function applyOptions(opts) {
    root.querySelector('[data-option="blank_values"]').value = opts.blank_values || "unchanged";
    root.querySelector('[data-option="date_format"]').value = (opts.date_formats || ["iso"])[0];
    root.querySelector("[data-date-help]").textContent = "";
    root.querySelector('[data-option="time_zone"]').value = opts.time_zone || "UTC";
  }

  function valueEditor(row, id) {
    const label = `${row.field.label} ${row.kind}`;
    if (row.kind === "column") {
      const sel = h("select", { class: "slds-select", id, "aria-label": label, "data-value": row.field.name },
        h("option", { value: "" }, "Choose a column…"), state.columns.map((c) => h("option", { value: c, selected: c === row.value }, c)));
      return h("div", { class: "slds-select_container" }, sel);
    }
    if (row.kind === "none") return h("span", { class: "slds-text-color_weak" }, row.field.required ? "Required: choose a source" : "—");
    const input = h("input", { class: "slds-input", id, "aria-label": label, "data-value": row.field.name, value: row.value,
      placeholder: row.kind === "formula" ? 'e.g. UPPER([Last Name]) & ", " & [First Name]' : "A fixed value for every row",
      spellcheck: "false", "aria-describedby": row.kind === "formula" ? `${id}-help` : null });
    if (row.kind !== "formula") return input;
    return h("div", {}, input, h("p", { class: "slds-form-element__help", id: `${id}-help` },
      "Columns in [brackets], text in quotes, & joins; functions such as UPPER, TRIM, LEFT, IF, CONCAT, BLANKVALUE."));
  }

  function lookupEditor(row) {
    if (row.field.type !== "reference" || row.kind === "none") return null;
    const lk = row.lookup;
    const name = row.field.name;
    const wrap = h("div", { class: "inflow-lookup", "data-lookup": name, role: "group", "aria-label": `Lookup for ${row.field.label}` });
    const check = h("div", { class: "slds-form-element" }, h("div", { class: "slds-checkbox" },
      h("input", { type: "checkbox", id: `lk-on-${name}`, checked: lk.enabled, "data-lk": "enabled" }),
      h("label", { class: "slds-checkbox__label", for: `lk-on-${name}` }, h("span", { class: "slds-checkbox_faux" }),
        h("span", { class: "slds-form-element__label" }, "Find the parent by a field"))));
    wrap.append(check);
    if (!lk.enabled) return wrap;
    const sel = (key, label, options) => h("div", { class: "slds-form-element" },
      h("label", { class: "slds-form-element__label", for: `lk-${key}-${name}` }, label),
      h("div", { class: "slds-select_container" }, h("select", { class: "slds-select", id: `lk-${key}-${name}`, "data-lk": key },
        options.map(([v, t]) => h("option", { value: v, selected: v === lk[key] }, t)))));
    wrap.append(
      sel("parent_object", "Parent object", (row.field.referenceTo || [lk.parent_object]).map((o) => [o, o])),
      h("div", { class: "slds-form-element" }, h("label", { class: "slds-form-element__label", for: `lk-match_field-${name}` }, "Match field"),
        h("input", { class: "slds-input", id: `lk-match_field-${name}`, "data-lk": "match_field", value: lk.match_field })),
      sel("no_match", "No match", [["error", "Reject the row"], ["blank", "Leave blank"]]),
      sel("many_match", "Several matches", [["error", "Reject the row"], ["first", "Use the first"]]));
    return wrap;
  }

  // Picklists: translate the file's values to the field's ("Hot = High"), one pair per line.
  function valueMapEditor(row, i) {
    const allowed = row.field.picklist || [];
    if (!allowed.length || row.kind === "none" || row.kind === "constant") return null;
    const text = Object.entries(row.valueMap).map(([k, v]) => `${k} = ${v}`).join("\n");
    return h("details", { class: "slds-m-top_x-small", open: text ? true : null },
      h("summary", {}, "Translate values"),
      h("textarea", { class: "slds-textarea", id: `vm-${i}`, rows: "3", "data-value-map": row.field.name,
        "aria-label": `${row.field.label}: translate values, one "file value = picklist value" per line`,
        "aria-describedby": `vm-${i}-help`, placeholder: "Hot = High" }, text),
      h("p", { class: "slds-form-element__help", id: `vm-${i}-help` }, `Picklist values: ${allowed.join(", ")}`));
  }

  function parseValueMap(text) {
    const out = {};
    text.split("\n").forEach((line) => {
      const at = line.indexOf("=");
      if (at > 0 && line.slice(0, at).trim()) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    });
    return out;
  }

  function render() {
    clear(tbody);
    rows.forEach((row, i) => {
      const f = row.field;
      const missing = f.required && row.kind === "none";
      const kindSel = h("select", { class: "slds-select", "aria-label": `${f.label}: value from`, "data-kind": f.name },
        KINDS.map(([v, t]) => h("option", { value: v, selected: v === row.kind }, t)));
      tbody.append(h("tr", { class: missing ? "inflow-required-missing" : "", "data-row": f.name },
        h("th", { scope: "row", "data-label": "Field" },
          h("div", {}, f.required ? h("abbr", { class: "slds-required", title: "required" }, "*") : null, f.label),
          h("div", { class: "slds-text-body_small slds-text-color_weak" }, `${f.name} · ${f.type}`)),
        h("td", { "data-label": "Value from" }, h("div", { class: "slds-select_container" }, kindSel)),
        h("td", { "data-label": "Value" }, valueEditor(row, `val-${i}`), lookupEditor(row), valueMapEditor(row, i)),
        h("td", { "data-label": "Confidence" }, confidenceBadge(row.kind === "column" ? row.score : null)),
        h("td", { "data-label": "Preview", class: "inflow-preview-cell", "data-preview-of": f.name }, "")));
    });
    const mapped = new Set(rows.map((r) => r.field.name));
    clear(addSelect).append(h("option", { value: "" }, "Choose a field…"),
      ...state.describe.fields.filter((f) => writable(f) && !mapped.has(f.name) && f.type !== "id")
        .map((f) => h("option", { value: f.name }, `${f.label} (${f.name})`)));
  }

  function rowOf(name) { return rows.find((r) => r.field.name === name); }

  tbody.addEventListener("change", (e) => {
    const t = e.target;
    if (t.dataset.kind) {
      const row = rowOf(t.dataset.kind);
      row.kind = t.value; row.value = ""; row.score = null;
      render();
      const editor = tbody.querySelector(`[data-value="${CSS.escape(row.field.name)}"]`);
      if (editor) editor.focus(); else tbody.querySelector(`[data-kind="${CSS.escape(row.field.name)}"]`).focus();
    } else if (t.dataset.value) {
      const row = rowOf(t.dataset.value);
      row.value = t.value; row.score = null;
      if (row.kind === "column") row.lookup = { ...lookupDefaults(row.field, row.value), ...pick(row.lookup) };
    } else if (t.dataset.valueMap) {
      rowOf(t.dataset.valueMap).valueMap = parseValueMap(t.value);
    } else if (t.dataset.lk) {
      const row = rowOf(t.closest("[data-lookup]").dataset.lookup);
      row.lookup[t.dataset.lk] = t.type === "checkbox" ? t.checked : t.value;
      if (t.type === "checkbox") { render(); tbody.querySelector(`#lk-on-${CSS.escape(row.field.name)}`).focus(); }
    }
    schedulePreview();
  });
  tbody.addEventListener("input", (e) => {
    const t = e.target;
    if (t.dataset.value && t.tagName === "INPUT") { rowOf(t.dataset.value).value = t.value; schedulePreview(); }
    if (t.dataset.valueMap) { rowOf(t.dataset.valueMap).valueMap = parseValueMap(t.value); schedulePreview(); }
  });
  addSelect.addEventListener("change", () => {
    const f = fieldsByName()[addSelect.value];
    if (!f) return;
    rows.push(rowFor(f, "column"));
    render();
    tbody.querySelector(`[data-value="${CSS.escape(f.name)}"]`).focus();
    announce(`${f.label} added to the mapping`);
  });
  root.querySelectorAll("[data-option]").forEach((el) => el.addEventListener("change", schedulePreview));

  function pick(lk) { return { enabled: lk.enabled, no_match: lk.no_match, many_match: lk.many_match }; }

  function mapping(matchKey) {
    const used = rows.filter((r) => r.kind !== "none" && (r.value !== "" || r.kind === "constant"));
    return {
      object: state.object, operation: state.operation,
      match_key: state.operation === "insert" ? null : matchKey || "Id",
      fields: used.map((r) => ({ field: r.field.name, [r.kind]: r.value,
        ...(Object.keys(r.valueMap).length ? { value_map: r.valueMap } : {}) })),
      lookups: used.filter((r) => r.field.type === "reference" && r.lookup.enabled && r.lookup.parent_object)
        .map((r) => ({ field: r.field.name, parent_object: r.lookup.parent_object, match_field: r.lookup.match_field || "Name",
          no_match: r.lookup.no_match, many_match: r.lookup.many_match })),
      options: {
        blank_values: root.querySelector('[data-option="blank_values"]').value,
        date_formats: [root.querySelector('[data-option="date_format"]').value],
        time_zone: root.querySelector('[data-option="time_zone"]').value.trim() || "UTC",
      },
    };
  }

  // A preview waiting for its debounce is work under way: the screen stays busy until it has been shown.
  function schedulePreview() {
    if (timer) clearTimeout(timer); else busy(1);
    timer = setTimeout(() => { timer = null; refreshPreview().finally(() => busy(-1)); }, 400);
  }

  function stop() {
    seq++; // an answer still on its way is for a grid no longer shown
    if (!timer) return;
    clearTimeout(timer);
    timer = null;
    busy(-1);
  }

  async function refreshPreview() {
    if (!built) return;
    const mine = ++seq;
    let result;
    try {
      result = await api.post("/api/mapping/preview", { org_connection_id: state.org, source: state.source,
        mapping: mapping(root.querySelector("[data-match]").value) });
    } catch (err) { if (mine === seq) showError(err.message); return; }
    if (mine !== seq) return; // a newer edit already asked again
    showError("");
    clear(previewBox);
    tbody.querySelectorAll("[data-preview-of]").forEach((cell) => {
      cell.textContent = result.rows.slice(0, 3).map((r) => r[cell.dataset.previewOf] ?? "∅").join(" · ");
    });
    const report = result.report || { errors: [], warnings: [] };
    report.errors.forEach((e) => previewBox.append(alert("error", e.field ? `${e.field}: ${e.message}` : e.message)));
    report.warnings.forEach((w) => previewBox.append(alert("warning", w.message)));
    if (result.rows.length) {
      const cols = Object.keys(result.rows[0]);
      previewBox.append(table("Preview of the mapped rows", ["Row", ...cols],
        result.rows.map((r, i) => [String(result.row_numbers[i]), ...cols.map((c) => r[c] ?? "")])));
    }
    if (result.errors.length) {
      previewBox.append(table("Rows with problems", ["Row", "Problem"], result.errors.map((e) => [String(e.row), e.message])));
    }
  }

  return {
    build, mapping, refreshPreview, stop, ready: () => built,
    reset() { built = false; rows = []; state.mapping = state.mapping && state.mapping.object === state.object ? state.mapping : null; },
  };
}
