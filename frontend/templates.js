// The WhatsApp template picker: the approved templates (GET /api/templates), the chosen one's body with an input
// for each variable, its header (text, or a link to the image, video or document) and buttons, and a live preview
// of what the customer will see. Used by the composer (past the 24-hour window) and by "New conversation".

import { api } from './api.js';
import { errorText, h, replace } from './ui.js';

const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

let cache = null;
export function loadTemplates(force = false) {
  if (!cache || force) {
    cache = api.templates('whatsapp')
      .then((r) => ({ items: r.items || [], syncedAt: r.synced_at, error: null }))
      .catch((error) => { cache = null; return { items: [], syncedAt: null, error }; });
  }
  return cache;
}

/** The text with each {{variable}} replaced by its value (a value still empty shows as [variable]). */
export function fillTemplate(text, values) {
  return (text || '').replace(VARIABLE, (_m, name) => (values[name] || '').trim() || `[${name}]`);
}

/**
 * createTemplatePicker({ me, onSubmit, submitLabel, contactName }) -> { root, reset(), choice(), focus() }
 * onSubmit(template) is called with {name, language, parameters} when the agent sends.
 */
export function createTemplatePicker({ me, onSubmit, submitLabel = 'Send template', contactName = '', embedded = false }) {
  let templates = [];
  let chosen = null;
  const select = h('select', { id: 'template-select', 'data-testid': 'template-select' },
    h('option', { value: '' }, 'Loading templates…'));
  const fields = h('div', { class: 'template-fields' });
  const preview = h('div', { class: 'template-preview', 'data-testid': 'template-preview', 'aria-live': 'polite' });
  const note = h('p', { class: 'hint template-note', role: 'status' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'template-error' });
  const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'template-send', disabled: true }, submitLabel);
  const sync = me && me.role === 'admin'
    ? h('button', { type: 'button', class: 'small', 'data-testid': 'template-sync' }, 'Sync from WhatsApp') : null;
  const form = h(embedded ? 'div' : 'form', { class: 'template-picker', 'data-testid': 'template-picker',
                                              'aria-label': 'WhatsApp template' },
    h('div', { class: 'template-choose' },
      h('label', { for: 'template-select' }, 'Approved WhatsApp template'), select, sync),
    note,
    h('div', { class: 'template-body' }, fields,
      h('div', { class: 'template-preview-col' }, h('h4', {}, 'What the customer sees'), preview,
        error, embedded ? null : h('div', { class: 'buttons' }, send))));

  const inputs = { header: null, body: [], buttons: [] };

  function values() {
    const v = {};
    const t = chosen;
    if (!t) return v;
    (t.parameters.body || []).forEach((p, i) => { v[p.name] = inputs.body[i] ? inputs.body[i].value : ''; });
    return v;
  }

  function headerValues() {
    const p = chosen && chosen.parameters.header;
    return p && p.format === 'text' && inputs.header ? { [p.name]: inputs.header.value } : {};
  }

  function renderPreview() {
    if (!chosen) {
      replace(preview, h('p', { class: 'muted' }, 'Choose a template to see what the customer will get.'));
      return;
    }
    const header = chosen.header;
    let headerView = null;
    if (header && header.format === 'text') {
      headerView = h('p', { class: 'tp-header' }, fillTemplate(header.text, headerValues()));
    } else if (header) {
      const link = inputs.header ? inputs.header.value.trim() : '';
      headerView = h('div', { class: `tp-media tp-${header.format}` },
        `${header.format[0].toUpperCase()}${header.format.slice(1)}: `, link || '[link]');
    }
    replace(preview, h('div', { class: 'tp-bubble' },
      headerView,
      h('p', { class: 'tp-body', 'data-testid': 'template-preview-body' }, fillTemplate(chosen.body, values())),
      chosen.footer ? h('p', { class: 'tp-footer' }, chosen.footer) : null,
      (chosen.buttons || []).length ? h('ul', { class: 'tp-buttons' }, chosen.buttons.map((b) => h('li', {},
        b.type === 'url' ? `↗ ${b.text}` : b.type === 'phone_number' ? `Call: ${b.text}` : b.text))) : null));
    send.disabled = !complete();
  }

  function complete() {
    if (!chosen) return false;
    const all = [...inputs.body, ...inputs.buttons, ...(inputs.header ? [inputs.header] : [])];
    return all.every((i) => i.value.trim());
  }

  function input(id, label, value, extra = {}) {
    const el = h('input', { id, value: value || '', autocomplete: 'off', 'data-testid': 'template-var', ...extra });
    el.addEventListener('input', () => { error.textContent = ''; renderPreview(); });
    return [h('label', { for: id }, label), el];
  }

  function choose(key) {
    chosen = templates.find((t) => `${t.name}|${t.language}` === key) || null;
    inputs.header = null;
    inputs.body = [];
    inputs.buttons = [];
    const rows = [];
    if (chosen) {
      const p = chosen.parameters || {};
      if (p.header) {
        const media = p.header.format !== 'text';
        const [label, el] = input('tpl-header', media ? `Header ${p.header.format}: https link` : `Header {{${p.header.name}}}`,
          media ? p.header.example : '', media ? { type: 'url', placeholder: 'https://…', 'data-testid': 'template-header' }
            : { placeholder: p.header.example || '', 'data-testid': 'template-header' });
        inputs.header = el;
        rows.push(h('div', { class: 'field' }, label, el));
      }
      (p.body || []).forEach((v, i) => {
        const prefill = i === 0 && /name|nombre|^1$/.test(v.name) && contactName ? contactName.split(/\s+/)[0] : '';
        const [label, el] = input(`tpl-body-${i}`, `{{${v.name}}}`, prefill, { placeholder: v.example || '' });
        inputs.body.push(el);
        rows.push(h('div', { class: 'field' }, label, el));
      });
      (p.buttons || []).forEach((b, i) => {
        const [label, el] = input(`tpl-button-${i}`, `Button ${b.index + 1} link {{${b.name}}}`, '',
          { placeholder: b.example || '' });
        inputs.buttons.push(el);
        rows.push(h('div', { class: 'field' }, label, el));
      });
      if (!rows.length) rows.push(h('p', { class: 'muted' }, 'This template has no variables.'));
    }
    replace(fields, rows);
    renderPreview();
  }

  function choice() {
    if (!chosen || !complete()) return null;
    const p = chosen.parameters || {};
    const parameters = { body: inputs.body.map((i) => i.value.trim()) };
    if (p.header) parameters.header = p.header.format === 'text' ? inputs.header.value.trim() : { link: inputs.header.value.trim() };
    if ((p.buttons || []).length) parameters.buttons = inputs.buttons.map((i) => i.value.trim());
    return { name: chosen.name, language: chosen.language, parameters };
  }

  select.addEventListener('change', () => choose(select.value));

  async function load(force = false) {
    const { items, error: err } = await loadTemplates(force);
    templates = items;
    if (err) note.textContent = errorText(err, 'Loading the templates');
    else if (!items.length) note.textContent = me && me.role === 'admin'
      ? 'No approved templates yet: sync them from WhatsApp.' : 'No approved templates yet: ask an admin to sync them.';
    else note.textContent = '';
    replace(select, h('option', { value: '' }, items.length ? 'Choose a template…' : 'No templates'),
      items.map((t) => h('option', { value: `${t.name}|${t.language}` }, `${t.name} (${t.language}) · ${t.category}`)));
    choose('');
  }

  if (sync) {
    sync.addEventListener('click', async () => {
      sync.disabled = true;
      try {
        const r = await api.syncTemplates();
        note.textContent = `Synced: ${r.templates} approved template${r.templates === 1 ? '' : 's'}.`;
        await load(true);
      } catch (err) {
        note.textContent = errorText(err, 'Syncing the templates');
      } finally {
        sync.disabled = false;
      }
    });
  }

  if (!embedded) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const picked = choice();
      if (!picked) {
        error.textContent = 'Fill in every value first.';
        return;
      }
      send.disabled = true;
      error.textContent = '';
      try {
        await onSubmit(picked);
      } catch (err) {
        error.textContent = errorText(err, 'Sending the template');
      } finally {
        send.disabled = !complete();
      }
    });
  }

  load();
  return { root: form, choice, reset: () => { select.value = ''; choose(''); }, focus: () => select.focus(),
           setError: (text) => { error.textContent = text; } };
}
