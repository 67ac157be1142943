// Browse a saved connection: schemas and their tables (databases), folders and their files (file stores).
// A schema or folder opens in place (a button with aria-expanded); a table or file is handed to `onPick`,
// which previews its first rows. Buttons all the way down, so Tab and Enter are enough.
import * as api from "../api.js";
import { clear, h } from "../dom.js";

const OPENS = new Set(["schema", "folder"]);
// A file store's entry paths include the connection's own folder; a leading "/" says so to browse and read.
const FILE_KINDS = new Set(["folder", "file"]);
// (An HTTPS connection's one file is its URL: given as it is.)
export const entryPath = (entry) => (FILE_KINDS.has(entry.kind) && !entry.path.includes("://")
  ? `/${entry.path.replace(/^\/+/, "")}` : entry.path);

function describe(entry) {
  const facts = [entry.kind];
  if (entry.size !== null && entry.size !== undefined) facts.push(`${Number(entry.size).toLocaleString("en-US")} bytes`);
  if (entry.modified) facts.push(entry.modified.slice(0, 16).replace("T", " "));
  return facts.join(" · ");
}

export async function browse(box, id, onPick, path = "") {
  const url = `/api/connections/${encodeURIComponent(id)}/browse${path ? `?path=${encodeURIComponent(path)}` : ""}`;
  const entries = await api.get(url);
  if (!entries.length) { box.append(h("p", { class: "slds-text-color_weak", "data-browse-empty": true }, "Nothing here.")); return; }
  const list = h("ul", { class: "slds-list_vertical slds-p-left_medium", "aria-label": path ? `In ${path}` : "Top level" });
  entries.forEach((entry) => {
    const item = h("li", { class: "slds-item", "data-entry": entry.path });
    const opens = OPENS.has(entry.kind);
    const button = h("button", { class: "slds-button", type: "button", "data-entry-kind": entry.kind,
      "aria-expanded": opens ? "false" : null }, `${opens ? "▸ " : ""}${entry.name}`);
    item.append(button, h("span", { class: "slds-text-color_weak slds-m-left_x-small" }, describe(entry)));
    const children = h("div", {});
    item.append(children);
    button.addEventListener("click", async () => {
      if (!opens) { onPick(entryPath(entry)); return; }
      const open = button.getAttribute("aria-expanded") === "true";
      clear(children);
      button.setAttribute("aria-expanded", String(!open));
      button.firstChild.textContent = `${open ? "▸" : "▾"} ${entry.name}`;
      if (!open) {
        try { await browse(children, id, onPick, entryPath(entry)); } catch (err) { children.append(h("p", { class: "slds-text-color_error", role: "alert" }, err.message)); }
      }
    });
    list.append(item);
  });
  box.append(list);
}
