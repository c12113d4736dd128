// The tenant's do-not-call list: check a number, add one with a reason, remove one (confirmed).
import { useState } from "../vendor/hooks.mjs";
import { get, post } from "./api.js";
import { Confirm, Loading, Problem, html, useApi, when } from "./ui.js";

export function DncPage() {
  const [version, setVersion] = useState(0);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [removing, setRemoving] = useState(null);
  const list = useApi("/dnc", { limit: 50 }, 0, version);
  const run = async (work) => {
    try {
      setResult(await work());
      setError(null);
      setVersion((v) => v + 1);
    } catch (err) {
      setResult(null);
      setError(err);
    }
  };
  const field = (form, name) => new FormData(form).get(name).trim();
  const check = (event) => {
    event.preventDefault();
    const phone = field(event.target, "phone");
    run(async () => {
      const found = await get("/dnc/check", { phone });
      return found.dnc ? `${found.phone} is on the list (${found.entry ? found.entry.reason : "no reason"}).` : `${found.phone} is not on the list.`;
    });
  };
  const add = (event) => {
    event.preventDefault();
    const phone = field(event.target, "phone");
    const reason = field(event.target, "reason");
    run(async () => {
      const added = await post("/dnc", { phone, reason });
      return `${added.phone} added to the list.`;
    });
  };
  const remove = () => {
    const [phone, reason] = removing;
    setRemoving(null);
    run(async () => {
      await post("/dnc/remove", { phone, reason });
      return `${phone} removed from the list.`;
    });
  };
  return html`<h1>Do not call</h1>
    <div class="grid">
      <form class="card" onSubmit=${check} aria-labelledby="dnc-check">
        <h2 id="dnc-check">Check a number</h2>
        <label for="check-phone">Phone number</label><input id="check-phone" name="phone" required inputmode="tel" />
        <button type="submit">Check</button>
      </form>
      <form class="card" onSubmit=${add} aria-labelledby="dnc-add">
        <h2 id="dnc-add">Add a number</h2>
        <label for="add-phone">Phone number</label><input id="add-phone" name="phone" required inputmode="tel" />
        <label for="add-reason">Reason</label><input id="add-reason" name="reason" required />
        <button type="submit">Add to the list</button>
      </form>
      <form class="card" onSubmit=${(e) => { e.preventDefault(); setRemoving([field(e.target, "phone"), field(e.target, "reason")]); }} aria-labelledby="dnc-remove">
        <h2 id="dnc-remove">Remove a number</h2>
        <label for="remove-phone">Phone number</label><input id="remove-phone" name="phone" required inputmode="tel" />
        <label for="remove-reason">Reason</label><input id="remove-reason" name="reason" required />
        <button type="submit" class="danger">Remove…</button>
      </form>
    </div>
    ${result ? html`<p class="notice" role="status">${result}</p>` : null}
    <${Problem} error=${error} />
    <${Confirm} open=${Boolean(removing)} title="Remove from the do-not-call list?"
      body=${removing ? `${removing[0]} may be called again by every campaign. The removal is audited with your reason.` : ""}
      confirmLabel="Remove" onConfirm=${remove} onCancel=${() => setRemoving(null)} />
    <h2>On the list</h2>
    <${Loading} state=${list}>${list.data && html`<table class="list" aria-label="Do-not-call list">
      <thead><tr><th scope="col">Phone</th><th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Added</th></tr></thead>
      <tbody>${list.data.data.map((d) => html`<tr><td>${d.phone}</td><td>${d.reason}</td><td>${d.source}</td><td>${when(d.added_at)}</td></tr>`)}</tbody>
    </table>${list.data.next_cursor ? html`<p class="muted">First 50 shown (the dialer CLI lists them all).</p>` : null}`}<//>`;
}
