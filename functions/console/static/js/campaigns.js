// Campaigns: the list with status and progress, and one campaign's live page (every 2 s).
import { useRef, useState } from "../vendor/hooks.mjs";
import { post } from "./api.js";
import { Confirm, Counts, Facts, Gauge, Loading, POLL_MS, Problem, Sparkline, enc, html, pct, text, useApi, when } from "./ui.js";

const OPEN = ["pending", "dialing"]; // lead states still in play; every other one is settled
const SAMPLES = 60; // two minutes of samples on the live charts

function settled(progress) {
  const byState = progress.leads_by_state || {};
  return progress.lead_count - OPEN.reduce((sum, s) => sum + (byState[s] || 0), 0);
}

function CampaignRow({ campaign }) {
  const progress = useApi(`/campaigns/${enc(campaign.id)}/progress`, null, 5000).data;
  const done = progress ? settled(progress) : null;
  return html`<tr>
    <td><a href=${`#/campaigns/${enc(campaign.id)}`}>${campaign.name}</a></td>
    <td><span class=${`status status-${campaign.status}`}>${progress ? progress.status : campaign.status}</span></td>
    <td>${campaign.lead_count}</td>
    <td class="progress-cell">
      ${progress
        ? html`<progress max=${Math.max(progress.lead_count, 1)} value=${done} aria-label=${`${campaign.name}: settled leads`}></progress>
            <span>${done} / ${progress.lead_count}</span>`
        : "…"}
    </td>
    <td>${when(campaign.created_at)}</td>
  </tr>`;
}

export function CampaignsPage() {
  const [cursor, setCursor] = useState(null);
  const [previous, setPrevious] = useState([]);
  const state = useApi("/campaigns", { limit: 20, cursor }, 5000);
  return html`<h1>Campaigns</h1>
    <${Loading} state=${state}>
      ${state.data && html`<table class="list" aria-label="Campaigns">
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Leads</th><th scope="col">Progress (settled leads)</th><th scope="col">Created</th></tr></thead>
        <tbody>${state.data.data.map((c) => html`<${CampaignRow} key=${c.id} campaign=${c} />`)}</tbody>
      </table>
      ${state.data.data.length === 0 ? html`<p class="muted">No campaign yet: create one with the API or the dialer CLI.</p>` : null}
      <div class="pager">
        <button type="button" disabled=${!previous.length} onClick=${() => { setCursor(previous[previous.length - 1]); setPrevious(previous.slice(0, -1)); }}>Previous page</button>
        <button type="button" disabled=${!state.data.next_cursor} onClick=${() => { setPrevious([...previous, cursor]); setCursor(state.data.next_cursor); }}>Next page</button>
      </div>`}
    <//>`;
}

// What an operator may do from each status (the API refuses any other move).
const ACTIONS = {
  draft: [["active", "Start"], ["canceled", "Cancel"]],
  active: [["paused", "Pause"], ["canceled", "Cancel"]],
  paused: [["active", "Resume"], ["canceled", "Cancel"]],
};
const CONFIRM = {
  Start: "Dialing starts within seconds, inside each lead's legal hours.",
  Pause: "No new dial starts; calls in progress finish.",
  Resume: "Dialing starts again from where it stopped.",
  Cancel: "Every lead not yet settled is canceled. This cannot be undone.",
};

function Controls({ campaign, status, onChanged }) {
  const [asking, setAsking] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const act = async () => {
    const [target, label] = asking;
    setAsking(null);
    setBusy(true);
    try {
      await post(`/campaigns/${enc(campaign.id)}/status`, { status: target });
      setError(null);
      onChanged(target, label);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="controls" role="group" aria-label="Campaign controls">
    ${(ACTIONS[status] || []).map(([target, label]) => html`<button type="button" class=${label === "Cancel" ? "danger" : ""}
        disabled=${busy} onClick=${() => setAsking([target, label])}>${label}</button>`)}
    <${Confirm} open=${Boolean(asking)} title=${asking ? `${asking[1]} “${campaign.name}”?` : ""}
      body=${asking ? CONFIRM[asking[1]] : ""} confirmLabel=${asking ? asking[1] : ""}
      onConfirm=${act} onCancel=${() => setAsking(null)} />
    <${Problem} error=${error} />
  </div>`;
}

function Variants({ variants }) {
  if (!variants || variants.length < 2) return null;
  return html`<section data-section="variants"><h2>A/B variants</h2>
    <table class="list"><thead><tr><th scope="col">Assistant</th><th scope="col">Calls</th><th scope="col">Converted</th><th scope="col">Rate</th>
      <th scope="col">Difference</th><th scope="col">p</th><th scope="col">Verdict</th></tr></thead>
    <tbody>${variants.map((v) => html`<tr>
      <td>${v.assistant_id}${v.baseline ? " (baseline)" : ""}</td><td>${v.figures.calls}</td><td>${v.figures.converted}</td>
      <td>${pct(v.figures.conversion_rate)}</td><td>${v.baseline ? "—" : pct(v.conversion_difference)}</td>
      <td>${v.p_value === null ? "—" : v.p_value.toFixed(3)}</td>
      <td>${v.baseline ? "—" : v.sample_too_small ? "sample too small" : v.significant ? "significant" : "not significant"}</td>
    </tr>`)}</tbody></table></section>`;
}

export function CampaignPage({ id }) {
  const [version, setVersion] = useState(0);
  const [notice, setNotice] = useState(null);
  const campaign = useApi(`/campaigns/${enc(id)}`, null, 0, version);
  const progress = useApi(`/campaigns/${enc(id)}/progress`, null, POLL_MS);
  const stats = useApi(`/campaigns/${enc(id)}/stats`, null, POLL_MS);
  const history = useRef({ at: null, dials: [], slots: [] });
  const p = progress.data;
  if (p && p.evaluated_at !== history.current.at) {
    const h = history.current;
    h.at = p.evaluated_at;
    h.dials = [...h.dials, p.dials_last_minute].slice(-SAMPLES);
    h.slots = [...h.slots, p.slots_in_use].slice(-SAMPLES);
  }
  const s = stats.data;
  const c = campaign.data;
  const status = (p && p.status) || (c && c.status);
  const pausedReason = (s && s.paused_reason) || (c && c.paused_reason);
  const spent = s ? Number(s.calls.cost_total) : null;
  return html`<${Loading} state=${campaign}>${c && html`
    <p class="crumbs"><a href="#/campaigns">Campaigns</a></p>
    <h1>${c.name}</h1>
    <div class="headline">
      <span class=${`status status-${status}`} data-field="status">${status}</span>
      ${status === "paused" && pausedReason ? html`<span class="paused-reason" data-field="paused-reason">Paused: ${pausedReason}</span>` : null}
      <${Controls} campaign=${c} status=${status} onChanged=${(target, label) => { setNotice(`${label}: done.`); setVersion(version + 1); }} />
      <a href=${`#/campaigns/${enc(id)}/leads`}>Leads</a>
    </div>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <${Loading} state=${progress}>${p && html`
      <section class="gauges" aria-label="Live figures">
        <${Gauge} id="settled" label="Settled leads" value=${settled(p)} max=${p.lead_count} />
        <${Gauge} id="dial-rate" label="Dials in the last minute" value=${p.dials_last_minute} max=${p.dial_limit_per_minute} unit="per min" warn />
        <${Gauge} id="channels" label="Concurrent calls" value=${p.slots_in_use} max=${p.slot_limit} unit="channels" warn />
        ${s ? html`<${Gauge} id="spend" label="Spend" value=${spent.toFixed(2)} max=${s.budget ? Number(s.budget) : null} unit="USD" warn />` : null}
      </section>
      <section class="charts">
        <figure><${Sparkline} label="Dials per minute, last two minutes" samples=${history.current.dials} max=${p.dial_limit_per_minute} />
          <figcaption>Dials / min (line: limit ${p.dial_limit_per_minute})</figcaption></figure>
        <figure><${Sparkline} label="Concurrent calls, last two minutes" samples=${history.current.slots} max=${p.slot_limit} />
          <figcaption>Calls in progress (line: ${p.slot_limit} channels)</figcaption></figure>
      </section>
      <${Facts} items=${[
        ["In flight", p.in_flight],
        ["Due now", p.due_now],
        ["Dials in all", p.dials_total],
        ["Next lead due", when(p.next_due_at)],
        ["Engine clock", when(p.evaluated_at)],
      ]} />
      <div class="grid">
        <${Counts} id="leads-by-state" title="Leads by state" counts=${p.leads_by_state} />
        <${Counts} id="outcomes" title="Outcomes" counts=${p.outcomes} />
        <${Counts} id="deferrals" title="Deferrals by compliance reason" counts=${p.deferred_by_reason} empty="no deferral" />
        ${s ? html`<${Counts} id="dispositions" title="Dispositions" counts=${s.calls.by_disposition} />` : null}
      </div>`}
    <//>
    ${s && html`<${Facts} items=${[
      ["Connect rate", pct(s.calls.connect_rate)],
      ["Conversion", pct(s.calls.conversion_rate)],
      ["Cost per call", text(s.calls.cost_per_call)],
      ["Cost per reached lead", text(s.cost_per_reached_lead)],
      ["Budget left", text(s.budget_left)],
    ]} />
    <${Variants} variants=${s.variants} />`}
  `}<//>`;
}
