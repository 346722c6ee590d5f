// The app shell: config, sign-in, the top bar, hash routes (#/inbox, #/c/<id>, #/metrics, #/canned, #/settings,
// #/contacts[/<id>]), shortcuts.

import { api, configureAuth, getConfig, loadConfig } from './api.js';
import { completeHostedSignIn, renderSignIn, signOut, token, tokenIdentity } from './auth.js';
import { createArticlesPage } from './articles.js'; // help center
import { createCannedPage } from './canned.js';
import { createContactsPage } from './contacts.js';
import { createConversation } from './conversation.js';
import { createInbox } from './inbox.js';
import { createMetrics } from './metrics.js';
import { createSearchBox } from './search.js';
import { createSettingsPage } from './settings.js';
import { createTeamsPage } from './teams.js';
import { createAuditPage } from './audit.js'; // growth
import { createLinksPage } from './links.js'; // growth
import { createRulesPage } from './rules.js'; // issue 19: automation rules and macros
import { createReportsPage } from './reports.js'; // reports (issue 16)
import { createWebhooksPage } from './webhooks.js'; // reports (issue 16): endpoints for events
import { startLive, stopLive } from './live.js'; // the live workspace (issue 15)
import { createNotifications } from './notifications.js'; // issue 15
import { errorText, h, setChannels, setServerTime, toast, typingIn } from './ui.js';

const app = document.getElementById('app');
let teardown = () => {};

async function main() {
  try {
    setChannels((await loadConfig()).channels);
  } catch (err) {
    app.replaceChildren(h('p', { class: 'notice error', role: 'alert' }, `Switchboard cannot start: ${err.message}`));
    return;
  }
  configureAuth(token, () => showSignIn('Your session has ended: please sign in again.'));
  const message = getConfig().local ? null : await completeHostedSignIn();
  if (token()) start();
  else showSignIn(message);
}

function showSignIn(message) {
  if (document.body.classList.contains('signed-out') && app.querySelector('.login')) return;
  teardown();
  teardown = () => {};
  document.body.classList.add('signed-out');
  document.title = 'Sign in · Switchboard';
  renderSignIn(app, { message, onSignedIn: start });
}

async function start() {
  document.body.classList.remove('signed-out');
  let me;
  try {
    const sentAt = Date.now();
    me = await api.me();
    setServerTime(me.now, sentAt, Date.now());
  } catch (err) {
    if (err.status === 401) return; // showSignIn has already run
    me = tokenIdentity(); // GET /api/me not there yet: the token says who we are
  }

  const inboxCount = h('span', { class: 'nav-count', 'aria-label': 'unread' });
  const navLinks = {
    inbox: h('a', { href: '#/inbox', 'data-testid': 'nav-inbox' }, 'Inbox ', inboxCount),
    contacts: h('a', { href: '#/contacts', 'data-testid': 'nav-contacts' }, 'Contacts'), // contacts and search (issue 14)
    metrics: h('a', { href: '#/metrics', 'data-testid': 'nav-metrics' }, 'Metrics'),
    canned: h('a', { href: '#/canned', 'data-testid': 'nav-canned' }, 'Canned', h('span', { class: 'wide-only' }, ' responses')),
    articles: h('a', { href: '#/articles', 'data-testid': 'nav-articles' }, 'Help center'), // help center
  };
  if (me.role === 'admin') navLinks.settings = h('a', { href: '#/settings', 'data-testid': 'nav-settings' }, 'Settings');
  // growth: entry links (everyone sees them; admins create them) and the audit log (admins)
  navLinks.links = h('a', { href: '#/links', 'data-testid': 'nav-links' }, 'Links');
  if (me.role === 'admin') navLinks.audit = h('a', { href: '#/audit', 'data-testid': 'nav-audit' }, 'Audit');
  // issue 19: automation (macros for everyone, the rule builder for admins)
  navLinks.automation = h('a', { href: '#/automation', 'data-testid': 'nav-automation' }, 'Automation');
  const growthPages = { links: () => createLinksPage({ me }), audit: () => createAuditPage() };
  growthPages.automation = () => createRulesPage({ me }); // issue 19
  // reports (issue 16): the reports (everyone) and the endpoints for events (admins)
  navLinks.reports = h('a', { href: '#/reports', 'data-testid': 'nav-reports' }, 'Reports');
  growthPages.reports = () => createReportsPage({ me });
  if (me.role === 'admin') {
    navLinks.webhooks = h('a', { href: '#/webhooks', 'data-testid': 'nav-webhooks' }, 'Events');
    growthPages.webhooks = () => createWebhooksPage();
  }
  // Round-robin hands new conversations only to agents who say they are available.
  const available = h('input', { type: 'checkbox', id: 'availability', 'data-testid': 'availability' });
  const availability = h('span', { class: 'availability' }, available,
    h('label', { for: 'availability', title: 'New conversations are assigned to you in turn' }, 'Available'));
  let touched = false;
  api.agents().then((r) => {
    const mine = (r.items || []).find((a) => a.email === String(me.email).toLowerCase());
    if (!touched) available.checked = !!(mine && mine.available);
  }).catch(() => { availability.hidden = true; });
  available.addEventListener('change', async () => {
    touched = true;
    available.disabled = true;
    try {
      const r = await api.setAvailability(available.checked);
      available.checked = !!r.available;
      toast(r.available ? `New conversations will be assigned to you (up to ${r.max_open} open).`
        : 'No new conversations will be assigned to you.');
    } catch (err) {
      available.checked = !available.checked;
      toast(errorText(err, 'Changing your availability'), 'error');
    } finally {
      available.disabled = false;
    }
  });
  const main = h('main', { id: 'main', tabindex: '-1' });
  // the live workspace (issue 15): push events, and the notifications bell with its unread count
  startLive({ email: me.email, token });
  let noticed = 0;
  const notifications = createNotifications({ onCount: (n) => { noticed = n; setTitle(); } });
  const searchBox = createSearchBox(); // keys: / or Ctrl-K (contacts and search, issue 14)
  const topbar = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/inbox' }, 'Switchboard'),
    h('nav', { 'aria-label': 'Main' }, Object.values(navLinks)),
    searchBox.root,
    h('span', { class: 'who', 'data-testid': 'me' }, `${me.email} · ${me.role}`),
    notifications.root, // issue 15
    availability,
    h('button', { type: 'button', class: 'link', 'data-testid': 'sign-out', onclick: signOut }, 'Sign out'));
  app.replaceChildren(h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } },
    'Skip to content'), topbar, main);

  let unread = 0;
  const inbox = createInbox({ me, onUnread: (n) => { unread = n; inboxCount.textContent = n ? String(n) : ''; setTitle(); } });
  const inboxPane = h('div', { class: 'inbox-pane' });
  const conversationPane = h('div', { class: 'conversation-pane' });
  const placeholder = h('div', { class: 'placeholder' }, h('p', {}, 'Pick a conversation.'),
    h('p', { class: 'muted' }, 'Keys: j / k move through the inbox, r jumps to the reply box, m to the macros.'));
  const workspace = h('div', { class: 'workspace' }, inboxPane, conversationPane);
  let page = null; // metrics or canned page when shown
  let conversation = null;
  let screen = '';

  function setTitle() {
    const names = { inbox: 'Inbox', metrics: 'Metrics', canned: 'Canned responses', settings: 'Settings',
                    teams: 'Inboxes and teams', contacts: 'Contacts', links: 'Entry links', audit: 'Audit log',
                    articles: 'Help center', automation: 'Automation', reports: 'Reports',
                    webhooks: 'Events for other systems' };
    const count = unread + noticed; // issue 15: unread messages and notifications
    document.title = `${count ? `(${count}) ` : ''}${names[screen] || 'Inbox'} · Switchboard`;
  }

  function route() {
    const hash = location.hash || '#/inbox';
    const match = /^#\/c\/([^/?#]+)/.exec(hash);
    const pages = ['metrics', 'canned', 'settings', 'teams', 'contacts', 'articles', ...Object.keys(growthPages)];
    const next = match ? 'inbox' : pages.find((name) => hash.startsWith(`#/${name}`)) || 'inbox';
    for (const [name, link] of Object.entries(navLinks)) {
      if (name === next) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    if (next !== screen) {
      if (page) page.unmount();
      page = null;
      if (next === 'inbox') {
        main.replaceChildren(workspace);
        inbox.mount(inboxPane);
      } else {
        inbox.unmount();
        if (conversation) conversation.unmount();
        conversation = null;
        page = growthPages[next] ? growthPages[next]()
          : next === 'metrics' ? createMetrics() : next === 'canned' ? createCannedPage({ me })
            : next === 'teams' ? createTeamsPage({ me }) // teams: issue 14
              : next === 'contacts' ? createContactsPage({ me })
                : next === 'articles' ? createArticlesPage({ me }) : createSettingsPage({ me });
        page.mount(main);
        const heading = main.querySelector('h2');
        if (heading) {
          heading.setAttribute('tabindex', '-1');
          heading.focus();
        }
      }
      screen = next;
    }
    if (next === 'inbox') {
      const id = match ? decodeURIComponent(match[1]) : null;
      if (!conversation || conversation.id !== id) {
        if (conversation) conversation.unmount();
        conversation = id ? createConversation({ id, me, onChange: (summary) => inbox.patch(summary) }) : null;
        conversationPane.replaceChildren(conversation ? conversation.root : placeholder);
      }
      inbox.select(id);
      workspace.classList.toggle('has-conversation', !!id);
    }
    setTitle();
  }

  function keys(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
    if (screen !== 'inbox') return;
    if (e.key === 'j') inbox.next();
    else if (e.key === 'k') inbox.previous();
    else if (e.key === 'r' && conversation) conversation.focusReply();
    else if (e.key === 'm' && conversation && conversation.root.querySelector('[data-testid="macro-select"]')) {
      conversation.root.querySelector('[data-testid="macro-select"]').focus(); // issue 19: apply a macro
    }
    else return;
    e.preventDefault();
  }

  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', keys);
  teardown = () => {
    window.removeEventListener('hashchange', route);
    document.removeEventListener('keydown', keys);
    searchBox.destroy();
    notifications.destroy(); // issue 15
    stopLive();
    inbox.unmount();
    if (conversation) conversation.unmount();
    if (page) page.unmount();
  };
  route();
}

main();
