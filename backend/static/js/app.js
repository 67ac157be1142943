// The importer shell: a hash router that fetches server-rendered screens (with the app token) into <main>,
// then wires the screen's module. Also: screen-reader announcements and sizing the canvas frame.
import * as api from "./api.js";

const screen = document.getElementById("inflow-screen");
const announcer = document.getElementById("inflow-announcer");
const modules = {
  wizard: () => import("./screens/wizard.js"),
  export: () => import("./screens/export.js"),
  migration: () => import("./screens/migration.js"),
  run: () => import("./screens/run.js"),
  history: () => import("./screens/history.js"),
  instances: () => import("./screens/instances.js"),
  settings: () => import("./screens/settings.js"),
  security: () => import("./screens/security.js"),
  billing: () => import("./screens/billing.js"),
  job: () => import("./screens/job.js"),
  connections: () => import("./screens/connections.js"),
};
let cleanup = null;

export function announce(text) {
  announcer.textContent = "";
  // A fresh text node after a tick makes screen readers read repeated messages too.
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function routeUrl(hash) {
  const path = (hash || "#/").replace(/^#/, "") || "/";
  const [route, query] = path.split("?");
  const parts = route.split("/").filter(Boolean);
  const q = query ? `?${query}` : "";
  if (parts.length === 0) return "/ui/home";
  if (parts[0] === "new") return `/ui/wizard${q}`;
  if (parts[0] === "new-export") return "/ui/export";
  if (parts[0] === "new-migration") return "/ui/migration";
  if (parts[0] === "jobs" && parts[2] === "edit") return `/ui/wizard?job=${encodeURIComponent(parts[1])}`;
  if (parts[0] === "jobs") return `/ui/jobs/${encodeURIComponent(parts[1])}`;
  if (parts[0] === "runs") return `/ui/runs/${encodeURIComponent(parts[1])}`;
  if (parts[0] === "record") return `/ui/record/${encodeURIComponent(parts[1])}`;
  if (["history", "instances", "settings", "security", "billing", "connections"].includes(parts[0])) return `/ui/${parts[0]}${q}`;
  return "/ui/home";
}

function markNav(hash) {
  const base = "#/" + ((hash || "#/").replace(/^#\//, "").split(/[/?]/)[0] || "");
  document.querySelectorAll("[data-nav]").forEach((a) => {
    const active = a.dataset.nav === base;
    a.parentElement.classList.toggle("slds-is-active", active);
    if (active) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
}

async function show() {
  if (cleanup) { cleanup(); cleanup = null; }
  const hash = location.hash || "#/";
  markNav(hash);
  try {
    screen.innerHTML = await api.fragment(routeUrl(hash));
  } catch (err) {
    screen.innerHTML = "";
    if (err.status === 401) { sessionEnded(); return; } // the banner says it; not a second box here
    const box = document.createElement("div");
    box.className = "slds-notify slds-notify_alert slds-alert_error";
    box.setAttribute("role", "alert");
    box.textContent = err.message;
    screen.appendChild(box);
    return;
  }
  const root = screen.querySelector("[data-screen]");
  const title = root && root.dataset.title;
  if (title) { document.title = `${title} · Inflow`; announce(`${title} loaded`); }
  const heading = screen.querySelector("h1");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  const load = root && modules[root.dataset.screen];
  if (load) {
    const mod = await load();
    cleanup = mod.mount(root, { api, announce, navigate, refresh: show }) || null;
  }
  if (root) root.dataset.ready = "true"; // the screen's controls work from now on
}

export function navigate(hash) {
  if (location.hash === hash) show(); else location.hash = hash;
}

// Salesforce appends "#<host page origin>" to the canvas URL (the Canvas SDK reads it from there); the
// router owns the hash afterwards, so it is taken once, at start.
function takeHostOrigin() {
  const raw = location.hash.slice(1);
  if (!raw || raw.startsWith("/")) return null;
  let origin = null;
  try { origin = new URL(decodeURIComponent(raw)).origin; } catch { origin = null; }
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  return origin;
}

function canvasClient(launch, hostOrigin) {
  if (launch.client) return launch.client;
  if (!window.name.startsWith("canvas-frame-") || !hostOrigin) return null;
  return { instanceId: window.name.slice("canvas-frame-".length), targetOrigin: hostOrigin };
}

// Size the canvas frame to the content as soon as the content changes (a ResizeObserver, in the same frame
// as the layout), through Sfdc.canvas.client.resize when the SDK is loaded, otherwise with the same "resize"
// message the SDK would post to the host page. Not the SDK's autogrow: it polls (every 300 ms here), so the
// frame grew or shrank a moment after the content did, moving what the user was about to click.
function sizeFrame(launch, hostOrigin) {
  if (window.parent === window) return;
  const client = canvasClient(launch, hostOrigin);
  if (!client) return;
  const sdk = window.Sfdc && window.Sfdc.canvas && window.Sfdc.canvas.client;
  let last = 0;
  let seq = 0;
  const report = () => {
    const height = Math.ceil(document.body.getBoundingClientRect().height) + 16;
    if (Math.abs(height - last) < 2) return;
    last = height;
    const size = { height: `${height}px` };
    if (sdk && sdk.resize) { sdk.resize(client, size); return; }
    const message = { seq: ++seq, src: "client", targetModule: "Canvas",
      body: { type: "resize", config: { client }, size } };
    window.parent.postMessage(JSON.stringify(message), client.targetOrigin);
  };
  new ResizeObserver(report).observe(document.body);
  report();
}

const hostOrigin = takeHostOrigin();
const launch = api.init();
sizeFrame(launch, hostOrigin);
window.addEventListener("hashchange", show);
function sessionEnded() {
  const banner = document.getElementById("inflow-session-banner");
  if (!banner || !banner.hidden) return;
  banner.textContent = api.SESSION_ENDED;
  banner.hidden = false;
  announce(api.SESSION_ENDED);
}
window.addEventListener("inflow:session-ended", sessionEnded);
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-download]");
  if (!link) return;
  event.preventDefault();
  api.download(link.getAttribute("href"), link.dataset.download).then(
    () => announce(`${link.dataset.download} downloaded`),
    (err) => announce(err.message));
});
if ((!location.hash || location.hash === "#/") && launch.record_id) {
  history.replaceState(null, "", `#/record/${launch.record_id}`);
}
show();
