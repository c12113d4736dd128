// Leads: a campaign's leads (paged by the API, filtered here on the pages loaded) and one lead
// with its attempts, calls, consent, DNC status and why it is (not) being called now.
import { useEffect, useState } from "../vendor/hooks.mjs";
import { get } from "./api.js";
import { Facts, Loading, Problem, enc, html, text, useApi, when } from "./ui.js";

const PAGE = 100;

function matches(lead, f) {
  const name = `${lead.first_name || ""} ${lead.last_name || ""}`.toLowerCase();
  return (!f.state || lead.status === f.state)
    && (!f.outcome || lead.last_outcome === f.outcome)
    && (!f.phone || lead.phone.endsWith(f.phone))
    && (!f.name || name.includes(f.name.toLowerCase()));
}

export function LeadsPage({ campaignId }) {
  const [leads, setLeads] = useState([]);
  const [cursor, setCursor] = useState(undefined);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [filters, setFilters] = useState({ state: "", outcome: "", phone: "", name: "" });
  const load = async (from, reset) => {
    setLoading(true);
    try {
      const page = await get(`/campaigns/${enc(campaignId)}/leads`, { limit: PAGE, cursor: from });
      setLeads((had) => (reset ? page.data : [...had, ...page.data]));
      setCursor(page.next_cursor || null);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => { load(undefined, true); }, [campaignId]);
  const states = [...new Set(leads.map((l) => l.status))].sort();
  const outcomes = [...new Set(leads.map((l) => l.last_outcome).filter(Boolean))].sort();
  const shown = leads.filter((l) => matches(l, filters));
  const set = (name) => (event) => setFilters({ ...filters, [name]: event.target.value.trim() });
  return html`<p class="crumbs"><a href="#/campaigns">Campaigns</a> › <a href=${`#/campaigns/${enc(campaignId)}`}>Campaign</a></p>
    <h1>Leads</h1>
    <form class="filters" role="search" aria-label="Filter leads" onSubmit=${(e) => e.preventDefault()}>
      <label for="f-state">State</label>
      <select id="f-state" onChange=${set("state")}><option value="">any</option>${states.map((s) => html`<option value=${s}>${s}</option>`)}</select>
      <label for="f-outcome">Last outcome</label>
      <select id="f-outcome" onChange=${set("outcome")}><option value="">any</option>${outcomes.map((s) => html`<option value=${s}>${s}</option>`)}</select>
      <label for="f-phone">Phone ends with</label>
      <input id="f-phone" inputmode="numeric" maxlength="4" size="5" onInput=${set("phone")} />
      <label for="f-name">Name</label>
      <input id="f-name" onInput=${set("name")} />
    </form>
    <${Problem} error=${error} />
    <p class="muted" role="status">${shown.length} of ${leads.length} loaded leads${cursor ? " (more to load)" : ""}</p>
    <table class="list" aria-label="Leads">
      <thead><tr><th scope="col">Name</th><th scope="col">Phone</th><th scope="col">State</th><th scope="col">Attempts</th>
        <th scope="col">Last outcome</th><th scope="col">Next attempt</th><th scope="col">Zone</th></tr></thead>
      <tbody>${shown.map((l) => html`<tr key=${l.id}>
        <td><a href=${`#/leads/${enc(l.id)}`} data-lead=${l.id}>${text(`${l.first_name || ""} ${l.last_name || ""}`.trim() || l.phone)}</a></td>
        <td>${l.phone}</td><td>${l.status}</td><td>${l.attempts}</td><td>${text(l.last_outcome)}</td>
        <td>${when(l.next_attempt_at)}</td><td>${text(l.zone)}</td></tr>`)}</tbody>
    </table>
    <div class="pager"><button type="button" disabled=${!cursor || loading} onClick=${() => load(cursor, false)}>Load ${PAGE} more</button></div>`;
}

// "2026-12-08T16:01:38.044491-05:00" → "2026-12-08 16:01 (UTC-05:00)": the lead's wall clock.
function localTime(value) {
  const found = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})[\d:.]*([+-]\d{2}:\d{2}|Z)?$/.exec(String(value || ""));
  return found ? `${found[1]} ${found[2]} (UTC${found[3] && found[3] !== "Z" ? found[3] : ""})` : value;
}

function Eligibility({ leadId }) {
  const state = useApi(`/leads/${enc(leadId)}/eligibility`, null, 0);
  const e = state.data;
  return html`<section data-section="eligibility" aria-labelledby="why"><h2 id="why">Why it is (not) being called now</h2>
    <${Loading} state=${state}>${e && html`
      <p class=${e.eligible ? "ok" : "blocked"} data-field="eligible">${e.eligible ? "Eligible: it may be dialled now." : "Not eligible now."}</p>
      ${e.details.length ? html`<ul class="reasons">${e.details.map((d) => html`<li data-reason=${d.reason}>
          <strong>${d.reason}</strong>: ${d.message}${d.zones && d.zones.length ? html` <span class="zone">(zone ${d.zones.join(", ")})</span>` : null}
          ${d.detail && d.detail !== d.reason ? html`<div class="muted">${d.detail}</div>` : null}</li>`)}</ul>` : null}
      <${Facts} items=${[
        ["Next legal time", e.next_window_start ? when(e.next_window_start) : "time alone does not lift it"],
        ["Lead-local zone", e.zone],
        ["Lead-local time", localTime(e.local_time)],
        ["Zones checked", (e.zones || []).join(", ")],
        ["On the DNC list", e.dnc ? "yes" : "no"],
        ["Calls in the last 24 h", e.calls_last_24h],
        ["Campaign", e.campaign_status],
        ["Evaluated at", when(e.evaluated_at)],
      ]} />`}
    <//></section>`;
}

export function LeadPage({ id }) {
  const state = useApi(`/leads/${enc(id)}`, null, 0);
  const calls = useApi(`/leads/${enc(id)}/calls`, null, 0);
  const lead = state.data;
  return html`<${Loading} state=${state}>${lead && html`
    <p class="crumbs"><a href="#/campaigns">Campaigns</a> › <a href=${`#/campaigns/${enc(lead.campaign_id)}`}>Campaign</a> ›
      <a href=${`#/campaigns/${enc(lead.campaign_id)}/leads`}>Leads</a></p>
    <h1 data-field="lead-name">${`${lead.first_name || ""} ${lead.last_name || ""}`.trim() || lead.phone}</h1>
    <${Facts} items=${[
      ["Phone", lead.phone],
      ["State", lead.status],
      ["Attempts", lead.attempts],
      ["Last outcome", lead.last_outcome],
      ["Next attempt", when(lead.next_attempt_at)],
      ["Callback", when(lead.callback_at)],
      ["Last reasons", (lead.last_reasons || []).join(", ")],
      ["Company", lead.company],
      ["Address", [lead.address, lead.city, lead.state, lead.zip].filter(Boolean).join(", ")],
      ["Zone", `${text(lead.zone)} (${text(lead.zone_source)})`],
      ["Consent", lead.consent ? `${lead.consent.type} from ${lead.consent.source}, ${when(lead.consent.granted_at)}${lead.consent.revoked_at ? `, revoked ${when(lead.consent.revoked_at)}` : ""}` : "none on record"],
      ["DNC scrubbed", when(lead.dnc_scrubbed_at)],
    ]} />
    <${Eligibility} leadId=${id} />
    <section aria-labelledby="attempts"><h2 id="attempts">Attempts</h2>
      ${lead.history.length ? html`<table class="list"><thead><tr><th scope="col">#</th><th scope="col">State</th><th scope="col">Claimed</th>
        <th scope="col">Ended</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Call</th></tr></thead>
        <tbody>${lead.history.map((a) => html`<tr><td>${a.n}</td><td>${a.state}</td><td>${when(a.claimed_at)}</td><td>${when(a.ended_at)}</td>
          <td>${text(a.outcome)}</td><td>${text(a.reason)}</td>
          <td>${a.call_control_id ? html`<a href=${`#/calls/${enc(a.call_control_id)}`}>${a.call_state || "call"}</a>` : "—"}</td></tr>`)}</tbody></table>`
        : html`<p class="muted">No attempt yet.</p>`}
    </section>
    <section aria-labelledby="calls"><h2 id="calls">Calls</h2>
      <${Loading} state=${calls}>${calls.data && (calls.data.data.length ? html`<ul class="calls">${calls.data.data.map((c) => html`<li>
          <a href=${`#/calls/${enc(c.call_control_id)}`} data-call=${c.call_control_id}>${when(c.created_at)} · ${text(c.outcome)}</a>
          ${c.disposition ? html` · ${c.disposition}` : null}${c.duration_s !== null && c.duration_s !== undefined ? html` · ${c.duration_s} s` : null}</li>`)}</ul>`
        : html`<p class="muted">No call yet.</p>`)}<//>
    </section>`}<//>`;
}
