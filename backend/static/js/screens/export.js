// New export: 1 source (instance, object, include deleted), 2 fields and filters (field picker, parent fields,
// filter, or the user's SOQL), 3 target (a CSV or Excel download, a database table or a file on a file store
// through a connection; time zone, incremental), 4 preview of the first 20 rows,
// then save and run: the run page shows live progress and the download. data-state "busy"/"ready" as the wizard.
import { h, clear, table, screenWork } from "../dom.js";

export function mount(root, ctx) {
  const { api, announce, navigate } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const errorBox = $("[data-export-error]");
  const describes = new Map();
  let connections = []; // the account's connections, each with the kind of its type (database | files)
  const { busy, guard, showError } = screenWork(root, errorBox, announce);

  function spec() {
    const picked = Array.from($("[data-fields]").selectedOptions).map((o) => o.value);
    const parents = $("[data-parents]").value.split(",").map((s) => s.trim()).filter(Boolean);
    return {
      org_connection_id: $("[data-org]").value, object: $("[data-object]").value.trim(),
      fields: [...picked, ...parents], where: $("[data-where]").value.trim(), soql: $("[data-soql]").value.trim(),
      all: $("[data-all]").checked, format: $("[data-format]").value, time_zone: $("[data-tz]").value.trim(),
      incremental: $("[data-incremental]").checked, name: $("[data-name]").value.trim(), target: target(),
    };
  }

  function targetKind() {
    return root.querySelector("[data-target-kind]:checked").value;
  }

  function target() {
    const kind = targetKind();
    if (kind === "download") return { kind };
    const where = kind === "table" ? { table: $("[data-table]").value.trim(), deleted: $("[data-deleted]").value }
      : { path: $("[data-path]").value.trim() };
    return { kind, connection_id: $("[data-connection]").value, ...where };
  }

  // Only the inputs of the chosen target show; the connection list offers the connections of the fitting kind.
  function showTarget() {
    const kind = targetKind();
    root.querySelectorAll("[data-target-for]").forEach((el) => el.classList.toggle("slds-hide", !el.dataset.targetFor.split(" ").includes(kind)));
    const wanted = kind === "table" ? "database" : "files";
    const fitting = connections.filter((c) => c.kind === wanted && (kind === "table" || c.takes_files));
    const select = clear($("[data-connection]"));
    fitting.forEach((c) => select.append(h("option", { value: c.id }, `${c.name} (${c.type})`)));
    $("[data-no-connections]").classList.toggle("slds-hide", fitting.length > 0);
  }

  async function loadConnections() {
    await guard(async () => {
      const [rows, types] = await Promise.all([api.get("/api/connections"), api.get("/api/connections/types")]);
      const byType = new Map(types.map((t) => [t.type, t]));
      connections = rows.map((c) => ({ ...c, kind: byType.get(c.type).kind, takes_files: byType.get(c.type).takes_files }));
      showTarget();
    });
  }

  function go(step) {
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

  async function loadObjects() {
    const org = $("[data-org]").value;
    if (!org) return;
    await guard(async () => {
      const list = await api.get(`/api/orgs/${encodeURIComponent(org)}/objects`);
      const datalist = clear($("[data-object-list]"));
      list.forEach((o) => datalist.append(h("option", { value: o.name }, o.label)));
    });
  }

  async function loadFields() {
    const s = spec();
    if (!s.object || s.soql) return true;
    const key = `${s.org_connection_id}/${s.object}`;
    return guard(async () => {
      if (!describes.has(key)) {
        describes.set(key, await api.get(`/api/orgs/${encodeURIComponent(s.org_connection_id)}/objects/${encodeURIComponent(s.object)}`));
      }
      const select = $("[data-fields]");
      if (select.dataset.builtFor === key) return true; // coming back keeps what was picked
      select.dataset.builtFor = key;
      clear(select);
      describes.get(key).fields.filter((f) => !["address", "location"].includes(f.type)).forEach((f) => {
        select.append(h("option", { value: f.name, selected: ["Id", "Name"].includes(f.name) }, `${f.label} (${f.name})`));
      });
      return true;
    });
  }

  async function showPreview() {
    return guard(async () => {
      const s = spec();
      const result = await api.post("/api/exports/preview", s);
      $("[data-query-text]").textContent = result.soql;
      clear($("[data-preview]")).append(result.rows.length
        ? table("First rows of the export", result.columns, result.rows)
        : h("p", { class: "slds-text-color_weak" }, "No record matches this query."));
      if (!$("[data-name]").value) $("[data-name]").value = `${result.object} export`;
      announce(`Preview: ${result.rows.length} rows`);
      return true;
    });
  }

  async function next(step) {
    if (step === 2 && !(await loadFields())) return;
    if (step === 4 && !(await showPreview())) return;
    go(step);
  }

  async function run() {
    await guard(async () => {
      const job = await api.post("/api/exports", spec());
      const started = await api.post(`/api/jobs/${encodeURIComponent(job.id)}/runs`, {});
      announce("Export started");
      navigate(`#/runs/${started.id}`);
    });
  }

  root.querySelectorAll("[data-next]").forEach((b) => b.addEventListener("click", () => next(Number(b.dataset.next))));
  root.querySelectorAll("[data-goto]").forEach((b) => b.addEventListener("click", () => next(Number(b.dataset.goto))));
  $("[data-org]").addEventListener("change", loadObjects);
  root.querySelectorAll("[data-target-kind]").forEach((r) => r.addEventListener("change", showTarget));
  $('[data-action="run"]').addEventListener("click", run);
  loadObjects();
  loadConnections();
  busy(0);
}
