// New migration: source and target instances, a template (or custom objects), match rules, filters and a fallback
// owner; the dry run shows the order and, per object, what would be inserted, updated and left unmatched; Run
// saves the migration and starts it on the worker, then the run page shows its steps. data-state "busy"/"ready".
import { h, clear, table, screenWork } from "../dom.js";

export function mount(root, ctx) {
  const { api, announce, navigate } = ctx;
  const $ = (sel) => root.querySelector(sel);
  const errorBox = $("[data-migration-error]");
  const { busy, guard, showError } = screenWork(root, errorBox, announce);

  // "Account=Name+Phone, Contact=Email" -> {Account: ["Name", "Phone"], Contact: ["Email"]}
  function pairs(text, sep) {
    const out = {};
    text.split(sep).map((p) => p.trim()).filter(Boolean).forEach((p) => {
      const at = p.indexOf("=");
      if (at > 0) out[p.slice(0, at).trim()] = p.slice(at + 1).trim();
    });
    return out;
  }

  function spec() {
    const template = $("[data-template]").value;
    const match = {};
    Object.entries(pairs($("[data-match]").value, ",")).forEach(([o, f]) => { match[o] = f.split("+").filter(Boolean); });
    return {
      source_org_connection_id: $("[data-source]").value, target_org_connection_id: $("[data-target]").value,
      template: template || null,
      objects: template ? [] : $("[data-objects]").value.split(",").map((s) => s.trim()).filter(Boolean),
      match, where: pairs($("[data-where]").value, "\n"), fallback_owner: $("[data-fallback]").value.trim(),
      name: $("[data-name]").value.trim(),
    };
  }

  function templateChosen() {
    const option = $("[data-template]").selectedOptions[0];
    const custom = !option || !option.value;
    $("[data-objects]").disabled = !custom;
    if (!custom) {
      const rules = JSON.parse(option.dataset.rules || "{}");
      $("[data-match]").value = Object.entries(rules).filter(([, f]) => f.length).map(([o, f]) => `${o}=${f.join("+")}`).join(", ");
    }
    $("[data-dry]").classList.add("slds-hide");
  }

  async function dryRun() {
    await guard(async () => {
      const result = await api.post("/api/migrations/dry-run", spec());
      const order = clear($("[data-order]"));
      result.order.forEach((line) => order.append(h("li", {}, line)));
      const rows = result.steps.map((s) => [s.object, String(s.read), String(s.insert), String(s.update), String(s.unmatched)]);
      clear($("[data-counts]")).append(table("What the migration would do", ["Object", "Read", "Insert", "Update", "Unmatched values"], rows));
      if (!$("[data-name]").value) $("[data-name]").value = `Migration: ${result.steps.map((s) => s.object).join(", ")}`;
      $("[data-dry]").classList.remove("slds-hide");
      const heading = $("#m3-title");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
      announce(`Dry run: ${result.steps.length} objects; nothing was written`);
    });
  }

  async function run() {
    await guard(async () => {
      const started = await api.post("/api/migrations", spec());
      announce("Migration started");
      navigate(`#/runs/${started.id}`);
    });
  }

  $("[data-template]").addEventListener("change", templateChosen);
  $('[data-action="dry-run"]').addEventListener("click", dryRun);
  $('[data-action="run"]').addEventListener("click", run);
  templateChosen();
  busy(0);
}
