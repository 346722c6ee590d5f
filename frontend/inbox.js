// The inbox: filters, the conversation list (polled, merged in place), cursor paging, keyboard moves.

import { api } from './api.js';
import { filterFields } from './inboxes.js';
import { newConversationButton } from './newconversation.js'; // templates capability
import { PRIORITIES, SORTS, createBulkBar, priorityBadge, slaBadge, snoozeBadge } from './organize.js';
import { sourceChip, sourceFilterField } from './source.js';
import { presenceText, pushing, subscribe } from './live.js'; // the live workspace (issue 15)
import { commentTag } from './social.js'; // issue 17: comments
import {
  CHANNELS, channelBadge, channelName, contactLabel, errorText, fmtDateTime, fmtShort, h, replace, serverNow,
} from './ui.js';

const POLL_MS = 4000;
const PAGE = 25;
const FILTERS = 'switchboard.filters';

export function createInbox({ me, onUnread }) {
  const saved = JSON.parse(sessionStorage.getItem(FILTERS) || 'null');
  const filters = { status: 'open', channel: '', assignee: '', label: '', inbox: '', team: '', priority: '', sort: 'activity', ...saved };
  let items = [];
  let nextCursor = null;
  let selectedId = null;
  let timer = null;
  let busy = false;
  let again = false;
  let generation = 0; // bumps on every filter change, so late answers for old filters are dropped
  const rows = new Map();
  // Bulk actions (issue 14): the ids ticked, and the row a shift-click range starts from.
  const picked = new Set();
  let anchor = null;

  const select = (name, label, options) => {
    const el = h('select', { id: `filter-${name}`, name },
      options.map(([value, text]) => h('option', { value, selected: filters[name] === value }, text)));
    el.value = filters[name];
    el.addEventListener('change', () => setFilter(name, el.value));
    return [h('label', { for: el.id }, label), el];
  };
  const labelInput = h('input', { id: 'filter-label', type: 'search', value: filters.label, placeholder: 'any',
                                  autocomplete: 'off', spellcheck: false });
  let labelTimer = null;
  labelInput.addEventListener('input', () => {
    clearTimeout(labelTimer);
    labelTimer = setTimeout(() => setFilter('label', labelInput.value.trim().toLowerCase()), 350);
  });
  labelInput.addEventListener('keydown', (e) => { // Enter applies the label at once
    if (e.key !== 'Enter') return;
    clearTimeout(labelTimer);
    setFilter('label', labelInput.value.trim().toLowerCase());
  });

  const list = h('ul', { class: 'conv-list', 'aria-label': 'Conversations', 'aria-busy': 'true' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No conversations here.');
  const status = h('p', { class: 'inbox-status' }); // not live: it changes on every poll
  const problem = h('p', { class: 'inbox-status error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', class: 'load-more', hidden: true, onclick: () => loadMore() }, 'Load more');
  const bulk = createBulkBar({
    me,
    selected: () => items.filter((c) => picked.has(c.id)).map((c) => c.id),
    clear: () => { picked.clear(); render(); },
    done: (results) => {
      results.filter((r) => r.ok).forEach((r) => picked.delete(r.id));
      render();
      refresh();
    },
  });

  const root = h('section', { class: 'inbox', 'aria-labelledby': 'inbox-title' },
    h('div', { class: 'inbox-head' },
      h('div', { class: 'inbox-title-row' }, h('h2', { id: 'inbox-title' }, 'Inbox'),
        newConversationButton({ me, testid: 'new-conversation' })),
      h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter conversations', onsubmit: (e) => e.preventDefault() },
        h('div', { class: 'field' }, select('status', 'Status', [['open', 'Open'], ['pending', 'Pending'], ['snoozed', 'Snoozed'], ['resolved', 'Resolved'], ['', 'All']])),
        h('div', { class: 'field' }, select('channel', 'Channel', [['', 'All'], ...CHANNELS.map((c) => [c, channelName(c)])])),
        h('div', { class: 'field' }, select('assignee', 'Assignee', [['', 'Anyone'], [me.email, 'Me']])),
        h('div', { class: 'field' }, h('label', { for: 'filter-label' }, 'Label'), labelInput),
        filterFields(filters, (name, value) => setFilter(name, value)), // by inbox and team (issue 14)
        sourceFilterField(filters, (name, value) => setFilter(name, value)), // by entry link (issue 16)
        h('div', { class: 'field' }, select('priority', 'Priority', [['', 'Any'], ...PRIORITIES])),
        h('div', { class: 'field' }, select('sort', 'Sort', SORTS)))),
    bulk.root,
    h('div', { class: 'conv-scroll' }, list, empty, more),
    problem, status);

  list.addEventListener('keydown', (e) => {
    if (['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) {
      e.preventDefault();
      const delta = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity }[e.key];
      focusRow(delta, false);
    }
  });

  function setFilter(name, value) {
    if (filters[name] === value) return;
    filters[name] = value;
    picked.clear();
    sessionStorage.setItem(FILTERS, JSON.stringify(filters));
    items = [];
    nextCursor = null;
    generation += 1;
    rows.forEach((row) => row.remove());
    rows.clear();
    refresh();
  }

  function query(cursor) {
    return { status: filters.status, channel: filters.channel, assignee: filters.assignee, label: filters.label,
             inbox: filters.inbox, team: filters.team, source: filters.source || '', // source: issue 16
             priority: filters.priority, sort: filters.sort === 'activity' ? '' : filters.sort, limit: PAGE, cursor };
  }

  /** Poll the first page and merge: it is the truth for everything at least as new as its last row. */
  async function refresh() {
    if (busy) {
      again = true; // a filter change or a patch while a poll is in flight: run once more after it
      return;
    }
    busy = true;
    again = false;
    const gen = generation;
    try {
      const page = await api.conversations(query());
      if (gen !== generation) return;
      const fresh = page.items || [];
      if (!page.next_cursor) {
        items = fresh;
        nextCursor = null;
      } else if (filters.sort && filters.sort !== 'activity') {
        // Another order than activity: the first page is the truth for its rows; pages loaded below it stay.
        const ids = new Set(fresh.map((c) => c.id));
        const below = items.slice(PAGE).filter((c) => !ids.has(c.id));
        if (!below.length) nextCursor = page.next_cursor;
        items = [...fresh, ...below];
      } else {
        const ids = new Set(fresh.map((c) => c.id));
        const boundary = fresh.length ? fresh[fresh.length - 1].updated_at : '';
        const older = items.filter((c) => !ids.has(c.id) && c.updated_at < boundary);
        if (!older.length) nextCursor = page.next_cursor;
        items = [...fresh, ...older];
      }
      status.textContent = `Updated ${serverNow().toLocaleTimeString()}`;
      showProblem('');
      render();
    } catch (err) {
      showProblem(errorText(err, 'Loading the inbox'));
    } finally {
      busy = false;
      list.setAttribute('aria-busy', 'false');
      if (again) refresh();
    }
  }

  async function loadMore() {
    if (!nextCursor) return;
    more.disabled = true;
    const gen = generation;
    try {
      const page = await api.conversations(query(nextCursor));
      if (gen !== generation) return;
      const ids = new Set(items.map((c) => c.id));
      items = [...items, ...(page.items || []).filter((c) => !ids.has(c.id))];
      nextCursor = page.next_cursor || null;
      render();
    } catch (err) {
      showProblem(errorText(err, 'Loading more conversations'));
    } finally {
      more.disabled = false;
    }
  }

  function showProblem(text) {
    if (problem.textContent !== text) problem.textContent = text; // announced once, not on every failed poll
    problem.hidden = !text;
  }

  function rowContent(c) {
    const last = c.last_message;
    const unread = c.unread_count || 0;
    return [
      h('span', { class: 'row-top' },
        h('span', { class: 'contact-name' }, contactLabel(c.contact)),
        h('time', { datetime: c.updated_at, title: fmtDateTime(c.updated_at) }, fmtShort(c.updated_at))),
      h('span', { class: 'row-preview' },
        last ? `${last.direction === 'outbound' ? 'Reply: ' : ''}${last.text || '(attachment)'}` : 'No messages yet'),
      h('span', { class: 'row-tags' },
        channelBadge(c.channel), commentTag(c), // issue 17: a public comment thread
        sourceChip(c.source), // growth: where it came from
        c.status !== 'open' ? h('span', { class: `badge status status-${c.status}` }, c.status) : null,
        priorityBadge(c.priority), snoozeBadge(c), c.status !== 'resolved' ? slaBadge(c.sla) : null,
        (c.labels || []).map((l) => h('span', { class: 'badge label' }, l)),
        c.assignee ? h('span', { class: 'assignee' }, c.assignee === me.email ? 'me' : c.assignee) : null,
        unread ? h('span', { class: 'unread', 'aria-label': `${unread} unread` }, String(unread)) : null),
      livePresence(c.id), // issue 15: "Ann is viewing"
    ];
  }

  function livePresence(id) {
    const text = presenceText(id);
    return text ? h('span', { class: 'row-presence', 'data-testid': 'row-presence' }, text) : null;
  }

  function render() {
    const seen = new Set();
    let previous = null;
    for (const c of items) {
      seen.add(c.id);
      let row = rows.get(c.id);
      if (!row) {
        const link = h('a', { href: `#/c/${encodeURIComponent(c.id)}`, class: 'conv-row', 'data-testid': 'conversation',
                              'data-id': c.id, tabindex: '-1' });
        const box = h('input', { type: 'checkbox', class: 'row-pick', 'data-testid': 'conversation-select',
                                 'aria-label': `Select the conversation with ${contactLabel(c.contact)}` });
        box.addEventListener('click', (e) => pick(c.id, box.checked, e.shiftKey));
        row = h('li', { class: 'conv-item' }, box, link);
        rows.set(c.id, row);
      }
      row.firstChild.checked = picked.has(c.id);
      const link = row.lastChild;
      replace(link, rowContent(c));
      link.classList.toggle('has-unread', (c.unread_count || 0) > 0);
      link.classList.toggle('selected', c.id === selectedId);
      if (c.id === selectedId) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== row) list.insertBefore(row, expected);
      previous = row;
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    for (const id of picked) if (!seen.has(id)) picked.delete(id);
    bulk.update(picked.size);
    updateTabStop();
    empty.hidden = items.length > 0;
    more.hidden = !nextCursor;
    onUnread(items.reduce((n, c) => n + (c.unread_count || 0), 0));
  }

  /** Tick (or untick) a row; with shift, every row between it and the last one ticked too. */
  function pick(id, on, range) {
    const ids = items.map((c) => c.id);
    const from = range && anchor !== null ? ids.indexOf(anchor) : -1;
    const to = ids.indexOf(id);
    const span = from >= 0 && to >= 0 ? ids.slice(Math.min(from, to), Math.max(from, to) + 1) : [id];
    span.forEach((x) => (on ? picked.add(x) : picked.delete(x)));
    anchor = id;
    render();
  }

  /** One tab stop for the list (roving tabindex): the selected row, else the first. */
  function updateTabStop() {
    const links = [...list.querySelectorAll('.conv-row')];
    const current = links.find((a) => a === document.activeElement) || links.find((a) => a.dataset.id === selectedId) || links[0];
    links.forEach((a) => a.setAttribute('tabindex', a === current ? '0' : '-1'));
  }

  /** Move focus by delta rows; open the row too when asked (j/k). */
  function focusRow(delta, open) {
    const links = [...list.querySelectorAll('.conv-row')];
    if (!links.length) return;
    let index = links.indexOf(document.activeElement);
    if (index < 0) index = links.findIndex((a) => a.dataset.id === selectedId);
    const next = index < 0 ? 0 : Math.max(0, Math.min(links.length - 1, index + delta));
    links.forEach((a, i) => a.setAttribute('tabindex', i === next ? '0' : '-1'));
    links[next].focus();
    if (open) location.hash = links[next].getAttribute('href');
  }

  // the live workspace (issue 15): what changed is refetched (debounced: a burst of events is one request)
  let offLive = null;
  let liveTimer = null;
  function onLive(event) {
    if (['message.created', 'conversation.updated', 'resync'].includes(event.type)) {
      if (event.note) return; // a note changes no row
      clearTimeout(liveTimer);
      liveTimer = setTimeout(refresh, 150);
    } else if (event.type === 'presence' || event.type === 'typing' || event.type === 'presence.tick') {
      render();
    }
  }

  return {
    root,
    mount(container) {
      if (root.parentNode !== container) container.append(root);
      refresh();
      clearInterval(timer);
      // issue 15: no polling while push works (a slow refetch for its events instead), polling when it is down
      timer = setInterval(() => { if (document.visibilityState === 'visible' && !pushing()) refresh(); }, POLL_MS);
      if (!offLive) offLive = subscribe(onLive);
    },
    unmount() {
      clearInterval(timer);
      timer = null;
      if (offLive) offLive();
      offLive = null;
      root.remove();
    },
    select(id) {
      selectedId = id;
      render();
    },
    /** Called by the conversation view after a change it made, or when it marked a conversation read. */
    patch(summary) {
      const i = items.findIndex((c) => c.id === summary.id);
      if (i >= 0) {
        items[i] = { ...items[i], ...summary };
        render();
      }
      refresh();
    },
    refresh,
    next: () => focusRow(1, true),
    previous: () => focusRow(-1, true),
  };
}
