// Building DOM from data without innerHTML: file contents and Salesforce labels are never parsed as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export function table(caption, columns, rows) {
  return h("table", { class: "slds-table slds-table_cell-buffer slds-table_bordered slds-table_striped", "aria-label": caption },
    h("thead", {}, h("tr", { class: "slds-line-height_reset" }, columns.map((c) => h("th", { scope: "col" }, h("div", { class: "slds-truncate", title: c }, c))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, h("div", { class: "slds-truncate", title: v ?? "" }, v ?? "")))))));
}

export function alert(kind, text) {
  return h("div", { class: `slds-notify slds-notify_alert slds-alert_${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function setProgress(bar, fraction) {
  const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
  bar.setAttribute("aria-valuenow", String(pct));
  const value = bar.querySelector(".slds-progress-bar__value");
  if (value) value.style.width = `${pct}%`;
  return pct;
}
