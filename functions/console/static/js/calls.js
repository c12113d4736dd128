// One call: its facts, cost, disposition and insights, the timeline of what happened, and the
// transcript (asked for only once it is stored: a call without one is not an error).
import { useEffect, useState } from "../vendor/hooks.mjs";
import { Facts, Loading, POLL_MS, enc, html, text, useApi, when } from "./ui.js";

const TRANSCRIPT_PENDING = "the conversation's messages are not fetched yet";

function Timeline({ call }) {
  const events = [
    ["created", call.created_at],
    ["answered", call.answered_at],
    ["ended", call.ended_at],
  ].filter(([, at]) => at);
  return html`<ol class="timeline" aria-label="Timeline">${events.map(([what, at]) => html`<li><time datetime=${at}>${when(at)}</time> ${what}</li>`)}
    ${call.state ? html`<li class="muted">state now: ${call.state}</li>` : null}</ol>`;
}

function Transcript({ callId }) {
  const state = useApi(`/calls/${enc(callId)}/transcript`, null, 0);
  const t = state.data;
  return html`<${Loading} state=${state}>${t && html`<ol class="transcript" data-section="transcript">
    ${t.messages.map((m) => html`<li class=${`role-${m.role || "other"}`}><span class="who">${text(m.role)}</span>
      <span class="said">${text(m.text)}</span><time class="muted">${when(m.created_at || m.sent_at)}</time></li>`)}</ol>`}<//>`;
}

export function CallPage({ id }) {
  // Polls until the call has ended and its transcript settled, then stops.
  const [poll, setPoll] = useState(POLL_MS);
  const state = useApi(`/calls/${enc(id)}`, null, poll);
  const call = state.data;
  useEffect(() => {
    if (call && call.ended_at && call.transcript_status) setPoll(0);
  }, [call && call.ended_at, call && call.transcript_status]);
  return html`<${Loading} state=${state}>${call && html`
    <p class="crumbs"><a href="#/campaigns">Campaigns</a>${call.lead_id ? html` › <a href=${`#/leads/${enc(call.lead_id)}`}>Lead</a>` : null}</p>
    <h1>Call</h1>
    <${Facts} items=${[
      ["Call control id", call.call_control_id],
      ["State", call.state],
      ["Outcome", call.outcome],
      ["Answering machine detection", call.amd],
      ["Disposition", call.disposition ? `${call.disposition}${call.disposition_source ? ` (${call.disposition_source})` : ""}` : null],
      ["Duration", call.duration_s !== null && call.duration_s !== undefined ? `${call.duration_s} s` : null],
      ["Cost", call.cost ? `${call.cost} ${call.cost_currency || ""}`.trim() : null],
      ["Billed", call.billed_s !== null && call.billed_s !== undefined ? `${call.billed_s} s` : null],
      ["Attempt", call.attempt_n],
      ["Assistant", call.assistant_id],
    ]} />
    <section aria-labelledby="timeline"><h2 id="timeline">Timeline</h2><${Timeline} call=${call} /></section>
    <section aria-labelledby="insights"><h2 id="insights">Insights</h2>
      ${Object.keys(call.insights || {}).length
        ? html`<${Facts} items=${Object.entries(call.insights)} />`
        : html`<p class="muted">No insight for this call.</p>`}
    </section>
    <section aria-labelledby="transcript"><h2 id="transcript">Transcript</h2>
      ${call.transcript_status === "stored"
        ? html`<${Transcript} callId=${id} />`
        : html`<p class="muted" data-field="transcript-status">${call.transcript_status ? `No transcript: ${call.transcript_status}.` : `No transcript yet: ${TRANSCRIPT_PENDING}.`}</p>`}
    </section>`}<//>`;
}
