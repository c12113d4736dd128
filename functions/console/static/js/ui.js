// Shared pieces of the console. Every value reaches the page as a text node or an attribute
// through Preact (never as markup): lead fields come from CSVs anyone can write.
import { h } from "../vendor/preact.mjs";
import { useEffect, useRef, useState } from "../vendor/hooks.mjs";
import htm from "../vendor/htm.mjs";
import { ApiError, get } from "./api.js";

export const html = htm.bind(h);
export const POLL_MS = 2000;

export const enc = encodeURIComponent;

export function when(value) {
  if (!value) return "—";
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? String(value) : at.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function pct(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)} %`;
}

export function text(value) {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

// GET a path (again every `pollMs` when given, and whenever `refresh` changes) while shown.
export function useApi(path, params, pollMs, refresh) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const key = path + JSON.stringify(params || {});
  const tick = useRef(0);
  const shown = useRef(key);
  useEffect(() => {
    let alive = true;
    let timer = null;
    const load = async () => {
      const mine = ++tick.current;
      try {
        const data = await get(path, params);
        if (alive && mine === tick.current) setState({ data, error: null, loading: false });
      } catch (error) {
        if (alive && mine === tick.current) setState((s) => ({ data: s.data, error, loading: false }));
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          window.dispatchEvent(new CustomEvent("console:signed-out"));
        }
      }
      if (alive && pollMs) timer = window.setTimeout(load, pollMs);
    };
    // A new path starts blank; a changed poll interval (an import that finished stops its poll)
    // keeps what is shown, so the page does not blink empty while it reloads.
    if (shown.current !== key) {
      shown.current = key;
      setState({ data: null, error: null, loading: true });
    }
    load();
    return () => {
      alive = false;
      if (timer) window.clearTimeout(timer);
    };
  }, [key, pollMs, refresh]);
  return state;
}

export function Problem({ error }) {
  if (!error) return null;
  const status = error instanceof ApiError ? ` (${error.status})` : "";
  return html`<p class="problem" role="alert">${error.message}${status}</p>`;
}

export function Loading({ state, children }) {
  if (state.data === null && state.loading) return html`<p class="loading" aria-busy="true">Loading…</p>`;
  if (state.data === null) return html`<${Problem} error=${state.error} />`;
  return html`${state.error ? html`<${Problem} error=${state.error} />` : null}${children}`;
}

// A labelled bar: value against a limit (the limit may be unknown: a plain count then).
// `warn`: the bar turns amber near the limit (a rate or a budget, not a count of settled leads).
export function Gauge({ label, value, max, unit, id, warn }) {
  const shown = max ? `${text(value)} / ${text(max)}${unit ? " " + unit : ""}` : `${text(value)}${unit ? " " + unit : ""}`;
  return html`<div class="gauge" data-gauge=${id}>
    <span class="gauge-label" id=${`gauge-${id}`}>${label}</span>
    <meter aria-labelledby=${`gauge-${id}`} min="0" max=${max || Math.max(Number(value) || 0, 1)} value=${Number(value) || 0}
      high=${warn && max ? max * 0.9 : undefined}></meter>
    <span class="gauge-value">${shown}</span>
  </div>`;
}

// A {name: count} document as a two-column table, largest first.
export function Counts({ title, counts, id, empty }) {
  const rows = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
  return html`<section class="counts" data-counts=${id}>
    <h2>${title}</h2>
    ${rows.length
      ? html`<table><tbody>${rows.map(([name, n]) => html`<tr><th scope="row">${name}</th><td>${n}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">${empty || "none yet"}</p>`}
  </section>`;
}

// Label/value pairs as a definition list.
export function Facts({ items }) {
  return html`<dl class="facts">${items.map(
    ([label, value]) => html`<div><dt>${label}</dt><dd>${value === undefined || value === null || typeof value !== "object" ? text(value) : value}</dd></div>`,
  )}</dl>`;
}

// A tiny line chart of recent samples (SVG drawn by Preact: no chart library, no inline style).
export function Sparkline({ label, samples, max }) {
  const width = 240;
  const height = 48;
  const top = Math.max(max || 0, ...samples, 1);
  const step = samples.length > 1 ? width / (samples.length - 1) : width;
  const points = samples.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / top) * height).toFixed(1)}`).join(" ");
  const limit = max ? (height - (max / top) * height).toFixed(1) : null;
  return html`<svg class="sparkline" viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${label}>
    ${limit !== null ? html`<line class="limit" x1="0" x2=${width} y1=${limit} y2=${limit} />` : null}
    ${samples.length ? html`<polyline points=${points} />` : null}
  </svg>`;
}

// A confirmation in a modal <dialog> (keyboard: Tab between the buttons, Escape cancels).
export function Confirm({ open, title, body, confirmLabel, onConfirm, onCancel }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return html`<dialog ref=${ref} aria-labelledby="confirm-title" onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <h2 id="confirm-title">${title}</h2>
    <p>${body}</p>
    <div class="actions">
      <button type="button" class="danger" onClick=${onConfirm}>${confirmLabel}</button>
      <button type="button" onClick=${onCancel} autofocus>Keep as is</button>
    </div>
  </dialog>`;
}
