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

// A screen's busy count (data-state "busy"/"ready", aria-busy), its error box, and `guard(fn)`: fn's error
// shown in the box and announced instead of thrown.
export function screenWork(root, errorBox, announce) {
  let pending = 0;
  function busy(delta) {
    pending += delta;
    root.dataset.state = pending > 0 ? "busy" : "ready";
    root.setAttribute("aria-busy", pending > 0 ? "true" : "false");
  }
  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.classList.toggle("slds-hide", !message);
    if (message) announce(message);
  }
  async function guard(fn) {
    busy(1);
    try { showError(""); return await fn(); } catch (err) { showError(err.message); return undefined; } finally { busy(-1); }
  }
  return { busy, guard, showError };
}

// POST a single-use ticket to `url` in the named window (an OAuth start page opened as a popup): the ticket
// travels in a form body, never in a URL.
export function postTicket(url, ticketValue, target) {
  const post = document.createElement("form");
  post.method = "POST";
  post.action = url;
  post.target = target;
  const ticket = document.createElement("input");
  ticket.type = "hidden"; ticket.name = "ticket"; ticket.value = ticketValue;
  post.append(ticket);
  document.body.append(post);
  post.submit();
  post.remove();
}
