// A CSV import: its status and counts, and every rejected row with its line and reason (paged).
// The API lists no imports of a campaign, so the page opens one by its id (the CLI and the
// POST /campaigns/{id}/imports answer print it).
import { useState } from "../vendor/hooks.mjs";
import { get } from "./api.js";
import { Facts, Loading, POLL_MS, Problem, enc, html, text, useApi, when } from "./ui.js";

const ERRORS_PAGE = 100;
const RUNNING = new Set(["pending", "processing"]);

function ImportView({ campaignId, importId }) {
  const [poll, setPoll] = useState(POLL_MS);
  const state = useApi(`/campaigns/${enc(campaignId)}/imports/${enc(importId)}`, { errors_limit: ERRORS_PAGE }, poll);
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const i = state.data;
  if (i && !RUNNING.has(i.status) && poll) setPoll(0);
  const cursor = more.cursor === undefined ? i && i.next_errors_cursor : more.cursor;
  const loadMore = async () => {
    try {
      const page = await get(`/campaigns/${enc(campaignId)}/imports/${enc(importId)}`, { errors_limit: ERRORS_PAGE, errors_cursor: cursor });
      setMore({ rows: [...more.rows, ...page.errors], cursor: page.next_errors_cursor || null, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  };
  return html`<${Loading} state=${state}>${i && html`
    <${Facts} items=${[
      ["Import", i.import_id],
      ["File", i.filename],
      ["Status", i.status],
      ["Failure", i.failure],
      ["Rows", i.progress.rows],
      ["Imported", i.progress.imported],
      ["Merged", i.progress.merged],
      ["Rejected", i.progress.rejected],
      ["Created", when(i.created_at)],
      ["Finished", when(i.finished_at)],
    ]} />
    ${i.progress.total_bytes ? html`<label for="import-bytes">Read</label>
      <progress id="import-bytes" max=${i.progress.total_bytes} value=${i.progress.bytes_read}></progress>` : null}
    <h2>Rejected rows</h2>
    ${i.errors.length ? html`<table class="list" aria-label="Rejected rows"><thead><tr><th scope="col">Line</th><th scope="col">Reason</th><th scope="col">Field</th><th scope="col">Message</th></tr></thead>
      <tbody>${[...i.errors, ...more.rows].map((e) => html`<tr><td>${e.line}</td><td>${e.reason}</td><td>${text(e.field)}</td><td>${e.message}</td></tr>`)}</tbody></table>
      <div class="pager"><button type="button" disabled=${!cursor} onClick=${loadMore}>Load more rejected rows</button></div>
      <${Problem} error=${more.error} />` : html`<p class="muted">No row rejected.</p>`}`}<//>`;
}

export function ImportPage({ campaignId, importId }) {
  const campaigns = useApi("/campaigns", { limit: 100 }, 0);
  const open = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    window.location.hash = `#/campaigns/${enc(form.get("campaign"))}/imports/${enc(form.get("import").trim())}`;
  };
  return html`<h1>Imports</h1>
    <form class="card inline" onSubmit=${open} aria-label="Open an import">
      <label for="imp-campaign">Campaign</label>
      <select id="imp-campaign" name="campaign" required>
        ${((campaigns.data && campaigns.data.data) || []).map((c) => html`<option value=${c.id} selected=${c.id === campaignId}>${c.name}</option>`)}
      </select>
      <label for="imp-id">Import id</label>
      <input id="imp-id" name="import" required value=${importId || ""} />
      <button type="submit">Open</button>
    </form>
    ${campaignId && importId ? html`<${ImportView} key=${campaignId + importId} campaignId=${campaignId} importId=${importId} />` : null}`;
}
