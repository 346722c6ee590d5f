// Automation (issue 19), at #/automation: macros (everyone: their own, and the admins' shared ones) and, for admins,
// the rule builder (event, conditions, actions, order, on/off, latest runs). Also the conversation view's macro picker,
// which shows what a macro will do before it runs (key: m focuses it).

import { request } from './api.js';
import { errorText, fmtDateTime, h, replace, toast } from './ui.js';

const enc = encodeURIComponent;
export const rulesApi = {
  rules: () => request('GET', '/api/rules'),
  createRule: (rule) => request('POST', '/api/rules', rule),
  putRule: (id, rule) => request('PUT', `/api/rules/${enc(id)}`, rule),
  deleteRule: (id) => request('DELETE', `/api/rules/${enc(id)}`),
  runs: (id) => request('GET', `/api/rules/${enc(id)}/runs?limit=20`),
  macros: () => request('GET', '/api/macros'),
  createMacro: (macro) => request('POST', '/api/macros', macro),
  deleteMacro: (id) => request('DELETE', `/api/macros/${enc(id)}`),
  applyMacro: (convId, macroId) => request('POST', `/api/conversations/${enc(convId)}/macros/${enc(macroId)}`),
};

const EVENTS = [['message.received', 'A customer message is received'], ['conversation.created', 'A conversation is created'],
  ['conversation.status_changed', 'A conversation’s status changes'], ['conversation.idle', 'A conversation is idle']];
const FIELDS = [['channel', 'Channel'], ['inbox', 'Inbox id'], ['text', 'Message text'], ['status', 'Status'],
  ['priority', 'Priority'], ['label', 'Label'], ['contact.email', 'Contact email'],
  ['contact.email_domain', 'Contact email domain'], ['business_hours', 'Business hours (open / closed)'],
  ['assignee', 'Assignee'], ['team', 'Team']];
const OPS = [['eq', 'is'], ['neq', 'is not'], ['contains', 'contains'], ['starts_with', 'starts with'], ['in', 'is one of']];
const ACTIONS = [['assign_team', 'Assign to team'], ['assign_agent', 'Assign to agent'], ['add_label', 'Add label'],
  ['set_priority', 'Set priority'], ['send_message', 'Send a message'], ['send_canned', 'Send a canned response'],
  ['resolve', 'Resolve'], ['set_status', 'Set status'], ['snooze_minutes', 'Snooze (minutes)'],
  ['notify_email', 'Email someone']];
const MACRO_ACTIONS = ACTIONS.filter(([v]) => v !== 'notify_email');
const PRIORITIES = ['urgent', 'high', 'normal', 'low'];

let serial = 0;
const idOf = (el) => {
  el.id = el.id || `rules-${(serial += 1)}`;
  return el.id;
};
const field = (label, input) => h('div', { class: 'field' }, h('label', { for: idOf(input) }, label), input);
const options = (pairs, selected) => pairs.map(([value, text]) => h('option', { value, selected: value === selected }, text));

/** One action in words: what the app shows before a macro runs, and in the rules list. */
export function describeAction(action, context = {}) {
  const v = action.value;
  switch (action.type) {
    case 'assign_team': return `assign to team ${(context.teams || []).find((t) => t.id === v)?.name || v}`;
    case 'assign_agent': return `assign to ${v}`;
    case 'add_label': return `add label “${v}”`;
    case 'set_priority': return `set priority ${v}`;
    case 'send_message':
      if (v && v.canned_id) return `send canned “${(context.canned || []).find((c) => c.id === v.canned_id)?.shortcut || v.canned_id}”`;
      return `reply “${v && v.text && v.text.length > 60 ? `${v.text.slice(0, 60)}…` : (v && v.text) || ''}”`;
    case 'resolve': return 'resolve';
    case 'set_status': return `set status ${v}`;
    case 'snooze_minutes': return `snooze ${v} min`;
    case 'notify_email': return `email ${v}`;
    default: return action.type;
  }
}

function describeCondition(c) {
  const op = (OPS.find(([o]) => o === c.op) || [c.op, c.op])[1];
  return `${c.field} ${op} ${Array.isArray(c.value) ? c.value.join(', ') : c.value}`;
}

/** An editable list of action rows; `get()` returns the API's actions, or throws a message. */
function actionEditor(kinds, context, initial = []) {
  const list = h('ol', { class: 'rule-rows', 'data-testid': 'action-rows' });
  function row(action = { type: kinds[0][0] }) {
    const isCanned = action.type === 'send_message' && action.value && action.value.canned_id;
    const type = h('select', { 'data-testid': 'action-type', 'aria-label': 'Action' },
      options(kinds, isCanned ? 'send_canned' : action.type));
    const slot = h('span', { class: 'rule-value' });
    let input = null;
    function valueInput(kind, value) {
      if (kind === 'assign_team') {
        return h('select', { 'data-testid': 'action-value', 'aria-label': 'Team' },
          options((context.teams || []).map((t) => [t.id, t.name]), value));
      }
      if (kind === 'set_priority') return h('select', { 'data-testid': 'action-value', 'aria-label': 'Priority' }, options(PRIORITIES.map((p) => [p, p]), value));
      if (kind === 'set_status') return h('select', { 'data-testid': 'action-value', 'aria-label': 'Status' }, options(['open', 'pending', 'resolved'].map((p) => [p, p]), value));
      if (kind === 'send_canned') {
        return h('select', { 'data-testid': 'action-value', 'aria-label': 'Canned response' },
          options((context.canned || []).map((c) => [c.id, `/${c.shortcut}`]), value && value.canned_id));
      }
      if (kind === 'resolve') return null;
      const text = kind === 'send_message' ? (value && value.text) || '' : value ?? '';
      return h('input', { 'data-testid': 'action-value', 'aria-label': 'Value', value: String(text),
                          type: kind === 'snooze_minutes' ? 'number' : 'text', min: kind === 'snooze_minutes' ? '1' : null,
                          placeholder: { assign_agent: 'agent@example.com', add_label: 'label', notify_email: 'someone@example.com',
                                         send_message: 'Message text', snooze_minutes: '60' }[kind] || '' });
    }
    function setKind(kind, value) {
      input = valueInput(kind, value);
      replace(slot, input);
    }
    setKind(isCanned ? 'send_canned' : action.type, action.value);
    type.addEventListener('change', () => setKind(type.value));
    const remove = h('button', { type: 'button', class: 'small link', 'aria-label': 'Remove this action' }, 'Remove');
    const li = h('li', { 'data-testid': 'action-row' }, type, slot, remove);
    li.read = () => {
      const kind = type.value;
      const raw = input ? input.value.trim() : null;
      if (kind === 'resolve') return { type: 'resolve' };
      if (!raw) throw new Error(`“${kinds.find(([k]) => k === kind)[1]}” needs a value.`);
      if (kind === 'send_canned') return { type: 'send_message', value: { canned_id: raw } };
      if (kind === 'send_message') return { type: kind, value: { text: raw } };
      if (kind === 'snooze_minutes') return { type: kind, value: Number(raw) };
      return { type: kind, value: raw };
    };
    remove.addEventListener('click', () => li.remove());
    return li;
  }
  for (const a of initial) list.append(row(a));
  if (!initial.length) list.append(row());
  const add = h('button', { type: 'button', class: 'small', 'data-testid': 'action-add' }, '+ Action');
  add.addEventListener('click', () => list.append(row()));
  return { root: h('div', {}, list, add), get: () => [...list.children].map((li) => li.read()) };
}

function conditionEditor(context, initial = []) {
  const list = h('ol', { class: 'rule-rows', 'data-testid': 'condition-rows' });
  const fields = [...FIELDS, ...(context.attributes || []).map((a) => [`attr.${a.key}`, `Attribute: ${a.label || a.key}`])];
  function row(cond = { field: 'text', op: 'contains', value: '' }) {
    const f = h('select', { 'data-testid': 'condition-field', 'aria-label': 'Field' }, options(fields, cond.field));
    const op = h('select', { 'data-testid': 'condition-op', 'aria-label': 'Operator' }, options(OPS, cond.op));
    const value = h('input', { 'data-testid': 'condition-value', 'aria-label': 'Value', placeholder: 'value (is one of: a, b)',
                               value: Array.isArray(cond.value) ? cond.value.join(', ') : String(cond.value ?? '') });
    const remove = h('button', { type: 'button', class: 'small link', 'aria-label': 'Remove this condition' }, 'Remove');
    const li = h('li', { 'data-testid': 'condition-row' }, f, op, value, remove);
    li.read = () => ({ field: f.value, op: op.value,
                       value: op.value === 'in' ? value.value.split(',').map((s) => s.trim()).filter(Boolean) : value.value.trim() });
    remove.addEventListener('click', () => li.remove());
    return li;
  }
  for (const c of initial) list.append(row(c));
  const add = h('button', { type: 'button', class: 'small', 'data-testid': 'condition-add' }, '+ Condition');
  add.addEventListener('click', () => list.append(row()));
  return { root: h('div', {}, list, add), get: () => [...list.children].map((li) => li.read()) };
}

export function createRulesPage({ me }) {
  const admin = me.role === 'admin';
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'rules-error' });
  const macrosBody = h('div', { 'data-testid': 'macros' });
  const rulesBody = h('div', { 'data-testid': 'rules' });
  const root = h('section', { class: 'page rules-page', 'data-testid': 'rules-page', 'aria-labelledby': 'rules-title' },
    h('h2', { id: 'rules-title' }, 'Automation'), error,
    h('h3', {}, 'Macros'),
    h('p', { class: 'hint' }, 'Saved sequences of actions to apply to a conversation with one click (or the m key there).'),
    macrosBody,
    admin ? h('h3', {}, 'Rules') : null,
    admin ? h('p', { class: 'hint' }, 'When something happens, do that: rules run top to bottom, each at most once per event.') : null,
    admin ? rulesBody : null);
  let context = { teams: [], canned: [], attributes: [] };
  let alive = true;

  async function run(what, call, done) {
    error.textContent = '';
    try {
      await call();
      if (done) toast(done);
      await load();
      return true;
    } catch (err) {
      error.textContent = err instanceof Error && !err.status ? err.message : errorText(err, what);
      return false;
    }
  }

  function ruleForm(rule, onDone) {
    const name = h('input', { 'data-testid': 'rule-name', value: rule ? rule.name : '', maxlength: '100', required: true });
    const event = h('select', { 'data-testid': 'rule-event' }, options(EVENTS, rule ? rule.event : 'message.received'));
    const idleStatus = h('select', { 'data-testid': 'rule-idle-status' },
      options(['open', 'pending', 'resolved'].map((s) => [s, s]), rule ? rule.status : 'pending'));
    const idleValue = h('input', { type: 'number', min: '1', 'data-testid': 'rule-idle-value', value: '3' });
    const idleUnit = h('select', { 'data-testid': 'rule-idle-unit' }, options([['1', 'minutes'], ['60', 'hours'], ['1440', 'days']], '1440'));
    if (rule && rule.idle_minutes) {
      const unit = rule.idle_minutes % 1440 === 0 ? 1440 : rule.idle_minutes % 60 === 0 ? 60 : 1;
      idleUnit.value = String(unit);
      idleValue.value = String(rule.idle_minutes / unit);
    }
    const idle = h('div', { class: 'rule-idle', 'data-testid': 'rule-idle' }, 'in status ', idleStatus, ' for ', idleValue, idleUnit);
    const showIdle = () => { idle.hidden = event.value !== 'conversation.idle'; };
    event.addEventListener('change', showIdle);
    showIdle();
    const enabled = h('input', { type: 'checkbox', 'data-testid': 'rule-enabled', checked: rule ? rule.enabled : true });
    const conditions = conditionEditor(context, rule ? rule.conditions : []);
    const actions = actionEditor(ACTIONS, context, rule ? rule.actions : []);
    const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'rule-save' }, rule ? 'Save rule' : 'Create rule');
    const form = h('form', { class: 'rule-form', 'data-testid': 'rule-form', 'aria-label': rule ? `Edit ${rule.name}` : 'New rule' },
      field('Name', name), field('When', event), idle,
      h('fieldset', {}, h('legend', {}, 'If all of these hold'), conditions.root),
      h('fieldset', {}, h('legend', {}, 'Then'), actions.root),
      h('div', { class: 'field inline' }, enabled, h('label', { for: idOf(enabled) }, 'On')), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let body;
      try {
        body = { name: name.value.trim(), event: event.value, enabled: enabled.checked, conditions: conditions.get(),
                 actions: actions.get() };
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      if (event.value === 'conversation.idle') {
        body.status = idleStatus.value;
        body.idle_minutes = Math.round(Number(idleValue.value) * Number(idleUnit.value));
      }
      if (rule) body.position = rule.position;
      save.disabled = true;
      const ok = await run(rule ? 'Saving the rule' : 'Creating the rule',
        () => (rule ? rulesApi.putRule(rule.id, body) : rulesApi.createRule(body)), rule ? 'Rule saved.' : 'Rule created.');
      save.disabled = false;
      if (ok && onDone) onDone();
    });
    return form;
  }

  function ruleItem(rule, index, rules) {
    const runsBox = h('div', { class: 'rule-runs', 'data-testid': 'rule-runs', hidden: true });
    const toggle = h('input', { type: 'checkbox', 'data-testid': 'rule-toggle', checked: rule.enabled });
    const body = (r) => ({ name: r.name, event: r.event, enabled: r.enabled, conditions: r.conditions, actions: r.actions,
                           status: r.status, idle_minutes: r.idle_minutes, position: r.position });
    toggle.addEventListener('change', () => run('Switching the rule', () => rulesApi.putRule(rule.id, { ...body(rule), enabled: toggle.checked }),
      toggle.checked ? 'Rule on.' : 'Rule off.'));
    const move = (delta) => {
      const other = rules[index + delta];
      if (!other) return;
      run('Reordering', async () => {
        // positions are swapped (two writes; a rule's position only orders it)
        const a = rule.position === other.position ? index + delta : other.position;
        const b = rule.position === other.position ? index : rule.position;
        await rulesApi.putRule(rule.id, { ...body(rule), position: a });
        await rulesApi.putRule(other.id, { ...body(other), position: b });
      });
    };
    const up = h('button', { type: 'button', class: 'small', 'data-testid': 'rule-up', disabled: index === 0, 'aria-label': `Move ${rule.name} up` }, '↑');
    const down = h('button', { type: 'button', class: 'small', 'data-testid': 'rule-down', disabled: index === rules.length - 1,
                               'aria-label': `Move ${rule.name} down` }, '↓');
    up.addEventListener('click', () => move(-1));
    down.addEventListener('click', () => move(1));
    const showRuns = h('button', { type: 'button', class: 'small', 'data-testid': 'rule-show-runs', 'aria-expanded': 'false' }, 'Latest runs');
    showRuns.addEventListener('click', async () => {
      const open = runsBox.hidden;
      runsBox.hidden = !open;
      showRuns.setAttribute('aria-expanded', String(open));
      if (!open) return;
      replace(runsBox, h('p', { class: 'muted' }, 'Loading…'));
      try {
        const { items } = await rulesApi.runs(rule.id);
        replace(runsBox, items.length ? h('table', { class: 'runs-table' },
          h('thead', {}, h('tr', {}, ['When', 'Conversation', 'Outcome', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, items.map((r) => h('tr', { 'data-testid': 'rule-run' },
            h('td', {}, fmtDateTime(r.at)),
            h('td', {}, h('a', { href: `#/c/${enc(r.conversation_id)}` }, r.conversation_id)),
            h('td', {}, h('span', { class: `badge run-${r.outcome}`, 'data-testid': 'run-outcome' }, r.outcome)),
            h('td', {}, (r.actions || []).map((a) => h('span', { class: a.ok ? 'run-ok' : 'run-failed', title: a.message || '' },
              `${a.type}${a.ok ? ' ✓' : ` ✗ ${a.error}`} `)))))))
          : h('p', { class: 'muted' }, 'No runs yet.'));
      } catch (err) {
        replace(runsBox, h('p', { class: 'form-error' }, errorText(err, 'Loading the runs')));
      }
    });
    const editSlot = h('div', {});
    const edit = h('button', { type: 'button', class: 'small', 'data-testid': 'rule-edit' }, 'Edit');
    edit.addEventListener('click', () => replace(editSlot, editSlot.firstChild ? null : ruleForm(rule, () => replace(editSlot))));
    const remove = h('button', { type: 'button', class: 'small danger', 'data-testid': 'rule-delete' }, 'Delete');
    remove.addEventListener('click', () => {
      if (window.confirm(`Delete the rule “${rule.name}”?`)) run('Deleting the rule', () => rulesApi.deleteRule(rule.id), 'Rule deleted.');
    });
    const when = (EVENTS.find(([e]) => e === rule.event) || [rule.event, rule.event])[1]
      + (rule.event === 'conversation.idle' ? ` (${rule.status} for ${rule.idle_minutes} min)` : '');
    return h('li', { class: `rule-item${rule.enabled ? '' : ' off'}`, 'data-testid': 'rule-item' },
      h('div', { class: 'rule-head' }, h('span', { class: 'rule-order' }, String(index + 1)), up, down,
        h('strong', { 'data-testid': 'rule-title' }, rule.name),
        h('span', { class: 'rule-switch' }, toggle, h('label', { for: idOf(toggle) }, rule.enabled ? 'On' : 'Off')),
        showRuns, edit, remove),
      h('p', { class: 'rule-summary' }, h('span', { class: 'muted' }, 'When '), when,
        rule.conditions.length ? [h('span', { class: 'muted' }, ' if '), rule.conditions.map(describeCondition).join(' and ')] : null,
        h('span', { class: 'muted' }, ' → '), rule.actions.map((a) => describeAction(a, context)).join(', ')),
      editSlot, runsBox);
  }

  function macroForm() {
    const name = h('input', { 'data-testid': 'macro-name', maxlength: '100', required: true });
    const actions = actionEditor(MACRO_ACTIONS, context, [{ type: 'send_message' }]);
    const shared = admin ? h('input', { type: 'checkbox', 'data-testid': 'macro-shared', checked: true }) : null;
    const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'macro-save' }, 'Save macro');
    const form = h('form', { class: 'rule-form', 'data-testid': 'macro-form', 'aria-label': 'New macro' },
      field('Name', name), h('fieldset', {}, h('legend', {}, 'Actions, in order'), actions.root),
      shared ? h('div', { class: 'field inline' }, shared, h('label', { for: idOf(shared) }, 'Shared with every agent')) : null, save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let body;
      try {
        body = { name: name.value.trim(), actions: actions.get() };
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      if (shared) body.shared = shared.checked;
      save.disabled = true;
      await run('Saving the macro', () => rulesApi.createMacro(body), 'Macro saved.');
      save.disabled = false;
    });
    return form;
  }

  async function load() {
    const [macros, rules, teams, canned, attributes] = await Promise.all([
      rulesApi.macros(), admin ? rulesApi.rules() : { items: [] }, request('GET', '/api/teams').catch(() => ({ items: [] })),
      request('GET', '/api/canned-responses').catch(() => ({ items: [] })),
      request('GET', '/api/attributes').catch(() => ({ items: [] }))]);
    if (!alive) return;
    context = { teams: teams.items || [], canned: canned.items || [], attributes: attributes.items || [] };
    replace(macrosBody,
      macros.items.length ? h('ul', { class: 'macro-list' }, macros.items.map((m) => {
        const mine = (m.owner || '') === String(me.email).toLowerCase();
        const del = (admin || (mine && !m.shared)) ? h('button', { type: 'button', class: 'small danger', 'data-testid': 'macro-delete' }, 'Delete') : null;
        if (del) del.addEventListener('click', () => run('Deleting the macro', () => rulesApi.deleteMacro(m.id), 'Macro deleted.'));
        return h('li', { 'data-testid': 'macro-item' }, h('strong', {}, m.name), ' ',
          h('span', { class: 'badge' }, m.shared ? 'shared' : 'mine'), ' ',
          h('span', { class: 'muted' }, m.actions.map((a) => describeAction(a, context)).join(', ')), ' ', del);
      })) : h('p', { class: 'muted' }, 'No macros yet.'),
      h('details', { class: 'rule-new' }, h('summary', { 'data-testid': 'macro-new' }, 'New macro'), macroForm()));
    if (admin) {
      const items = rules.items;
      replace(rulesBody,
        items.length ? h('ol', { class: 'rule-list', 'data-testid': 'rule-list' }, items.map((r, i) => ruleItem(r, i, items)))
          : h('p', { class: 'muted' }, 'No rules yet.'),
        h('details', { class: 'rule-new' }, h('summary', { 'data-testid': 'rule-new' }, 'New rule'), ruleForm(null)));
    }
  }

  return {
    mount(el) {
      el.replaceChildren(root);
      load().catch((err) => { error.textContent = errorText(err, 'Loading automation'); });
    },
    unmount() { alive = false; root.remove(); },
  };
}

/** The conversation view's macro picker: choose, read what it will do, apply. `onDone(conversation)` after. */
export function macroPicker(convId, onDone) {
  const select = h('select', { 'data-testid': 'macro-select', 'aria-label': 'Apply a macro (m)' },
    h('option', { value: '' }, 'Macros…'));
  const preview = h('span', { class: 'macro-preview', 'data-testid': 'macro-preview', role: 'status' });
  const apply = h('button', { type: 'button', class: 'small primary', 'data-testid': 'macro-apply', hidden: true }, 'Apply');
  let macros = [];
  let context = {};
  Promise.all([rulesApi.macros(), request('GET', '/api/teams').catch(() => ({ items: [] })),
    request('GET', '/api/canned-responses').catch(() => ({ items: [] }))]).then(([m, teams, canned]) => {
    macros = m.items || [];
    context = { teams: teams.items || [], canned: canned.items || [] };
    select.append(...macros.map((x) => h('option', { value: x.id }, x.name)));
    if (!macros.length) select.hidden = true;
  }).catch(() => { select.hidden = true; });
  select.addEventListener('change', () => {
    const macro = macros.find((m) => m.id === select.value);
    preview.textContent = macro ? `Will ${macro.actions.map((a) => describeAction(a, context)).join(', then ')}.` : '';
    apply.hidden = !macro;
  });
  apply.addEventListener('click', async () => {
    const macro = macros.find((m) => m.id === select.value);
    if (!macro) return;
    apply.disabled = true;
    try {
      const result = await rulesApi.applyMacro(convId, macro.id);
      const failed = result.results.filter((r) => !r.ok);
      toast(failed.length ? `${macro.name}: ${failed.map((f) => `${f.type} failed (${f.message || f.error})`).join('; ')}`
        : `${macro.name} applied.`, failed.length ? 'error' : 'info');
      preview.textContent = '';
      select.value = '';
      apply.hidden = true;
      onDone(result.conversation);
    } catch (err) {
      toast(errorText(err, 'Applying the macro'), 'error');
    } finally {
      apply.disabled = false;
    }
  });
  return h('span', { class: 'macro-picker' }, select, apply, preview);
}
