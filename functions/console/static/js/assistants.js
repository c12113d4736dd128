// Assistants (the tenant's mirror of Telnyx) and, on demand, each one's versions.
import { useState } from "../vendor/hooks.mjs";
import { Loading, enc, html, text, useApi, when } from "./ui.js";

function Versions({ id }) {
  const state = useApi(`/assistants/${enc(id)}/versions`, null, 0);
  return html`<${Loading} state=${state}>${state.data && html`<ul class="versions">${state.data.data.map(
    (v) => html`<li>${text(v.version_name || v.version_id)} · ${when(v.version_created_at)}${v.settings && v.settings.model ? ` · ${v.settings.model}` : ""}</li>`,
  )}</ul>`}<//>`;
}

export function AssistantsPage() {
  const state = useApi("/assistants", { limit: 100 }, 0);
  const [open, setOpen] = useState({});
  return html`<h1>Assistants</h1>
    <${Loading} state=${state}>${state.data && html`<table class="list" aria-label="Assistants">
      <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Main version</th><th scope="col">Synced</th><th scope="col">Versions</th></tr></thead>
      <tbody>${state.data.data.map((a) => html`<tr>
        <td>${text(a.name)}${a.deleted_upstream ? " (deleted on Telnyx)" : ""}</td><td><code>${a.id}</code></td>
        <td>${text(a.version_name || a.version_id)}</td><td>${when(a.synced_at)}</td>
        <td><button type="button" aria-expanded=${Boolean(open[a.id])} onClick=${() => setOpen({ ...open, [a.id]: !open[a.id] })}>
          ${open[a.id] ? "Hide" : "Show"} versions</button>${open[a.id] ? html`<${Versions} id=${a.id} />` : null}</td>
      </tr>`)}</tbody></table>`}<//>`;
}
