// A run: live progress (polled), cancel; when done, counts, result downloads, grouped errors and rollback.
import { h, clear, setProgress, table } from "../dom.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "running", "cancelling", "rolling_back"]);
const BADGE = { succeeded: "slds-theme_success", partial: "slds-theme_warning", failed: "slds-theme_error", running: "slds-badge_inverse" };

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${seconds % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

// "2026-12-06T01:49:36.123+00:00" -> "2026-12-06 01:49:36 UTC" (the app shows times in UTC).
function utc(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

// Why an active run waits (the org's API allowance, a retried outage) and when it goes on; "" when it does not.
function waiting(p) {
  if (!ACTIVE.has(p.state) || !(p.pause_reason || p.paused_until)) return "";
  const until = p.paused_until ? ` - resumes at ${utc(p.paused_until)}` : "";
  return p.pause_reason ? `Waiting: ${p.pause_reason}${until}` : `Waiting${until}`;
}

export function mount(root, ctx) {
  const { api, announce } = ctx;
  const runId = root.dataset.run;
  const $ = (sel) => root.querySelector(sel);
  const field = (name) => root.querySelector(`[data-field="${name}"]`);
  const button = (action, kind) => root.querySelector(`[data-action="${action}"]${kind ? `[data-kind="${kind}"]` : ""}`);
  const buttons = (action, kind) => root.querySelectorAll(`[data-action="${action}"][data-kind="${kind}"]`);
  let timer = null;
  let lastState = null;
  let lastAnnounced = -1;
  let stopped = false;
  let errorsShown = false;
  let linkAsked = false;

  function fraction(p) {
    if (!ACTIVE.has(p.state)) return p.state === "failed" && !p.rows_read ? 0 : 1;
    if (p.total_rows) return Math.min(1, (p.succeeded + p.failed) / p.total_rows);
    return 0;
  }

  function render(p) {
    const state = field("state");
    state.textContent = p.state_label;
    state.className = `slds-badge ${BADGE[p.state] || ""}`;
    state.dataset.state = p.state;
    field("phase").textContent = ACTIVE.has(p.state) ? p.phase || "—" : "done";
    field("rows_read").textContent = p.rows_read;
    field("succeeded").textContent = p.succeeded;
    field("failed").textContent = p.failed;
    // Created and updated say what an insert, update or upsert did; a delete only deletes.
    const counted = p.created !== null && p.created !== undefined && p.operation !== "delete";
    root.querySelectorAll("[data-counts]").forEach((el) => el.classList.toggle("slds-hide", !counted));
    field("created").textContent = counted ? p.created : "—";
    field("updated").textContent = counted ? p.updated : "—";
    $("[data-skipped]").classList.toggle("slds-hide", !p.skipped);
    field("skipped").textContent = p.skipped || "—";
    field("api").textContent = p.api || "—";
    field("time_left").textContent = ACTIVE.has(p.state) ? duration(p.seconds_left) : "—";
    const pct = setProgress($("[data-bar]"), fraction(p));
    $("[data-bar-text]").textContent = `${pct}% complete`;
    const wait = field("waiting");
    const why = waiting(p);
    if (why && why !== wait.textContent) announce(why);
    wait.textContent = why;
    wait.classList.toggle("slds-hide", !why);
    const err = field("error");
    err.textContent = p.error || "";
    err.classList.toggle("slds-hide", !p.error);
    button("cancel").classList.toggle("slds-hide", !p.can_cancel);
    buttons("download", "success").forEach((b) => b.classList.toggle("slds-hide", !(p.success_file && p.succeeded)));
    buttons("download", "error").forEach((b) => b.classList.toggle("slds-hide", !(p.error_file && p.failed)));
    button("rollback").classList.toggle("slds-hide", !p.can_rollback);
    renderSteps(p);
    // Screen readers hear milestones, not every poll: state changes and every 25%.
    const step = Math.floor(pct / 25);
    if (p.state !== lastState) {
      announce(`Run ${p.state_label}. ${p.succeeded} succeeded, ${p.failed} failed.`);
    } else if (ACTIVE.has(p.state) && step !== lastAnnounced) {
      announce(`${pct}% complete`);
    }
    lastAnnounced = step;
    lastState = p.state;
    if (!ACTIVE.has(p.state) && p.error_file && !errorsShown) { errorsShown = true; showErrors(); }
    if (!ACTIVE.has(p.state) && !linkAsked) { linkAsked = true; findRecord(); }
  }

  // A migration's objects, in the order written: what each step did (and, after a rollback, what was undone).
  let stepsShown = "";
  function renderSteps(p) {
    const steps = p.steps || [];
    const undone = {};
    (p.rollback_steps || []).forEach(([obj, , ok]) => { undone[obj] = (undone[obj] || 0) + ok; });
    const key = JSON.stringify([steps, undone]);
    if (key === stepsShown) return;
    stepsShown = key;
    $("[data-steps]").classList.toggle("slds-hide", !steps.length);
    if (!steps.length) return;
    const columns = ["Object", "Read", "Inserted", "Updated", "Failed", "Unmatched values", "References set later"];
    if (p.rollback_steps && p.rollback_steps.length) columns.push("Rolled back");
    const rows = steps.map((s) => {
      const row = [s.object, s.read, s.inserted, s.updated, s.failed + s.second_failed, s.unmatched, s.second_pass].map(String);
      if (columns.length > 7) row.push(String(undone[s.object] || 0));
      return row;
    });
    clear($("[data-step-table]")).append(table("Steps of this migration", columns, rows));
  }

  // The run's record in Salesforce is written by the worker, so it may appear after this page was rendered.
  async function findRecord() {
    const link = $("[data-record-link]");
    if (!link.classList.contains("slds-hide")) return;
    try {
      const { url } = await api.get(`/api/runs/${runId}/record`);
      if (url) { link.href = url; link.classList.remove("slds-hide"); }
    } catch { /* no link is fine: the run's details are all here */ }
  }

  async function showErrors() {
    try {
      const { groups } = await api.get(`/api/runs/${runId}/errors`);
      const list = clear($("[data-error-list]"));
      groups.forEach((g) => list.append(h("li", { class: "slds-item" },
        h("p", {}, h("strong", {}, `${g.count} × `), g.message),
        h("p", { class: "slds-text-body_small slds-text-color_weak" }, `Rows ${g.rows.join(", ")}${g.count > g.rows.length ? ", …" : ""}`))));
      $("[data-errors]").classList.toggle("slds-hide", !groups.length);
    } catch (err) { announce(err.message); }
  }

  async function poll() {
    if (stopped) return;
    try {
      const p = await api.get(`/api/runs/${runId}`);
      render(p);
      if (ACTIVE.has(p.state)) timer = setTimeout(poll, POLL_MS);
    } catch (err) {
      field("error").textContent = err.message;
      field("error").classList.remove("slds-hide");
      timer = setTimeout(poll, POLL_MS * 5);
    }
  }

  function confirmRollback(open) {
    $("[data-confirm]").classList.toggle("slds-hide", !open);
    $("[data-backdrop]").classList.toggle("slds-hide", !open);
    if (open) button("rollback-cancel").focus(); else button("rollback").focus();
  }

  async function act(action, target) {
    try {
      if (action === "cancel") { render(await api.post(`/api/runs/${runId}/cancel`)); poll(); }
      if (action === "download") {
        const { kind, format } = target.dataset;
        await api.download(`/api/runs/${runId}/files/${kind}?format=${format}`, `${kind}.${format}`);
        announce(`${kind === "error" ? "Error" : "Success"} file downloaded as ${format === "xlsx" ? "Excel" : "CSV"}`);
      }
      if (action === "rollback") confirmRollback(true);
      if (action === "rollback-cancel") confirmRollback(false);
      if (action === "rollback-confirm") {
        confirmRollback(false);
        render(await api.post(`/api/runs/${runId}/rollback`));
        clearTimeout(timer);
        poll();
      }
    } catch (err) {
      field("error").textContent = err.message;
      field("error").classList.remove("slds-hide");
      announce(err.message);
    }
  }

  root.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    if (target) act(target.dataset.action, target);
  });
  root.addEventListener("keydown", (event) => {
    const dialog = $("[data-confirm]");
    if (dialog.classList.contains("slds-hide")) return;
    if (event.key === "Escape") { confirmRollback(false); return; }
    if (event.key !== "Tab") return;
    // Keep keyboard focus inside the open dialog (its two buttons).
    const buttons = [...dialog.querySelectorAll("button")];
    const at = buttons.indexOf(document.activeElement);
    const next = (at + (event.shiftKey ? -1 : 1) + buttons.length) % buttons.length;
    event.preventDefault();
    buttons[next].focus();
  });
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}
