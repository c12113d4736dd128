// The management API, same origin as the console: the page lives at <api>/console, so the API's
// base is the folder the page is in (a deployed stage's prefix included). The key stays in this
// tab's sessionStorage (gone when the tab closes) and travels only in the Authorization header.
const KEY = "dialer.apiKey";
export const API_BASE = new URL(".", window.location.href).href.replace(/\/$/, "");

export function apiKey() {
  return window.sessionStorage.getItem(KEY);
}

export function signIn(key) {
  window.sessionStorage.setItem(KEY, key);
}

export function signOut() {
  window.sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function query(params) {
  const entries = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return entries.length ? "?" + new URLSearchParams(entries).toString() : "";
}

// One request; a JSON answer, or an ApiError with the API's own message (401/403: signed out).
export async function api(method, path, { params, body, key } = {}) {
  const headers = { Authorization: `Bearer ${key || apiKey() || ""}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API_BASE + path + query(params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    const message = (data && (data.message || data.detail || data.error)) || response.statusText;
    throw new ApiError(response.status, typeof message === "string" ? message : JSON.stringify(message));
  }
  return data;
}

export const get = (path, params) => api("GET", path, { params });
export const post = (path, body) => api("POST", path, { body });
