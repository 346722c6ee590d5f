// The audit log (admins): who did what, when, to which id; filtered by dates, person and action, newest first.

import { request } from './api.js';
import { errorText, fmtDateTime, h, replace, serverNow } from './ui.js';

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

export function createAuditPage() {
  const today = serverNow(); // the server's today (the local stack's clock may have moved on)
  const from = h('input', { type: 'date', id: 'audit-from', 'data-testid': 'audit-from',
                            value: isoDay(new Date(today.getTime() - 30 * 86400_000)) });
  const to = h('input', { type: 'date', id: 'audit-to', 'data-testid': 'audit-to', value: isoDay(today) });
  const actor = h('input', { type: 'search', id: 'audit-actor', 'data-testid': 'audit-actor', placeholder: 'anyone',
                             autocomplete: 'off', spellcheck: false });
  const action = h('input', { type: 'search', id: 'audit-action', 'data-testid': 'audit-action',
                              placeholder: 'any (e.g. contact. or link.create)', autocomplete: 'off', spellcheck: false });
  const form = h('form', { class: 'audit-filters', 'aria-label': 'Filter the audit log' },
    h('div', { class: 'field' }, h('label', { for: 'audit-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'audit-to' }, 'To'), to),
    h('div', { class: 'field' }, h('label', { for: 'audit-actor' }, 'Who (email)'), actor),
    h('div', { class: 'field' }, h('label', { for: 'audit-action' }, 'Action'), action),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'audit-apply' }, 'Show'));
  const body = h('tbody', {});
  const table = h('table', { class: 'audit-table', 'data-testid': 'audit-table' },
    h('caption', { class: 'sr-only' }, 'Audit log, newest first'),
    h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))),
    body);
  const note = h('p', { class: 'page-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'load-more', 'data-testid': 'audit-more', hidden: true }, 'Load more');
  let cursor = null;

  function row(item) {
    const outcome = item.outcome === 'failed' ? `failed (${item.status})`
      : item.counts ? Object.entries(item.counts).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || 'done'
        : (item.outcome || 'done');
    return h('tr', { 'data-testid': 'audit-row' },
      h('td', {}, h('time', { datetime: item.at }, fmtDateTime(item.at))),
      h('td', {}, item.actor),
      h('td', {}, h('code', {}, item.action)),
      h('td', {}, item.target ? h('code', {}, item.target) : '–'),
      h('td', {}, outcome));
  }

  async function load(append) {
    if (from.value && to.value && from.value > to.value) {
      note.textContent = '"From" must not be after "To".';
      note.classList.add('error');
      return;
    }
    const q = new URLSearchParams({ limit: '50' });
    if (from.value) q.set('from', from.value);
    if (to.value) q.set('to', to.value);
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (action.value.trim()) q.set('action', action.value.trim());
    if (append && cursor) q.set('cursor', cursor);
    note.textContent = 'Loading…';
    note.classList.remove('error');
    more.disabled = true;
    try {
      const page = await request('GET', `/api/audit?${q}`);
      if (!append) replace(body);
      body.append(...page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      note.textContent = body.children.length ? '' : 'Nothing recorded for these filters.';
    } catch (err) {
      note.textContent = errorText(err, 'The audit log');
      note.classList.add('error');
    } finally {
      more.disabled = false;
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); cursor = null; load(false); });
  more.addEventListener('click', () => load(true));

  const root = h('section', { class: 'page audit-page', 'aria-labelledby': 'audit-title', 'data-testid': 'audit-page' },
    h('h2', { id: 'audit-title' }, 'Audit log'),
    h('p', { class: 'hint' }, 'Every action that changes or reveals data: who, what, when and the id of its target. '
      + 'Never message text or personal data. Kept for the retention setting\u2019s audit_days (400 days by default).'),
    form, note, h('div', { class: 'table-scroll' }, table), more);
  return { root, mount(container) { container.replaceChildren(root); load(false); }, unmount() { root.remove(); } };
}
