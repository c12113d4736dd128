// The console's shell: sign in, navigation, and a hash router (#/campaigns/…), so every page is
// one file served by the same route and works under a deployed stage's path prefix.
import { render } from "../vendor/preact.mjs";
import { useEffect, useState } from "../vendor/hooks.mjs";
import { ApiError, api, apiKey, signIn, signOut } from "./api.js";
import { html, Problem } from "./ui.js";
import { CampaignPage, CampaignsPage } from "./campaigns.js";
import { LeadPage, LeadsPage } from "./leads.js";
import { CallPage } from "./calls.js";
import { DncPage } from "./dnc.js";
import { ImportPage } from "./imports.js";
import { AssistantsPage } from "./assistants.js";

const ROUTES = [
  [/^\/campaigns$/, () => html`<${CampaignsPage} />`],
  [/^\/campaigns\/([^/]+)$/, (id) => html`<${CampaignPage} id=${id} />`],
  [/^\/campaigns\/([^/]+)\/leads$/, (id) => html`<${LeadsPage} campaignId=${id} />`],
  [/^\/leads\/([^/]+)$/, (id) => html`<${LeadPage} id=${id} />`],
  [/^\/calls\/([^/]+)$/, (id) => html`<${CallPage} id=${id} />`],
  [/^\/dnc$/, () => html`<${DncPage} />`],
  [/^\/imports$/, () => html`<${ImportPage} />`],
  [/^\/campaigns\/([^/]+)\/imports\/([^/]+)$/, (cid, iid) => html`<${ImportPage} campaignId=${cid} importId=${iid} />`],
  [/^\/assistants$/, () => html`<${AssistantsPage} />`],
];
const NAV = [
  ["#/campaigns", "Campaigns"],
  ["#/dnc", "Do not call"],
  ["#/imports", "Imports"],
  ["#/assistants", "Assistants"],
];

function currentPath() {
  return window.location.hash.replace(/^#/, "") || "/campaigns";
}

function page(path) {
  for (const [pattern, view] of ROUTES) {
    const found = pattern.exec(path);
    if (found) return view(...found.slice(1).map(decodeURIComponent));
  }
  return html`<h1>Not found</h1><p>No page at this address. <a href="#/campaigns">Campaigns</a></p>`;
}

function SignIn({ onSignedIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const key = new FormData(event.target).get("api_key").trim();
    if (!key) return setError(new Error("Enter an API key."));
    setBusy(true);
    try {
      const tenant = await api("GET", "/tenants/me", { key });
      signIn(key);
      onSignedIn(tenant);
    } catch (err) {
      setError(err instanceof ApiError && (err.status === 401 || err.status === 403)
        ? new Error("That key was refused: check it and try again.") : err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>Dialer console</h1>
    <form onSubmit=${submit} autocomplete="off">
      <label for="api-key">Management API key</label>
      <input id="api-key" name="api_key" type="password" required autocomplete="off" spellcheck="false" />
      <p class="hint">Kept in this tab only (sessionStorage) and sent only to this API.</p>
      <button type="submit" disabled=${busy}>Sign in</button>
      <${Problem} error=${error} />
    </form>
  </main>`;
}

function Shell({ tenant, onSignOut }) {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const moved = () => setPath(currentPath());
    window.addEventListener("hashchange", moved);
    return () => window.removeEventListener("hashchange", moved);
  }, []);
  return html`<div class="shell">
    <header>
      <a class="brand" href="#/campaigns">Dialer console</a>
      <nav aria-label="Main">
        ${NAV.map(([href, label]) => html`<a href=${href} aria-current=${path.startsWith(href.slice(1)) ? "page" : undefined}>${label}</a>`)}
      </nav>
      <span class="tenant">Tenant <strong>${tenant.name || tenant.id || tenant.tenant_id}</strong></span>
      <button type="button" class="link" onClick=${onSignOut}>Sign out</button>
    </header>
    <main id="main">${page(path)}</main>
  </div>`;
}

function App() {
  const [tenant, setTenant] = useState(null);
  const [checking, setChecking] = useState(Boolean(apiKey()));
  useEffect(() => {
    const out = () => {
      signOut();
      setTenant(null);
    };
    window.addEventListener("console:signed-out", out);
    if (apiKey()) {
      api("GET", "/tenants/me").then(setTenant, out).finally(() => setChecking(false));
    }
    return () => window.removeEventListener("console:signed-out", out);
  }, []);
  if (checking) return html`<p class="loading" aria-busy="true">Loading…</p>`;
  if (!tenant) return html`<${SignIn} onSignedIn=${setTenant} />`;
  return html`<${Shell} tenant=${tenant} onSignOut=${() => { signOut(); setTenant(null); }} />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading the console…" placeholder shown until this module runs
render(html`<${App} />`, root);
