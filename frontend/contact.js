// The contact panel: the customer's profile, identities across channels, past conversations, edits.

import { api } from './api.js';
import { channelBadge, errorText, fmtShort, h, replace, toast } from './ui.js';

export function createContactPanel({ contactId, conversationId, fallbackName }) {
  const body = h('div', { class: 'contact-body' }, h('p', { class: 'muted' }, 'Loading the profile…'));
  const root = h('aside', { class: 'contact-panel', id: 'contact-panel', 'data-testid': 'contact-panel',
                            'aria-labelledby': 'contact-title' },
    h('h3', { id: 'contact-title' }, 'Customer'), body);
  let contact = null;

  async function load() {
    try {
      contact = await api.contact(contactId);
      show();
    } catch (err) {
      replace(body,
        h('dl', { class: 'facts' }, h('dt', {}, 'Name'), h('dd', {}, fallbackName || 'Unknown')),
        h('p', { class: 'notice error', role: 'status' }, errorText(err, 'The contact profile')));
    }
  }

  function show() {
    const c = contact;
    const optOut = h('input', { type: 'checkbox', id: 'contact-optout', 'data-testid': 'contact-optout', checked: !!c.surveys_opt_out });
    optOut.addEventListener('change', () => save({ surveys_opt_out: optOut.checked }, optOut));
    const edit = h('button', { type: 'button', class: 'small', 'data-testid': 'contact-edit', onclick: () => editForm() }, 'Edit');
    replace(body,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Name'), h('dd', { 'data-testid': 'contact-name' }, c.name || '–'),
        h('dt', {}, 'Email'), h('dd', {}, c.email || '–'),
        h('dt', {}, 'Phone'), h('dd', {}, c.phone || '–')),
      edit,
      h('div', { class: 'check' }, optOut, h('label', { for: 'contact-optout' }, 'No satisfaction surveys')),
      h('h4', {}, 'Identities'),
      (c.identities || []).length
        ? h('ul', { class: 'identities' }, c.identities.map((i) => h('li', {}, channelBadge(i.channel), ' ', h('span', {}, i.address))))
        : h('p', { class: 'muted' }, 'None'),
      h('h4', {}, 'Conversations'),
      h('ul', { class: 'past' }, (c.conversations || []).map((cv) => h('li', {},
        cv.id === conversationId
          ? h('span', { 'aria-current': 'page' }, channelBadge(cv.channel), ` ${cv.status} · ${fmtShort(cv.updated_at)} (this one)`)
          : h('a', { href: `#/c/${encodeURIComponent(cv.id)}` }, channelBadge(cv.channel), ` ${cv.status} · ${fmtShort(cv.updated_at)}`)))));
  }

  function editForm() {
    const c = contact;
    const field = (name, label, type, value, extra = {}) => {
      const input = h('input', { id: `contact-${name}`, name, type, value: value || '', autocomplete: 'off', ...extra });
      return [h('label', { for: input.id }, label), input];
    };
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h('form', { class: 'contact-form' },
      field('name', 'Name', 'text', c.name, { maxlength: '200' }),
      field('email', 'Email', 'email', c.email),
      field('phone', 'Phone (international, +15551234567)', 'tel', c.phone, { pattern: '\\+[1-9][0-9]{6,14}' }),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary small', 'data-testid': 'contact-save' }, 'Save'),
        h('button', { type: 'button', class: 'small', onclick: () => show() }, 'Cancel')),
      error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const changes = {};
      for (const name of ['name', 'email', 'phone']) {
        const value = form.elements[name].value.trim();
        if (value && value !== (c[name] || '')) changes[name] = value;
      }
      if (changes.phone && !/^\+[1-9][0-9]{6,14}$/.test(changes.phone)) {
        error.textContent = 'Write the phone number in international form, like +15551234567.';
        return;
      }
      if (!Object.keys(changes).length) {
        show();
        return;
      }
      if (await save(changes)) show();
      else error.textContent = 'Not saved.';
    });
    replace(body, form);
    form.elements.name.focus();
  }

  async function save(changes, control) {
    try {
      contact = await api.patchContact(contactId, changes);
      toast('Contact saved.');
      if (control) show();
      return true;
    } catch (err) {
      toast(errorText(err, 'Saving the contact'), 'error');
      if (control && control.type === 'checkbox') control.checked = !control.checked;
      return false;
    }
  }

  load();
  return { root, reload: load };
}
