// Inboxes and teams as agents see them (issue 14): the directory (GET /api/inboxes and /api/teams, loaded once and
// refreshed now and then), the inbox's filters by inbox and team ("My teams"), and the inbox's name for the
// conversation header.

import { api } from './api.js';
import { channelName, h } from './ui.js';

const REFRESH_MS = 60000;
let loaded = null; // Promise<{inboxes, teams}>
let loadedAt = 0;
let current = { inboxes: [], teams: [] };
const listeners = new Set();

/** The inboxes and teams; fetched again when older than a minute, or when `fresh`. Never rejects. */
export function loadDirectory(fresh = false) {
  if (!loaded || fresh || Date.now() - loadedAt > REFRESH_MS) {
    loadedAt = Date.now();
    loaded = Promise.all([api.inboxes(), api.teams()])
      .then(([inboxes, teams]) => {
        current = { inboxes: inboxes.items || [], teams: teams.items || [] };
        listeners.forEach((fn) => fn(current));
        return current;
      })
      .catch(() => {
        loaded = null; // the routes may not exist yet, or a blip: try again next time
        return current;
      });
  }
  return loaded;
}

/** Call `fn(directory)` whenever the directory is (re)loaded; returns the unsubscribe function. */
export function onDirectory(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** What to call an inbox: its name, else its channel and address ("WhatsApp 200000000000002"). */
export function inboxLabel(inbox) {
  if (!inbox) return '';
  return inbox.name || `${channelName(inbox.channel)} ${inbox.address}`;
}

export function inboxById(id) {
  return current.inboxes.find((i) => i.id === id) || null;
}

export function teamById(id) {
  return current.teams.find((t) => t.id === id) || null;
}

/** The header's inbox (and team) tag: filled in once the directory is known. */
export function inboxTag(conv) {
  const tag = h('span', { class: 'badge inbox-tag', 'data-testid': 'conv-inbox', hidden: true });
  const fill = () => {
    const inbox = inboxById(conv.inbox);
    const team = teamById(conv.team || (inbox && inbox.team));
    tag.textContent = inbox ? `${inboxLabel(inbox)}${team ? ` · ${team.name}` : ''}` : '';
    tag.title = inbox ? `Inbox: ${inbox.channel} ${inbox.address}${team ? `, team ${team.name}` : ''}` : '';
    tag.hidden = !inbox;
  };
  fill();
  if (conv.inbox && !inboxById(conv.inbox)) loadDirectory(true).then(fill);
  return tag;
}

/** The inbox's "Inbox" and "Team" filters, as two .field blocks; `filters.inbox` and `filters.team` ('' for any,
 * 'mine' for the caller's teams) change through `setFilter(name, value)`. */
export function filterFields(filters, setFilter) {
  const inboxSelect = h('select', { id: 'filter-inbox', name: 'inbox', 'data-testid': 'filter-inbox' });
  const teamSelect = h('select', { id: 'filter-team', name: 'team', 'data-testid': 'filter-team' });
  inboxSelect.addEventListener('change', () => setFilter('inbox', inboxSelect.value));
  teamSelect.addEventListener('change', () => setFilter('team', teamSelect.value));

  const option = (value, text, selected) => h('option', { value, selected }, text);
  function fill({ inboxes, teams }) {
    const active = inboxes.filter((i) => i.status !== 'blocked');
    inboxSelect.replaceChildren(option('', 'All', !filters.inbox),
      ...active.map((i) => option(i.id, inboxLabel(i), filters.inbox === i.id)));
    if (filters.inbox && !active.some((i) => i.id === filters.inbox)) {
      inboxSelect.append(option(filters.inbox, 'An inbox no longer listed', true));
    }
    teamSelect.replaceChildren(option('', 'Any', !filters.team), option('mine', 'My teams', filters.team === 'mine'),
      ...teams.map((t) => option(t.id, t.name, filters.team === t.id)));
    if (filters.team && filters.team !== 'mine' && !teams.some((t) => t.id === filters.team)) {
      teamSelect.append(option(filters.team, 'A team no longer listed', true));
    }
    inboxSelect.value = filters.inbox || '';
    teamSelect.value = filters.team || '';
    // No team at all: the team filter would only ever show "nothing", so it steps aside.
    teamField.hidden = !teams.length && !filters.team;
  }
  const inboxField = h('div', { class: 'field' }, h('label', { for: inboxSelect.id }, 'Inbox'), inboxSelect);
  const teamField = h('div', { class: 'field' }, h('label', { for: teamSelect.id }, 'Team'), teamSelect);
  fill(current);
  onDirectory(fill);
  loadDirectory();
  return [inboxField, teamField];
}
