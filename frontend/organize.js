// Organizing the queue (issue 14): priority, snooze, SLA time left, custom attributes and the inbox's bulk bar.
// The inbox, the conversation header and the contact panel use these pieces.

import { api } from './api.js';
import { errorText, fmtDateTime, h, replace, toast } from './ui.js';

export const PRIORITIES = [['urgent', 'Urgent'], ['high', 'High'], ['normal', 'Normal'], ['low', 'Low']];
export const SORTS = [['activity', 'Newest activity'], ['priority', 'Priority, then waiting'],
  ['waiting', 'Waiting longest'], ['sla_due', 'SLA time left']];
export const SNOOZE_PRESETS = [['1h', '1 hour'], ['tomorrow', 'Tomorrow 9:00'], ['next_week', 'Next week (Mon 9:00)']];
const TARGETS = { first_response: 'first response', next_response: 'next response', resolution: 'resolution' };

/** A priority other than normal, as a badge (normal shows nothing: most conversations are). */
export function priorityBadge(priority) {
  if (!priority || priority === 'normal') return null;
  return h('span', { class: `badge priority priority-${priority}`, 'data-testid': 'priority-badge',
                     title: `Priority: ${priority}` }, priority);
}

/** "12m", "3h 05m", "2d 4h"; negative: overdue. */
export function fmtLeft(seconds) {
  const s = Math.abs(Math.round(Number(seconds) || 0));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${String(m).padStart(2, '0')}m`;
  return `${m}m`;
}

/** The SLA's nearest due time: time left (green), little left or warned (amber), breached (red). */
export function slaBadge(sla) {
  if (!sla || sla.seconds_left === null || sla.seconds_left === undefined) {
    return sla && sla.breached && sla.breached.length
      ? h('span', { class: 'badge sla sla-breached', 'data-testid': 'sla-badge' }, 'SLA missed') : null;
  }
  const left = sla.seconds_left;
  const state = left < 0 ? 'breached' : left <= 15 * 60 || (sla.warned || []).length ? 'soon' : 'ok';
  const due = sla.next_due_at ? fmtDateTime(sla.next_due_at) : '';
  const text = left < 0 ? `SLA ${fmtLeft(left)} over` : `SLA ${fmtLeft(left)} left`;
  const which = ['first_response_due_at', 'next_response_due_at', 'resolution_due_at']
    .filter((k) => sla[k] === sla.next_due_at).map((k) => TARGETS[k.replace('_due_at', '')]);
  return h('span', { class: `badge sla sla-${state}`, 'data-testid': 'sla-badge', 'data-state': state,
                     title: `${which.join(', ') || 'target'} due ${due}${(sla.breached || []).length
                       ? ` · missed: ${sla.breached.map((t) => TARGETS[t] || t).join(', ')}` : ''}` }, text);
}

export function snoozeBadge(conv) {
  if (conv.status !== 'snoozed' || !conv.snoozed_until) return null;
  return h('span', { class: 'badge snoozed', 'data-testid': 'snoozed-until', title: fmtDateTime(conv.snoozed_until) },
    `wakes ${fmtDateTime(conv.snoozed_until)}`);
}

/** A datetime-local value (the browser's zone) as ISO 8601 with its offset. */
function localToIso(value) {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The conversation header's snooze control: presets, or a date and time. `onDone(updated)`. */
export function snoozeControl(conv, onDone) {
  const select = h('select', { 'data-testid': 'snooze-select', 'aria-label': 'Snooze' },
    h('option', { value: '' }, conv.status === 'snoozed' ? 'Snooze again…' : 'Snooze…'),
    SNOOZE_PRESETS.map(([value, text]) => h('option', { value }, text)),
    h('option', { value: 'date' }, 'A date…'));
  const when = h('input', { type: 'datetime-local', 'data-testid': 'snooze-date', 'aria-label': 'Snooze until', hidden: true });
  const go = h('button', { type: 'button', class: 'small', 'data-testid': 'snooze-date-apply', hidden: true }, 'Snooze');
  async function snooze(body) {
    select.disabled = true;
    try {
      const updated = await api.snooze(conv.id, body);
      toast(`Snoozed until ${fmtDateTime(updated.snoozed_until)}.`);
      onDone(updated);
    } catch (err) {
      toast(errorText(err, 'Snoozing'), 'error');
    } finally {
      select.disabled = false;
      select.value = '';
    }
  }
  select.addEventListener('change', () => {
    const choice = select.value;
    when.hidden = go.hidden = choice !== 'date';
    if (choice === 'date') when.focus();
    else if (choice) snooze({ preset: choice });
  });
  go.addEventListener('click', () => {
    const until = localToIso(when.value);
    if (!until) {
      toast('Pick a date and time first.', 'error');
      return;
    }
    snooze({ until });
  });
  return h('span', { class: 'snooze-control' }, select, when, go);
}

export function prioritySelect(conv, onDone) {
  const select = h('select', { 'data-testid': 'priority-select', 'aria-label': 'Priority' },
    PRIORITIES.map(([value, text]) => h('option', { value, selected: (conv.priority || 'normal') === value }, `${text} priority`)));
  select.value = conv.priority || 'normal';
  select.addEventListener('change', async () => {
    select.disabled = true;
    try {
      onDone(await api.priority(conv.id, select.value));
    } catch (err) {
      toast(errorText(err, 'Setting the priority'), 'error');
      select.value = conv.priority || 'normal';
    } finally {
      select.disabled = false;
    }
  });
  return select;
}

// ---- custom attributes -------------------------------------------------------------------------
let definitionsCache = null;

/** The attribute definitions (read once per minute at most). */
export async function attributeDefinitions(fresh = false) {
  if (fresh || !definitionsCache || Date.now() - definitionsCache.at > 60_000) {
    const r = await api.attributes();
    definitionsCache = { at: Date.now(), items: r.items || [] };
  }
  return definitionsCache.items;
}

function showValue(definition, value) {
  if (value === null || value === undefined || value === '') return '–';
  if (definition.type === 'checkbox') return value ? 'Yes' : 'No';
  return String(value);
}

function input(definition, value, id) {
  const attrs = { id, name: definition.key, 'data-testid': `attr-${definition.key}` };
  if (definition.type === 'checkbox') return h('input', { ...attrs, type: 'checkbox', checked: !!value });
  if (definition.type === 'list') {
    const el = h('select', attrs, h('option', { value: '' }, '–'),
      (definition.options || []).map((o) => h('option', { value: o, selected: value === o }, o)));
    el.value = value ?? '';
    return el;
  }
  const type = definition.type === 'number' ? 'number' : definition.type === 'date' ? 'date' : 'text';
  return h('input', { ...attrs, type, value: value ?? '', step: definition.type === 'number' ? 'any' : null,
                      maxlength: definition.type === 'text' ? '1000' : null });
}

function read(definition, el) {
  if (definition.type === 'checkbox') return el.checked;
  const v = el.value.trim();
  if (v === '') return null;
  return definition.type === 'number' ? Number(v) : v;
}

/**
 * The attributes of one record (a conversation or a contact) as a list, with an Edit form. `save(values)` stores
 * the changed ones (null removes one) and resolves with the record as it is now.
 */
export function attributesSection({ appliesTo, values, save, testid }) {
  const root = h('div', { class: 'attributes', 'data-testid': testid });
  let current = { ...(values || {}) };
  let definitions = [];

  function show() {
    const mine = definitions.filter((d) => d.applies_to === appliesTo);
    if (!mine.length) {
      replace(root, h('p', { class: 'muted small-print' }, 'No custom attributes defined (admins add them in Settings).'));
      return;
    }
    const edit = h('button', { type: 'button', class: 'small', 'data-testid': `${testid}-edit`, onclick: () => form(mine) }, 'Edit');
    replace(root, h('dl', { class: 'facts' }, mine.map((d) => [h('dt', {}, d.label),
      h('dd', { 'data-testid': `${testid}-value-${d.key}` }, showValue(d, current[d.key]))])), edit);
  }

  function form(mine) {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const fields = mine.map((d, i) => ({ d, el: input(d, current[d.key], `${testid}-${i}`) }));
    const el = h('form', { class: 'contact-form', 'data-testid': `${testid}-form` },
      fields.map(({ d, el: control }) => (d.type === 'checkbox'
        ? h('div', { class: 'check' }, control, h('label', { for: control.id }, d.label))
        : [h('label', { for: control.id }, d.label), control])),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary small', 'data-testid': `${testid}-save` }, 'Save'),
        h('button', { type: 'button', class: 'small', onclick: () => show() }, 'Cancel')),
      error);
    el.addEventListener('submit', async (e) => {
      e.preventDefault();
      const changed = {};
      for (const { d, el: control } of fields) {
        const v = read(d, control);
        if (d.type === 'number' && v !== null && !Number.isFinite(v)) {
          error.textContent = `${d.label} must be a number.`;
          return;
        }
        if ((current[d.key] ?? null) !== v) changed[d.key] = v;
      }
      if (!Object.keys(changed).length) {
        show();
        return;
      }
      try {
        const saved = await save(changed);
        current = { ...((saved && saved.attributes) || { ...current, ...changed }) };
        toast('Attributes saved.');
        show();
      } catch (err) {
        error.textContent = errorText(err, 'Saving');
      }
    });
    replace(root, el);
    const first = el.querySelector('input, select');
    if (first) first.focus();
  }

  attributeDefinitions().then((items) => { definitions = items; show(); })
    .catch((err) => replace(root, h('p', { class: 'muted' }, errorText(err, 'Custom attributes'))));
  return {
    root,
    update(values) {
      const next = { ...(values || {}) };
      if (JSON.stringify(next) !== JSON.stringify(current) && !root.querySelector('form')) {
        current = next;
        if (definitions.length) show();
      }
    },
  };
}

// ---- bulk actions --------------------------------------------------------------------------------
/**
 * The bar over the inbox while conversations are selected: resolve, reopen, assign to me, add a label, snooze or
 * set the priority of all of them, each with its own result. `selected()` gives the ids; `done()` after a run.
 */
export function createBulkBar({ me, selected, clear, done }) {
  const count = h('span', { class: 'bulk-count', 'data-testid': 'bulk-count' });
  const label = h('input', { type: 'text', placeholder: 'label', 'aria-label': 'Label to add', maxlength: '40',
                             'data-testid': 'bulk-label', class: 'bulk-label' });
  const snoozeSelect = h('select', { 'aria-label': 'Snooze the selected', 'data-testid': 'bulk-snooze' },
    h('option', { value: '' }, 'Snooze…'), SNOOZE_PRESETS.map(([value, text]) => h('option', { value }, text)));
  const prioritySelectEl = h('select', { 'aria-label': 'Priority of the selected', 'data-testid': 'bulk-priority' },
    h('option', { value: '' }, 'Priority…'), PRIORITIES.map(([value, text]) => h('option', { value }, text)));
  const buttons = [];
  const button = (text, testid, body) => {
    const b = h('button', { type: 'button', class: 'small', 'data-testid': testid, onclick: () => run(body()) }, text);
    buttons.push(b);
    return b;
  };
  const root = h('div', { class: 'bulk-bar', role: 'toolbar', 'aria-label': 'Selected conversations', 'data-testid': 'bulk-bar', hidden: true },
    count,
    button('Resolve', 'bulk-resolve', () => ({ action: 'resolve' })),
    button('Reopen', 'bulk-reopen', () => ({ action: 'reopen' })),
    button('Assign to me', 'bulk-assign-me', () => ({ action: 'assign', agent: me.email })),
    h('span', { class: 'bulk-group' }, label, button('Add label', 'bulk-label-add', () => {
      const text = label.value.trim().toLowerCase();
      return text ? { action: 'label', labels: [text] } : null;
    })),
    snoozeSelect, prioritySelectEl,
    h('button', { type: 'button', class: 'link', 'data-testid': 'bulk-clear', onclick: () => clear() }, 'Clear'));
  snoozeSelect.addEventListener('change', () => { if (snoozeSelect.value) run({ action: 'snooze', preset: snoozeSelect.value }); });
  prioritySelectEl.addEventListener('change', () => {
    if (prioritySelectEl.value) run({ action: 'priority', priority: prioritySelectEl.value });
  });

  async function run(body) {
    const ids = selected();
    if (!body || !ids.length) return;
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const { results } = await api.bulk({ ids, ...body });
      const failed = (results || []).filter((r) => !r.ok);
      const ok = (results || []).length - failed.length;
      toast(failed.length
        ? `${ok} done, ${failed.length} not: ${failed.map((r) => (r.error && r.error.message) || r.id).join('; ')}`
        : `${ok} conversation${ok === 1 ? '' : 's'}: ${body.action} done.`, failed.length ? 'error' : 'info');
      label.value = '';
      done(results || []);
    } catch (err) {
      toast(errorText(err, 'The bulk action'), 'error');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      snoozeSelect.value = '';
      prioritySelectEl.value = '';
    }
  }

  return {
    root,
    update(n) {
      root.hidden = n === 0;
      count.textContent = `${n} selected`;
    },
  };
}
