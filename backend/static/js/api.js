// Talking to the Inflow API from the canvas iframe: the app token lives only in this module's memory
// and travels as `Authorization: Bearer`; no cookie, storage or URL ever holds it.

let token = null;
let launch = {};
const listeners = new Set();

export function init() {
  const el = document.getElementById("inflow-launch");
  if (el) {
    try { launch = JSON.parse(el.textContent || "{}") || {}; } catch { launch = {}; }
    el.remove(); // the token stays in memory only, not in the DOM for other scripts to find
  }
  // canvas-session.js has already taken the token out of the launch data inside the canvas.
  token = launch.token || (window.Inflow && window.Inflow.token ? window.Inflow.token() : null) || null;
  delete launch.token;
  // canvas-session.js (the canvas engineer's) may renew the token; it announces a fresh one this way.
  window.addEventListener("inflow:token", (event) => setToken(event.detail && event.detail.token));
  return launch;
}

export function setToken(value) {
  if (value) token = value;
  listeners.forEach((fn) => fn(token));
}

export function launchInfo() { return launch; }

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// In the canvas page canvas-session.js holds (and renews) the token as window.Inflow; the /app page
// (cookie sign-in) has no token and sends its CSRF token instead.
function session() { return window.Inflow && typeof window.Inflow.fetch === "function" ? window.Inflow : null; }

function currentToken() {
  const s = session();
  return (s && typeof s.token === "function" && s.token()) || token;
}

export function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const t = currentToken();
  if (t) h.Authorization = `Bearer ${t}`;
  else if (csrfToken()) h["X-CSRF-Token"] = csrfToken();
  return h;
}

export function send(url, opts) {
  const s = session();
  return s ? s.fetch(url, opts) : fetch(url, { credentials: "same-origin", ...opts });
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `The server answered ${status}.`);
    this.status = status;
    this.body = body;
  }
}

async function parse(response) {
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof body === "string" ? { message: body.slice(0, 300) } : body);
  return body;
}

export async function request(method, url, data) {
  const opts = { method, headers: headers() };
  if (data !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(data);
  }
  return parse(await send(url, opts));
}

// The one wording for an ended session, shown once, in the shell's banner.
export const SESSION_ENDED = "Your Inflow session ended. Reload the Inflow tab to continue.";

export const get = (url) => request("GET", url);
export const post = (url, data) => request("POST", url, data ?? {});
export const put = (url, data) => request("PUT", url, data);

export async function fragment(url) {
  const response = await send(url, { headers: headers({ Accept: "text/html" }) });
  if (!response.ok) throw new ApiError(response.status, { message: response.status === 401
    ? SESSION_ENDED : `The page could not be loaded (${response.status}).` });
  return response.text();
}

// Upload with progress events: fetch() cannot report upload progress, XMLHttpRequest can.
export function upload(url, file, onProgress) {
  if (session() && !currentToken()) {
    // The session hides its token: upload with fetch, which reports no progress until the end.
    const form = new FormData();
    form.append("file", file, file.name);
    return send(url, { method: "POST", headers: headers(), body: form }).then(parse);
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    Object.entries(headers()).forEach(([k, v]) => xhr.setRequestHeader(k, v));
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { message: xhr.responseText.slice(0, 300) }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body); else reject(new ApiError(xhr.status, body));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { message: "The upload was interrupted." })));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

// Downloads cannot be plain links: the iframe sends no cookies, so fetch with the token, then save a blob.
// POST for downloads that are audited (data export, audit log).
export async function download(url, fallbackName, method = "GET") {
  const response = await send(url, { method, headers: headers({ Accept: "*/*" }) });
  if (!response.ok) await parse(response);
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = match ? match[1] : fallbackName;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  return blob;
}
