// Notifications (issue 15): the top bar's bell with the unread count, its list (mentions, assignments, customers
// replying in my conversations, SLA warnings), read when opened; a browser notification while the tab is hidden,
// once the agent has opted in. Refreshed by push ("notification" events), on a resync, and every minute without push.

import { api } from './api.js';
import { agentName, pushing, subscribe } from './live.js';
import { errorText, fmtShort, h, replace, svg } from './ui.js';

const POLL_MS = 60_000;
const TEXT = {
  mention: (n) => `${agentName(n.by)} mentioned you in a note`,
  assigned: (n) => (n.by ? `${agentName(n.by)} assigned a conversation to you` : 'A conversation was assigned to you'),
  customer_replied: () => 'The customer replied in your conversation',
  sla_warning: () => 'An SLA target of your conversation is due soon',
};

function bellIcon() {
  return svg('svg', { viewBox: '0 0 24 24', width: 20, height: 20, 'aria-hidden': 'true', class: 'bell-icon' },
    svg('path', { d: 'M12 3a6 6 0 0 0-6 6v3.6L4.3 15.4A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.6L18 12.6V9a6 6 0 0 0-6-6z',
                  fill: 'currentColor' }),
    svg('path', { d: 'M9.5 18.5a2.5 2.5 0 0 0 5 0z', fill: 'currentColor' }));
}

export function createNotifications({ onCount }) {
  let items = [];
  let unread = 0;
  let timer = null;
  const count = h('span', { class: 'bell-count', 'data-testid': 'notifications-count', hidden: true });
  const button = h('button', { type: 'button', class: 'bell', 'data-testid': 'notifications-bell', 'aria-expanded': 'false',
                               'aria-controls': 'notifications-panel', title: 'Notifications' },
    bellIcon(), h('span', { class: 'sr-only' }, 'Notifications'), count);
  const list = h('ul', { class: 'notification-list' });
  const error = h('p', { class: 'form-error' });
  const optIn = h('button', { type: 'button', class: 'small link', 'data-testid': 'notifications-opt-in' },
    'Notify me when this tab is hidden');
  const panel = h('div', { id: 'notifications-panel', class: 'notifications-panel', role: 'dialog',
                           'aria-label': 'Notifications', hidden: true, 'data-testid': 'notifications-panel' },
    h('div', { class: 'notifications-head' }, h('strong', {}, 'Notifications'), optIn), error, list);
  const root = h('span', { class: 'notifications' }, button, panel);

  function canNotify() {
    return typeof Notification !== 'undefined' && Notification.permission === 'granted';
  }
  optIn.hidden = typeof Notification === 'undefined' || Notification.permission !== 'default';
  optIn.addEventListener('click', async () => {
    try {
      await Notification.requestPermission();
    } finally {
      optIn.hidden = Notification.permission !== 'default';
    }
  });

  function render() {
    count.textContent = unread ? String(unread) : '';
    count.hidden = !unread;
    button.setAttribute('aria-label', unread ? `Notifications, ${unread} unread` : 'Notifications');
    onCount(unread);
    replace(list, items.length ? items.map((n) => h('li', { class: `notification${n.read ? '' : ' is-unread'}`,
                                                             'data-testid': 'notification', 'data-type': n.type },
      h('a', { href: `#/c/${encodeURIComponent(n.conversation_id)}`, onclick: () => { read([n.id]); close(); } },
        h('span', {}, (TEXT[n.type] || (() => n.type))(n)),
        h('time', { datetime: n.created_at }, fmtShort(n.created_at)))))
      : h('li', { class: 'muted' }, 'Nothing yet.'));
  }

  async function load() {
    try {
      const r = await api.notifications();
      items = r.items || [];
      unread = r.unread || 0;
      error.textContent = '';
      render();
    } catch (err) {
      if (!err.routeMissing) error.textContent = errorText(err, 'Loading notifications');
    }
  }

  async function read(ids) {
    const fresh = ids.filter((id) => items.some((n) => n.id === id && !n.read));
    if (!fresh.length) return;
    items = items.map((n) => (fresh.includes(n.id) ? { ...n, read: true } : n));
    unread = items.filter((n) => !n.read).length;
    render();
    try {
      await api.readNotifications(fresh);
    } catch {
      load(); // as the server has it
    }
  }

  function close() {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  }

  button.addEventListener('click', () => {
    const opening = panel.hidden;
    panel.hidden = !opening;
    button.setAttribute('aria-expanded', String(opening));
    if (opening) load();
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !panel.hidden) close(); });

  const off = subscribe((event) => {
    if (event.type === 'notification' && event.notification) {
      const n = event.notification;
      if (!items.some((x) => x.id === n.id)) {
        items = [n, ...items];
        unread += n.read ? 0 : 1;
        render();
        if (document.visibilityState === 'hidden' && canNotify()) {
          const shown = new Notification('Switchboard', { body: (TEXT[n.type] || (() => n.type))(n), tag: n.id });
          shown.onclick = () => { window.focus(); location.hash = `#/c/${encodeURIComponent(n.conversation_id)}`; };
        }
      }
    } else if (event.type === 'resync') {
      load();
    }
  });
  load();
  timer = setInterval(() => { if (!pushing() && document.visibilityState === 'visible') load(); }, POLL_MS);

  return {
    root,
    destroy() {
      off();
      clearInterval(timer);
    },
  };
}
