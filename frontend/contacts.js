// The Contacts page (#/contacts, #/contacts/<id>): every contact, newest activity first, or those a search finds
// (a piece of a name, a phone number in any format, an email address, a handle); a new contact; the chosen
// contact's panel (profile, identities, conversations, merge, and for admins export and erasure).

import { api } from './api.js';
import { createContactPanel } from './contact.js';
import { contactAddress, highlighted, queryTerms } from './search.js';
import { contactLabel, errorText, fmtShort, h, replace, toast } from './ui.js';

const PAGE = 25;
const DEBOUNCE_MS = 250;

export function createContactsPage({ me }) {
  const search = h('input', { id: 'contacts-search', type: 'search', 'data-testid': 'contacts-search', autocomplete: 'off',
                              spellcheck: false, placeholder: 'Name, phone, email or handle' });
  const list = h('ul', { class: 'contact-list', 'aria-label': 'Contacts', 'data-testid': 'contact-list' });
  const status = h('p', { class: 'page-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'load-more', hidden: true, onclick: () => load(false) }, 'Load more');
  const newButton = h('button', { type: 'button', class: 'small', 'data-testid': 'contact-new',
                                  onclick: () => newForm() }, 'New contact');
  const side = h('div', { class: 'contacts-side' },
    h('p', { class: 'placeholder-text muted' }, 'Pick a contact to see their profile and conversations.'));
  const root = h('section', { class: 'page contacts-page', 'aria-labelledby': 'contacts-title' },
    h('div', { class: 'contacts-head' }, h('h2', { id: 'contacts-title' }, 'Contacts'), newButton),
    h('div', { class: 'contacts-layout' },
      h('div', { class: 'contacts-main' },
        h('form', { class: 'contacts-filter', role: 'search', onsubmit: (e) => { e.preventDefault(); restart(); } },
          h('label', { for: 'contacts-search' }, 'Find a contact'), search,
          h('p', { class: 'hint' }, 'Newest activity first. Any piece of a name, a phone number in any format, an email or a handle.')),
        list, more, status),
      side));
  let cursor = null;
  let asked = 0;
  let timer = null;
  let selected = null;

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(restart, DEBOUNCE_MS);
  });

  function restart() {
    cursor = null;
    replace(list);
    load(true);
  }

  async function load(first) {
    const q = search.value.trim();
    if (q && q.length < 2) {
      status.className = 'page-status';
      status.textContent = 'Type at least two letters or digits.';
      more.hidden = true;
      return;
    }
    const mine = ++asked;
    status.className = 'page-status';
    status.textContent = 'Loading…';
    try {
      const page = await api.contacts({ q: q || undefined, cursor: first ? undefined : cursor, limit: PAGE });
      if (mine !== asked) return;
      const terms = queryTerms(q);
      list.append(...(page.items || []).map((c) => row(c, terms)));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      status.textContent = list.children.length ? '' : q ? `No contact matches “${q}”.` : 'No contacts yet.';
      markSelected();
    } catch (err) {
      if (mine !== asked) return;
      status.className = 'page-status error';
      status.textContent = errorText(err, 'Loading contacts');
    }
  }

  function row(c, terms) {
    const link = h('a', { class: 'contact-row', href: `#/contacts/${encodeURIComponent(c.id)}`, 'data-testid': 'contact-row',
                          'data-id': c.id },
      h('span', { class: 'contact-name' }, highlighted(contactLabel(c), terms)),
      h('span', { class: 'contact-address' }, highlighted(contactAddress(c) || '–', terms)),
      c.last_activity_at ? h('time', { datetime: c.last_activity_at, title: 'Last activity' }, fmtShort(c.last_activity_at)) : null);
    return h('li', {}, link);
  }

  function markSelected() {
    for (const link of list.querySelectorAll('.contact-row')) {
      if (link.dataset.id === selected) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
    }
  }

  function showContact(id) {
    selected = id;
    markSelected();
    if (!id) {
      replace(side, h('p', { class: 'placeholder-text muted' }, 'Pick a contact to see their profile and conversations.'));
      return;
    }
    replace(side, createContactPanel({ contactId: id, conversationId: null, isAdmin: me.role === 'admin' }).root);
  }

  // An agent writes to a customer first: the contact, with an email address or a phone number (any format).
  function newForm() {
    const field = (name, label, type, extra = {}) => {
      const input = h('input', { id: `new-contact-${name}`, name, type, autocomplete: 'off', 'data-testid': `new-contact-${name}`, ...extra });
      return [h('label', { for: input.id }, label), input];
    };
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h('form', { class: 'contact-form new-contact', 'aria-labelledby': 'new-contact-title' },
      h('h3', { id: 'new-contact-title' }, 'New contact'),
      field('name', 'Name', 'text', { maxlength: '200' }),
      field('email', 'Email', 'email'),
      field('phone', 'Phone (+371 2000 0000, 00…, or a national number)', 'tel'),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary small', 'data-testid': 'new-contact-save' }, 'Create'),
        h('button', { type: 'button', class: 'small', onclick: () => showContact(selected) }, 'Cancel')),
      error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {};
      for (const name of ['name', 'email', 'phone']) {
        const value = form.elements[name].value.trim();
        if (value) body[name] = value;
      }
      if (!body.email && !body.phone) {
        error.textContent = 'Give an email address or a phone number: that is how you will reach them.';
        return;
      }
      try {
        const created = await api.createContact(body);
        toast(`Contact ${contactLabel(created)} created.`);
        search.value = '';
        restart();
        window.location.hash = `#/contacts/${encodeURIComponent(created.id)}`;
      } catch (err) {
        error.textContent = errorText(err, 'Creating the contact');
      }
    });
    replace(side, form);
    form.elements.name.focus();
  }

  function fromHash() {
    const match = /^#\/contacts\/([^/?#]+)/.exec(window.location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id !== selected) showContact(id);
  }

  return {
    mount(el) {
      el.replaceChildren(root);
      window.addEventListener('hashchange', fromHash);
      restart();
      fromHash();
    },
    unmount() {
      window.removeEventListener('hashchange', fromHash);
      clearTimeout(timer);
      asked += 1;
    },
  };
}
