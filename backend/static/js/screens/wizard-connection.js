// The wizard's "From a connection" source: pick a saved connection, then a table (optional columns and WHERE
// filter) or a read-only query for a database, or a path or glob for a file store; "Show the first 20 rows"
// previews it and hands the source ({connection_id, read, name}) to the wizard. Browsing fills the
// suggestions of the table and path fields (schemas and their tables; the connection's folder).
import { clear, h } from "../dom.js";
import { entryPath } from "./connections-browse.js";

const MAX_SCHEMAS = 10; // tables are suggested from this many schemas; any table can still be typed

export function connectionStep(root, { api, work, guard, announce, onSource }) {
  const $ = (sel) => root.querySelector(sel);
  const panel = $('[data-mode-panel="connection"]');
  const select = $("[data-conn]");
  const previewButton = $("[data-conn-preview]");
  if (!select) return { load: async () => false };
  const field = (name) => panel.querySelector(`[data-read="${name}"]`);
  const picked = () => select.selectedOptions[0];
  const kind = () => (select.value ? picked().dataset.storeKind : "");
  const readKind = () => panel.querySelector("[data-read-kind]:checked").value;

  function layout() {
    panel.querySelectorAll("[data-conn-kind]").forEach((el) => el.classList.toggle("slds-hide", el.dataset.connKind !== kind()));
    panel.querySelectorAll("[data-read-panel]").forEach((el) => el.classList.toggle("slds-hide", el.dataset.readPanel !== readKind()));
    previewButton.disabled = !select.value;
  }

  async function suggest() {
    const id = select.value;
    if (!id) return;
    const list = clear(panel.querySelector(kind() === "files" ? "[data-path-list]" : "[data-table-list]"));
    await work(() => guard(async () => {
      const top = await api.get(`/api/connections/${encodeURIComponent(id)}/browse`);
      const schemas = top.filter((e) => e.kind === "schema").slice(0, MAX_SCHEMAS);
      const found = top.filter((e) => e.kind !== "schema");
      for (const schema of schemas) {
        found.push(...await api.get(`/api/connections/${encodeURIComponent(id)}/browse?path=${encodeURIComponent(schema.path)}`));
      }
      if (select.value !== id) return;
      found.forEach((e) => list.append(h("option", { value: entryPath(e) }, `${e.name} (${e.kind})`)));
    }));
  }

  function read() {
    if (kind() === "files") return { path: field("path").value.trim(), pick: field("pick").value };
    if (readKind() === "query") return { query: field("query").value.trim() };
    const columns = field("columns").value.split(",").map((c) => c.trim()).filter(Boolean);
    const spec = { table: field("table").value.trim() };
    if (columns.length) spec.columns = columns;
    if (field("where").value.trim()) spec.where = field("where").value.trim();
    return spec;
  }

  function label(spec) {
    return `${picked().dataset.connName}: ${spec.table || spec.path || "query"}`;
  }

  // The first 20 rows of what the form says; the source goes to the wizard only once it could be read.
  async function preview() {
    const spec = read();
    return work(() => guard(async () => {
      const found = await api.post(`/api/connections/${encodeURIComponent(select.value)}/preview`, spec);
      const rows = found.rows.map((r) => r.map((v) => (v === null || v === undefined ? "" : String(v))));
      onSource({ connection_id: select.value, read: spec, name: label(spec) }, found.columns, rows);
      announce(`${found.columns.length} columns, ${rows.length} rows shown from ${label(spec)}`);
      return true;
    }));
  }

  // A saved job's connection source: the form filled in as it was saved, then previewed again.
  async function load(source) {
    if (![...select.options].some((o) => o.value === source.connection_id)) return false;
    select.value = source.connection_id;
    const spec = source.read || {};
    const query = Boolean(spec.query);
    panel.querySelector(`[data-read-kind][value="${query ? "query" : "table"}"]`).checked = true;
    field("table").value = spec.table || "";
    field("columns").value = (spec.columns || []).join(", ");
    field("where").value = spec.where || "";
    field("query").value = spec.query || "";
    field("path").value = spec.path || "";
    field("pick").value = spec.pick || "newest";
    layout();
    suggest();
    return Boolean(await preview());
  }

  select.addEventListener("change", () => { layout(); suggest(); });
  panel.addEventListener("change", (event) => { if (event.target.matches("[data-read-kind]")) layout(); });
  previewButton.addEventListener("click", preview);
  layout();
  return { load };
}
