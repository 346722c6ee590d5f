// Endpoints for events (admins): register a URL for some events (its signing secret is shown once), send a test
// event, read an endpoint's delivery log (time, event, state, status, latency, attempts; never bodies), replay what
// was parked after 24 hours of failures, remove an endpoint.

import { request } from './api.js';
import { errorText, fmtDateTime, h, replace, toast } from './ui.js';

const EVENTS = ['conversation.created', 'conversation.status_changed', 'conversation.assigned', 'message.created',
                'contact.updated', 'contact.merged', 'contact.erased', 'csat.submitted'];
const path = (id, rest = '') => `/api/webhooks/${encodeURIComponent(id)}${rest}`;

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Secret copied.');
  } catch {
    toast('Select the secret and copy it with Ctrl+C.', 'error');
  }
}

export function createWebhooksPage() {
  const url = h('input', { type: 'url', id: 'webhook-url', 'data-testid': 'webhook-url', required: true,
                           placeholder: 'https://crm.example.com/hooks/switchboard', autocomplete: 'off', spellcheck: false });
  const all = h('input', { type: 'checkbox', id: 'webhook-all', 'data-testid': 'webhook-all' });
  const boxes = EVENTS.map((name) => h('input', { type: 'checkbox', id: `webhook-ev-${name}`, value: name,
                                                   'data-testid': 'webhook-event', checked: name.startsWith('conversation.') }));
  all.addEventListener('change', () => boxes.forEach((b) => { b.disabled = all.checked; }));
  const create = h('button', { type: 'submit', class: 'primary', 'data-testid': 'webhook-create' }, 'Add endpoint');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const secretBox = h('div', { class: 'notice secret', 'data-testid': 'webhook-secret', hidden: true });
  const form = h('form', { class: 'link-form', 'aria-labelledby': 'webhook-new' },
    h('h3', { id: 'webhook-new' }, 'New endpoint'),
    h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'URL (https)'), url),
    h('fieldset', { class: 'webhook-events' }, h('legend', {}, 'Events'),
      h('label', { class: 'check' }, all, ' All events, present and future'),
      boxes.map((b) => h('label', { class: 'check', for: b.id }, b, ` ${b.value}`))),
    create, error);
  const list = h('div', { class: 'webhook-list', 'data-testid': 'webhook-list' });
  const note = h('p', { class: 'page-status', role: 'status' });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const events = all.checked ? ['*'] : boxes.filter((b) => b.checked).map((b) => b.value);
    if (!events.length) {
      error.textContent = 'Pick at least one event.';
      return;
    }
    create.disabled = true;
    error.textContent = '';
    try {
      const made = await request('POST', '/api/webhooks', { url: url.value.trim(), events });
      url.value = '';
      const code = h('code', { 'data-testid': 'webhook-secret-value' }, made.secret);
      replace(secretBox,
        h('p', {}, h('strong', {}, 'Signing secret for this endpoint: shown once. '), 'Keep it in your receiver: each '
          + 'delivery carries X-Switchboard-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>").'),
        h('p', {}, code, ' ', h('button', { type: 'button', onclick: () => copy(made.secret) }, 'Copy'),
          ' ', h('button', { type: 'button', onclick: () => { secretBox.hidden = true; replace(secretBox); } }, 'I have saved it')));
      secretBox.hidden = false;
      await refresh();
    } catch (err) {
      error.textContent = errorText(err, 'Adding the endpoint');
    } finally {
      create.disabled = false;
    }
  });

  function deliveriesTable(items) {
    if (!items.length) return h('p', { class: 'muted' }, 'No deliveries yet.');
    return h('div', { class: 'table-scroll' }, h('table', { class: 'audit-table', 'data-testid': 'webhook-deliveries' },
      h('thead', {}, h('tr', {}, ['When', 'Event', 'State', 'Status', 'Latency', 'Attempts'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((d) => h('tr', { 'data-testid': 'webhook-delivery' },
        h('td', {}, h('time', { datetime: d.created_at }, fmtDateTime(d.created_at))),
        h('td', {}, h('code', {}, d.event_type)),
        h('td', {}, d.state || '–', d.error ? h('span', { class: 'muted' }, ` (${d.error})`) : null),
        h('td', {}, d.status === null || d.status === undefined ? '–' : String(d.status)),
        h('td', {}, d.latency_ms === null || d.latency_ms === undefined ? '–' : `${d.latency_ms} ms`),
        h('td', {}, String(d.attempts)))))));
  }

  function card(endpoint) {
    const log = h('div', { class: 'webhook-log' });
    const result = h('span', { class: 'page-status', role: 'status' });
    async function showLog() {
      replace(log, h('p', { class: 'muted' }, 'Loading…'));
      try {
        replace(log, deliveriesTable((await request('GET', path(endpoint.id, '/deliveries?limit=20'))).items || []));
      } catch (err) {
        replace(log, h('p', { class: 'notice error' }, errorText(err, 'The delivery log')));
      }
    }
    const test = h('button', { type: 'button', 'data-testid': 'webhook-test' }, 'Send test event');
    test.addEventListener('click', async () => {
      test.disabled = true;
      result.textContent = 'Sending…';
      try {
        const r = await request('POST', path(endpoint.id, '/test'));
        result.textContent = r.ok ? `Delivered: HTTP ${r.status} in ${r.latency_ms} ms.`
          : `Not delivered: ${r.error || `HTTP ${r.status}`}.`;
        await showLog();
      } catch (err) {
        result.textContent = errorText(err, 'The test event');
      } finally {
        test.disabled = false;
      }
    });
    const replay = h('button', { type: 'button', 'data-testid': 'webhook-replay' }, 'Replay parked');
    replay.addEventListener('click', async () => {
      try {
        const r = await request('POST', path(endpoint.id, '/replay'));
        toast(r.replayed ? `${r.replayed} parked deliveries queued again.` : 'Nothing was parked.');
        await showLog();
      } catch (err) {
        toast(errorText(err, 'Replaying'), 'error');
      }
    });
    const remove = h('button', { type: 'button', class: 'danger', 'data-testid': 'webhook-delete' }, 'Remove');
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Remove the endpoint ${endpoint.url}? It gets no more events.`)) return;
      try {
        await request('DELETE', path(endpoint.id));
        toast('Endpoint removed.');
        await refresh();
      } catch (err) {
        toast(errorText(err, 'Removing the endpoint'), 'error');
      }
    });
    const show = h('button', { type: 'button', 'data-testid': 'webhook-show-log' }, 'Delivery log');
    show.addEventListener('click', showLog);
    return h('article', { class: 'webhook-card', 'data-testid': 'webhook' },
      h('h3', {}, h('code', { class: 'webhook-url' }, endpoint.url)),
      h('p', { class: 'muted' }, `Events: ${endpoint.events.join(', ')} · added ${fmtDateTime(endpoint.created_at)}`
        + (endpoint.created_by ? ` by ${endpoint.created_by}` : '')),
      h('div', { class: 'report-actions' }, test, show, replay, remove), result, log);
  }

  async function refresh() {
    note.textContent = 'Loading…';
    try {
      const items = (await request('GET', '/api/webhooks')).items || [];
      replace(list, ...items.map(card));
      note.textContent = items.length ? '' : 'No endpoints yet.';
    } catch (err) {
      note.textContent = errorText(err, 'The endpoints');
    }
  }

  const root = h('section', { class: 'page webhooks-page', 'data-testid': 'webhooks-page', 'aria-labelledby': 'webhooks-title' },
    h('h2', { id: 'webhooks-title' }, 'Events for other systems'),
    h('p', { class: 'hint' }, 'Your CRM or another system gets a signed POST for each event, at least once (dedupe on '
      + 'X-Switchboard-Event-Id), retried with backoff for 24 hours, then parked until you replay it.'),
    form, secretBox, note, list);
  return { root, mount(container) { container.replaceChildren(root); refresh(); }, unmount() { root.remove(); } };
}
