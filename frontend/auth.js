// Sign-in. Locally: a form posting to /_local/token. Deployed: Cognito's hosted UI, authorization code
// flow with PKCE; the id token is kept in sessionStorage (gone when the tab closes).

import { api, getConfig } from './api.js';
import { h } from './ui.js';

const TOKEN = 'switchboard.idToken';
const PKCE = 'switchboard.pkce';

function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The claims of a JWT (not verified: the API does that; this only reads email, groups and expiry). */
export function claims(token = sessionStorage.getItem(TOKEN)) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export function token() {
  const t = sessionStorage.getItem(TOKEN);
  if (!t) return null;
  const c = claims(t);
  if (c && c.exp && c.exp * 1000 < Date.now() + 10_000) {
    sessionStorage.removeItem(TOKEN);
    return null;
  }
  return t;
}

/** Who the token says we are, for when GET /api/me is not there. */
export function tokenIdentity() {
  const c = claims() || {};
  const groups = c['cognito:groups'] || [];
  return { email: c.email || c['cognito:username'] || 'unknown', role: groups.includes('admin') ? 'admin' : 'agent' };
}

function cognito() {
  const c = getConfig().cognito || {};
  const domain = String(c.domain || '').replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!domain || !c.clientId) throw new Error('config.json has no Cognito settings (cognito.domain, cognito.clientId)');
  return { domain, clientId: c.clientId, redirectUri: c.redirectUri || `${location.origin}${location.pathname}`,
           logoutUri: c.logoutUri || c.redirectUri || `${location.origin}${location.pathname}` };
}

async function startHostedSignIn() {
  const { domain, clientId, redirectUri } = cognito();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, hash: location.hash }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid email profile',
    code_challenge: challenge, code_challenge_method: 'S256', state,
  });
  location.assign(`https://${domain}/oauth2/authorize?${q}`);
}

/** Back from the hosted UI with ?code=&state=: exchange the code for tokens. Returns an error text or null. */
export async function completeHostedSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE) || 'null');
  sessionStorage.removeItem(PKCE);
  history.replaceState(null, '', `${location.pathname}${(saved && saved.hash) || ''}`);
  if (params.has('error')) return `Sign-in failed: ${params.get('error_description') || params.get('error')}`;
  if (!saved || saved.state !== params.get('state')) return 'Sign-in failed: the answer did not match this browser tab. Please try again.';
  const { domain, clientId, redirectUri } = cognito();
  const body = new URLSearchParams({
    grant_type: 'authorization_code', client_id: clientId, code: params.get('code'),
    redirect_uri: redirectUri, code_verifier: saved.verifier,
  });
  try {
    const r = await fetch(`https://${domain}/oauth2/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
    });
    const data = await r.json();
    if (!r.ok || !data.id_token) return `Sign-in failed: ${data.error_description || data.error || r.status}`;
    sessionStorage.setItem(TOKEN, data.id_token);
    return null;
  } catch {
    return 'Sign-in failed: the sign-in service could not be reached.';
  }
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
  const cfg = getConfig();
  if (!cfg.local && cfg.cognito) {
    const { domain, clientId, logoutUri } = cognito();
    location.assign(`https://${domain}/logout?${new URLSearchParams({ client_id: clientId, logout_uri: logoutUri })}`);
    return;
  }
  location.hash = '#/inbox';
  location.reload();
}

/** The sign-in screen; calls onSignedIn() once a token is stored. */
export function renderSignIn(root, { message, onSignedIn }) {
  const cfg = getConfig();
  const error = h('p', { class: 'form-error', role: 'alert' }, message || '');
  let form;
  if (cfg.local) {
    const email = h('input', { id: 'login-email', 'data-testid': 'login-email', type: 'email', name: 'email',
                               required: true, autocomplete: 'username', placeholder: 'you@example.com' });
    const role = h('select', { id: 'login-role', 'data-testid': 'login-role', name: 'role' },
      h('option', { value: 'agent' }, 'Agent'), h('option', { value: 'admin' }, 'Admin'));
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, 'Sign in');
    form = h('form', { class: 'login-form', novalidate: true },
      h('p', { class: 'hint' }, 'Local stack: sign in as anyone, no password.'),
      h('label', { for: 'login-email' }, 'Email'), email,
      h('label', { for: 'login-role' }, 'Role'), role,
      submit, error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!email.value.includes('@')) {
        error.textContent = 'Enter an email address.';
        email.focus();
        return;
      }
      submit.disabled = true;
      error.textContent = '';
      try {
        const { token: t } = await api.localToken(email.value.trim(), role.value);
        sessionStorage.setItem(TOKEN, t);
        onSignedIn();
      } catch (err) {
        error.textContent = `Sign-in failed: ${err.message}`;
        submit.disabled = false;
      }
    });
    setTimeout(() => email.focus());
  } else {
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'login-submit' }, 'Sign in');
    form = h('form', { class: 'login-form' },
      h('p', { class: 'hint' }, 'You will be sent to the company sign-in page.'), submit, error);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      startHostedSignIn().catch((err) => { error.textContent = err.message; });
    });
    setTimeout(() => submit.focus());
  }
  root.replaceChildren(h('section', { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Switchboard'), h('p', { class: 'tagline' }, 'Every customer conversation, one inbox.'), form));
}
