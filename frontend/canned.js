// Canned responses: one shared cache (the composer's "/" picker and select read it) and the management page.

import { api } from './api.js';
import { errorText, h, replace, toast } from './ui.js';

let cache = null; // Promise of {items, variables, error}

export function loadCanned(force = false) {
  if (!cache || force) {
    cache = api.canned()
      .then((r) => ({ items: (r.items || []).slice().sort((a, b) => a.shortcut.localeCompare(b.shortcut)),
                      variables: r.variables || {}, error: null }))
      .catch((error) => { cache = null; return { items: [], variables: {}, error }; });
  }
  return cache;
}

const CHANNEL_TITLES = { whatsapp: 'WhatsApp', messenger: 'Messenger', instagram: 'Instagram', telegram: 'Telegram',
                         sms: 'SMS', email: 'Email', webchat: 'Web chat' };

/** "ann.lee@example.com" reads as "Ann Lee". */
export function agentName(email) {
  const local = String(email || '').split('@')[0];
  return local.split(/[._-]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}

/**
 * A canned text with its variables filled (templates capability): {{contact.name}}, {{contact.first_name}},
 * {{contact.last_name}}, {{contact.email}}, {{contact.phone}}, {{agent.name}}, {{agent.email}}, {{conversation.id}},
 * {{conversation.channel}}. A value that is not known is left out (and the space before it), never shown raw.
 * ctx: {contact: {name, display, email, phone}, agent: {email, name?}, conversation: {id, channel}}
 */
export function fillCanned(text, ctx) {
  const contact = ctx.contact || {};
  const name = (contact.name || '').trim();
  const [first, ...rest] = name.split(/\s+/);
  const values = {
    'contact.name': name || contact.display || '',
    'contact.first_name': name ? first : '',
    'contact.last_name': rest.join(' '),
    'contact.email': contact.email || '',
    'contact.phone': contact.phone || '',
    'agent.name': (ctx.agent && (ctx.agent.name || agentName(ctx.agent.email))) || '',
    'agent.email': (ctx.agent && ctx.agent.email) || '',
    'conversation.id': (ctx.conversation && ctx.conversation.id) || '',
    'conversation.channel': (ctx.conversation && CHANNEL_TITLES[ctx.conversation.channel]) || '',
  };
  // help center: {{article.<slug>}} is the article's public link (ctx.articles: slug -> URL)
  const value = (key) => values[key] || (key.startsWith('article.') ? (ctx.articles || {})[key.slice(8)] : '');
  return text.replace(/( ?)\{\{\s*([a-z0-9_.-]+)\s*\}\}/g, (_m, space, key) => (value(key) ? space + value(key) : ''));
}

/** Canned responses whose shortcut starts with the typed text (case-insensitive). */
export function matchCanned(items, typed) {
  const q = typed.toLowerCase();
  return items.filter((c) => c.shortcut.toLowerCase().startsWith(q));
}

export function createCannedPage({ me = null } = {}) {
  const listEl = h('ul', { class: 'canned-list', 'aria-label': 'Canned responses' });
  const varsEl = h('ul', { class: 'var-list' });
  const note = h('p', { class: 'page-status', role: 'status' });
  const shortcut = h('input', { id: 'canned-shortcut', 'data-testid': 'canned-shortcut', required: true, maxlength: '32',
                                pattern: '[A-Za-z0-9_-]+', autocomplete: 'off', spellcheck: false, placeholder: 'shipping' });
  const text = h('textarea', { id: 'canned-text', 'data-testid': 'canned-text', required: true, maxlength: '4000', rows: 4,
                               placeholder: 'Your parcel is on its way…' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const add = h('button', { type: 'submit', class: 'primary', 'data-testid': 'canned-add' }, 'Add canned response');
  const form = h('form', { class: 'canned-form', 'aria-labelledby': 'canned-new' },
    h('h3', { id: 'canned-new' }, 'New canned response'),
    h('label', { for: 'canned-shortcut' }, 'Shortcut (letters, digits, - and _; type /shortcut in a reply)'),
    h('div', { class: 'shortcut-input' }, h('span', { 'aria-hidden': 'true' }, '/'), shortcut),
    h('label', { for: 'canned-text' }, 'Text'), text,
    h('p', { class: 'hint canned-variables', 'data-testid': 'canned-variables' },
      'Variables, filled in when the response is inserted: {{contact.first_name}}, {{contact.name}}, {{agent.name}}, '
      + '{{conversation.id}} and more (see the list above).'), add, error);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const sc = shortcut.value.trim().replace(/^\//, '');
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(sc)) {
      error.textContent = 'The shortcut takes letters, digits, - and _ only.';
      shortcut.focus();
      return;
    }
    if (!text.value.trim()) {
      error.textContent = 'Write the text of the response.';
      text.focus();
      return;
    }
    add.disabled = true;
    error.textContent = '';
    try {
      await api.createCanned(sc, text.value.trim());
      shortcut.value = '';
      text.value = '';
      toast(`Canned response /${sc} added.`);
      await refresh(true);
      shortcut.focus();
    } catch (err) {
      error.textContent = errorText(err, 'Adding the canned response');
    } finally {
      add.disabled = false;
    }
  });

  async function remove(item, button) {
    button.disabled = true;
    try {
      await api.deleteCanned(item.id);
      toast(`Canned response /${item.shortcut} deleted.`);
      await refresh(true);
      (listEl.querySelector('button') || shortcut).focus();
    } catch (err) {
      note.textContent = errorText(err, 'Deleting the canned response');
      button.disabled = false;
    }
  }

  async function refresh(force) {
    const { items, error: err } = await loadCanned(force);
    if (err) {
      note.textContent = errorText(err, 'Canned responses');
      note.classList.add('error');
    } else {
      note.textContent = items.length ? '' : 'No canned responses yet: add the first one below.';
      note.classList.remove('error');
    }
    const { variables } = await loadCanned();
    replace(varsEl, Object.entries(variables || {}).map(([key, what]) => h('li', {}, h('code', {}, `{{${key}}}`), ` ${what}`)));
    replace(listEl, items.map((item) => {
      // Everyone sees every response; its author and admins change or delete it (the API says 403 to others).
      const mine = !me || me.role === 'admin' || String(item.created_by || '').toLowerCase() === String(me.email).toLowerCase();
      const del = h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete /${item.shortcut}` }, 'Delete');
      del.addEventListener('click', () => remove(item, del));
      const editButton = h('button', { type: 'button', class: 'small', 'data-testid': 'canned-edit',
                                       'aria-label': `Edit /${item.shortcut}` }, 'Edit');
      const li = h('li', { 'data-testid': 'canned-item' },
        h('div', {}, h('code', { class: 'shortcut' }, `/${item.shortcut}`), h('p', { class: 'canned-text' }, item.text),
          item.created_by ? h('p', { class: 'muted small' }, `by ${item.created_by}`) : null),
        mine ? h('div', { class: 'buttons' }, editButton, del) : null);
      editButton.addEventListener('click', () => editItem(li, item));
      return li;
    }));
  }

  function editItem(li, item) {
    const sc = h('input', { value: item.shortcut, maxlength: '32', pattern: '[A-Za-z0-9_-]+', 'aria-label': 'Shortcut',
                            'data-testid': 'canned-edit-shortcut' });
    const tx = h('textarea', { rows: 3, maxlength: '4000', 'aria-label': 'Text', 'data-testid': 'canned-edit-text' });
    tx.value = item.text;
    const err = h('p', { class: 'form-error', role: 'alert' });
    const save = h('button', { type: 'submit', class: 'primary small', 'data-testid': 'canned-save' }, 'Save');
    const form = h('form', { class: 'canned-edit' }, sc, tx, err,
      h('div', { class: 'buttons' }, save, h('button', { type: 'button', class: 'small', onclick: () => refresh(false) }, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const changes = {};
      if (sc.value.trim() !== item.shortcut) changes.shortcut = sc.value.trim().replace(/^\//, '');
      if (tx.value.trim() !== item.text) changes.text = tx.value.trim();
      if (!Object.keys(changes).length) { refresh(false); return; }
      save.disabled = true;
      try {
        await api.patchCanned(item.id, changes);
        toast(`Canned response /${changes.shortcut || item.shortcut} saved.`);
        await refresh(true);
      } catch (e2) {
        err.textContent = errorText(e2, 'Saving');
        save.disabled = false;
      }
    });
    li.replaceChildren(form);
    tx.focus();
  }

  const root = h('section', { class: 'page canned-page', 'aria-labelledby': 'canned-title' },
    h('h2', { id: 'canned-title' }, 'Canned responses'),
    h('p', { class: 'hint' }, 'Quick replies for the whole team. In a reply, type / and the shortcut, then Tab or Enter.'),
    note, listEl, h('details', { class: 'canned-vars' }, h('summary', {}, 'Variables a text may hold'), varsEl), form);
  return { root, mount(container) { container.replaceChildren(root); refresh(true); }, unmount() { root.remove(); } };
}
