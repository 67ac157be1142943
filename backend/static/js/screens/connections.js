// Saved connections: add one from a URL (tested before it is saved; an SFTP server's host key is shown and
// accepted explicitly), test, browse (connections-browse.js), preview the first rows of a table, query or file,
// edit (rename, a new URL: tested before it is kept), delete.
import * as api from "../api.js";
import { clear, table, postTicket } from "../dom.js";
import { browse } from "./connections-browse.js";

export function mount(root, ctx) {
  const { announce, refresh: reload } = ctx;
  const say = (el, text, bad) => {
    el.textContent = text;
    el.classList.toggle("slds-text-color_error", Boolean(bad));
    el.classList.toggle("slds-text-color_success", !bad);
    announce(text);
  };
  const item = (id) => root.querySelector(`[data-connection="${id}"]`);

  root.querySelectorAll("[data-test]").forEach((button) => button.addEventListener("click", async () => {
    const out = item(button.dataset.test).querySelector("[data-result]");
    out.textContent = "Testing…";
    try {
      const r = await api.post(`/api/connections/${button.dataset.test}/test`);
      say(out, r.ok ? `Works: ${r.message}` : `${r.stage} failed: ${r.message}`, !r.ok);
    } catch (err) { say(out, err.message, true); }
  }));

  root.querySelectorAll("[data-preview]").forEach((button) => button.addEventListener("click", () => {
    const form = item(button.dataset.preview).querySelector("[data-preview-form]");
    form.classList.toggle("slds-hide");
    form.querySelector("[data-what]").focus();
  }));

  // Browse: a tree of schemas and tables or folders and files; picking a table or file previews it.
  root.querySelectorAll("[data-browse]").forEach((button) => button.addEventListener("click", async () => {
    const li = item(button.dataset.browse);
    const panel = clear(li.querySelector("[data-browse-panel]"));
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    panel.classList.toggle("slds-hide", !open);
    if (!open) return;
    const out = li.querySelector("[data-result]");
    out.textContent = "Browsing…";
    try {
      await browse(panel, button.dataset.browse, (path) => {
        li.querySelector("[data-preview-form]").classList.remove("slds-hide");
        li.querySelector("[data-what]").value = path;
        li.querySelector("[data-show]").click();
      });
      out.textContent = "";
      const first = panel.querySelector("button");
      if (first) first.focus();
    } catch (err) { say(out, err.message, true); }
  }));

  // Edit: rename and/or a new URL of the same type; the password (or keys) left out keeps the stored one.
  root.querySelectorAll("[data-edit]").forEach((button) => button.addEventListener("click", () => {
    const form = item(button.dataset.edit).querySelector("[data-edit-form]");
    const open = form.classList.toggle("slds-hide") === false;
    button.setAttribute("aria-expanded", String(open));
    if (open) form.name.focus();
  }));
  root.querySelectorAll("[data-edit-form]").forEach((form) => form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = form.closest("[data-connection]").dataset.connection;
    const out = item(id).querySelector("[data-result]");
    const body = { name: form.name.value.trim() };
    if (form.url.value.trim()) body.url = form.url.value.trim();
    out.textContent = "Saving…";
    try {
      await api.request("PATCH", `/api/connections/${id}`, body);
      announce("Connection saved");
      reload();
    } catch (err) { say(out, err.message, true); }
  }));

  root.querySelectorAll("[data-show]").forEach((button) => button.addEventListener("click", async () => {
    const li = item(button.dataset.show);
    const what = li.querySelector("[data-what]");
    const value = what.value.trim();
    const spec = what.dataset.kind === "files" ? { path: value }
      : /^\s*(select|with|values|table)\b/i.test(value) ? { query: value } : { table: value };
    const out = li.querySelector("[data-result]");
    const rows = clear(li.querySelector("[data-rows]"));
    out.textContent = "Reading…";
    out.classList.remove("slds-text-color_error", "slds-text-color_success");
    try {
      const r = await api.post(`/api/connections/${button.dataset.show}/preview`, spec);
      rows.appendChild(table(`First rows of ${value}`, r.columns, r.rows.map((row) => row.map((v) => (v == null ? "" : String(v))))));
      say(out, `${r.rows.length} row(s) shown.`, false);
    } catch (err) { say(out, err.message, true); }
  }));

  root.querySelectorAll("[data-delete]").forEach((button) => button.addEventListener("click", async () => {
    const out = item(button.dataset.delete).querySelector("[data-result]");
    try {
      await api.request("DELETE", `/api/connections/${button.dataset.delete}`);
      announce("Connection deleted");
      reload();
    } catch (err) { say(out, err.message, true); }
  }));

  const stop = wireOAuth(root, ctx, say);
  const form = root.querySelector("[data-add]");
  if (!form) return stop;
  const result = root.querySelector("[data-add-result]");
  const hostkey = root.querySelector("[data-hostkey]");
  let offered = null;
  async function save(extra) {
    result.textContent = "Testing…";
    try {
      await api.post("/api/connections", { name: form.name.value.trim(), url: form.url.value.trim(), ...extra });
      announce("Connection saved");
      reload();
    } catch (err) {
      const body = err.body || {};
      offered = body.host_key || null;
      hostkey.classList.toggle("slds-hide", !offered);
      say(result, err.message, true);
    }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); save({}); });
  root.querySelector("[data-accept]").addEventListener("click", () => save({ params: { host_key: offered } }));
  return stop;
}

// Connect Dropbox / Google Sheets: consent happens at the provider in a window of its own; the single-use
// ticket is POSTed into it (never in a URL), and the window tells us when the connection is saved.
function wireOAuth(root, ctx, say) {
  const form = root.querySelector("[data-oauth]");
  if (!form) return () => {};
  const result = root.querySelector("[data-oauth-result]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const provider = (event.submitter || form.querySelector("[data-provider]")).dataset.provider;
    const where = form.elements.where.value.trim();
    const popup = window.open("", "inflow-oauth", "popup,width=640,height=720");
    try {
      const body = { name: form.elements.name.value.trim() };
      if (provider === "dropbox") body.path = where; else body.spreadsheet_id = where;
      const answer = await api.post(`/api/connections/oauth/${provider}`, body);
      postTicket(answer.start_url, answer.ticket, "inflow-oauth");
      say(result, "Waiting for you to allow access in the new window…", false);
    } catch (err) {
      if (popup) popup.close();
      say(result, err.message, true);
    }
  });
  const onMessage = (event) => {
    if (event.origin === window.location.origin && event.data && event.data.type === "inflow.connection.connected") ctx.refresh();
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}
