// Canned responses: one shared cache (the composer's "/" picker and select read it) and the management page.

import { api } from './api.js';
import { errorText, h, replace, toast } from './ui.js';

let cache = null; // Promise of {items, error}

export function loadCanned(force = false) {
  if (!cache || force) {
    cache = api.canned()
      .then((r) => ({ items: (r.items || []).slice().sort((a, b) => a.shortcut.localeCompare(b.shortcut)), error: null }))
      .catch((error) => { cache = null; return { items: [], error }; });
  }
  return cache;
}

/** Canned responses whose shortcut starts with the typed text (case-insensitive). */
export function matchCanned(items, typed) {
  const q = typed.toLowerCase();
  return items.filter((c) => c.shortcut.toLowerCase().startsWith(q));
}

export function createCannedPage() {
  const listEl = h('ul', { class: 'canned-list', 'aria-label': 'Canned responses' });
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
    h('label', { for: 'canned-text' }, 'Text'), text, add, error);

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
    replace(listEl, items.map((item) => {
      const del = h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete /${item.shortcut}` }, 'Delete');
      del.addEventListener('click', () => remove(item, del));
      return h('li', { 'data-testid': 'canned-item' },
        h('div', {}, h('code', { class: 'shortcut' }, `/${item.shortcut}`), h('p', { class: 'canned-text' }, item.text)), del);
    }));
  }

  const root = h('section', { class: 'page canned-page', 'aria-labelledby': 'canned-title' },
    h('h2', { id: 'canned-title' }, 'Canned responses'),
    h('p', { class: 'hint' }, 'Quick replies for the whole team. In a reply, type / and the shortcut, then Tab or Enter.'),
    note, listEl, form);
  return { root, mount(container) { container.replaceChildren(root); refresh(true); }, unmount() { root.remove(); } };
}
