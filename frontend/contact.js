// The contact panel: the customer's profile, identities across channels, past conversations, edits, merging a
// duplicate into this contact, and (admins) the GDPR export and erasure.

import { api } from './api.js';
import { resync } from './live.js'; // issue 15: the inbox reads again after an erasure
import { newConversationButton } from './newconversation.js'; // templates capability
import { attributesSection } from './organize.js';
import { contactAddress } from './search.js';
import { channelBadge, channelName, contactLabel, errorText, fmtShort, h, replace, toast } from './ui.js';

const CONTACT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function createContactPanel({ contactId, conversationId, fallbackName, isAdmin = false, me = null }) {
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
        h('dl', { class: 'facts' }, h('dt', {}, 'Customer'), h('dd', {}, fallbackName || 'Unknown contact')),
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
        h('dt', {}, 'Phone'), h('dd', {}, c.phone || '–'),
        h('dt', {}, 'Contact id'), h('dd', {}, h('code', { 'data-testid': 'contact-id' }, c.id))),
      h('div', { class: 'buttons' }, edit,
        newConversationButton({ me, contact: c, testid: 'contact-new-conversation' })),
      h('div', { class: 'check' }, optOut, h('label', { for: 'contact-optout' }, 'No satisfaction surveys')),
      consentSection(c),
      h('h4', {}, 'Attributes'),
      attributesSection({ appliesTo: 'contact', values: c.attributes, testid: 'contact-attributes',
                          save: async (changed) => {
                            contact = await api.patchContact(contactId, { attributes: changed });
                            return contact;
                          } }).root,
      h('h4', {}, 'Identities'),
      (c.identities || []).length
        ? h('ul', { class: 'identities' }, c.identities.map((i) => h('li', {}, channelBadge(i.channel), ' ', h('span', {}, i.address))))
        : h('p', { class: 'muted' }, 'None'),
      h('h4', {}, 'Conversations'),
      h('ul', { class: 'past' }, (c.conversations || []).map((cv) => h('li', {},
        cv.id === conversationId
          ? h('span', { 'aria-current': 'page' }, channelBadge(cv.channel), ` ${cv.status} · ${fmtShort(cv.updated_at)} (this one)`)
          : h('a', { href: `#/c/${encodeURIComponent(cv.id)}` }, channelBadge(cv.channel), ` ${cv.status} · ${fmtShort(cv.updated_at)}`)))),
      mergeSection(),
      isAdmin ? privacySection() : null);
  }

  // templates capability: consent. Opted-out channels (an SMS STOP, or set here) get nothing; "do not contact"
  // gets no automated message and no conversation an agent starts.
  function consentSection(c) {
    const dnc = h('input', { type: 'checkbox', id: 'contact-dnc', 'data-testid': 'contact-dnc', checked: !!c.do_not_contact });
    dnc.addEventListener('change', () => save({ do_not_contact: dnc.checked }, dnc));
    const opted = c.opted_out || [];
    return h('div', { class: 'consent' },
      h('div', { class: 'check' }, dnc, h('label', { for: 'contact-dnc' }, 'Do not contact (no automated messages, no outreach)')),
      opted.length ? h('p', { class: 'opted-out', 'data-testid': 'contact-opted-out' },
        `Opted out of ${opted.map(channelName).join(', ')}: nothing is sent there.`, ' ',
        h('button', { type: 'button', class: 'small link', 'data-testid': 'contact-opt-in',
                      onclick: (e) => save({ opted_out: [] }, e.target) }, 'They asked to opt back in')) : null);
  }

  // The same customer known twice (a new phone, another channel): the other contact's identities and
  // conversations become this one's, and the other contact is gone. The duplicate is picked from a search (a piece
  // of its name, its phone number, email or handle), or named by its id.
  function mergeSection() {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const other = h('input', { id: 'merge-other', name: 'other', type: 'text', autocomplete: 'off', required: true,
                               placeholder: 'Name, phone, email or ct_… id', 'data-testid': 'merge-other',
                               role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'merge-candidates' });
    const candidates = h('ul', { id: 'merge-candidates', class: 'merge-candidates', role: 'listbox',
                                 'aria-label': 'Contacts found', 'data-testid': 'merge-candidates', hidden: true });
    const chosenNote = h('p', { class: 'muted merge-chosen', 'data-testid': 'merge-chosen' });
    const confirm = h('div', { class: 'confirm', hidden: true });
    let chosen = null; // the contact picked from the list
    let timer = null;
    let asked = 0;
    const form = h('form', { class: 'contact-form', 'data-testid': 'merge-form' },
      h('label', { for: 'merge-other' }, 'Find the duplicate'), other, candidates, chosenNote,
      h('button', { type: 'submit', class: 'small', 'data-testid': 'merge-start' }, 'Merge into this contact'),
      confirm, error);
    const choose = (c) => {
      chosen = c;
      other.value = contactLabel(c);
      chosenNote.textContent = `Chosen: ${contactLabel(c)}${contactAddress(c) ? ` (${contactAddress(c)})` : ''}, ${c.id}`;
      candidates.hidden = true;
      other.setAttribute('aria-expanded', 'false');
    };
    other.addEventListener('input', () => {
      chosen = null;
      chosenNote.textContent = '';
      clearTimeout(timer);
      const q = other.value.trim();
      if (q.length < 2 || CONTACT_ID.test(q) && q.startsWith('ct_')) {
        candidates.hidden = true;
        return;
      }
      timer = setTimeout(async () => {
        const mine = ++asked;
        try {
          const found = ((await api.contacts({ q, limit: 7 })).items || []).filter((c) => c.id !== contact.id);
          if (mine !== asked) return;
          replace(candidates, found.length ? found.slice(0, 6).map((c) => h('li', {},
            h('button', { type: 'button', class: 'candidate', role: 'option', 'data-testid': 'merge-candidate', onclick: () => choose(c) },
              h('span', { class: 'contact-name' }, contactLabel(c)), h('span', { class: 'muted' }, contactAddress(c) || c.id))))
            : h('li', { class: 'muted' }, 'No other contact matches.'));
          candidates.hidden = false;
          other.setAttribute('aria-expanded', 'true');
        } catch (err) {
          if (mine === asked) error.textContent = errorText(err, 'Finding contacts');
        }
      }, 250);
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      error.textContent = '';
      const typed = other.value.trim();
      const id = chosen ? chosen.id : typed;
      if (!chosen && !(CONTACT_ID.test(id) && id.startsWith('ct_'))) {
        error.textContent = 'Pick the duplicate from the list (type a piece of its name, phone or email), or paste its id.';
        return;
      }
      if (id === contact.id) {
        error.textContent = 'That is this contact.';
        return;
      }
      const name = chosen ? contactLabel(chosen) : id;
      replace(confirm,
        h('p', {}, `Merge ${name} into ${contact.name || contact.display || 'this contact'}? Its channels and conversations move here, and it is gone. This cannot be undone.`),
        h('div', { class: 'buttons' },
          h('button', { type: 'button', class: 'primary small', 'data-testid': 'merge-confirm', onclick: () => merge(id, error) }, 'Merge'),
          h('button', { type: 'button', class: 'small', onclick: () => { confirm.hidden = true; } }, 'Cancel')));
      confirm.hidden = false;
    });
    return h('details', { class: 'contact-more' }, h('summary', {}, 'Merge a duplicate'), form);
  }

  async function merge(otherId, error) {
    try {
      contact = await api.mergeContact(contactId, otherId);
      toast('Contacts merged.');
      show();
    } catch (err) {
      error.textContent = errorText(err, 'Merging');
    }
  }

  function privacySection() {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const exportButton = h('button', { type: 'button', class: 'small', 'data-testid': 'contact-export', onclick: () => exportData(error) },
      'Download their data (JSON)');
    const word = h('input', { id: 'erase-word', type: 'text', autocomplete: 'off', 'data-testid': 'erase-word' });
    const erase = h('button', { type: 'button', class: 'danger small', 'data-testid': 'contact-erase', disabled: true,
                                onclick: () => eraseAll(error, erase) }, 'Erase this contact');
    word.addEventListener('input', () => { erase.disabled = word.value.trim().toLowerCase() !== 'erase'; });
    return h('details', { class: 'contact-more', 'data-testid': 'contact-privacy' },
      h('summary', {}, 'Data protection (admins)'),
      h('p', { class: 'muted' }, 'Everything held about this customer: profile, channels, conversations, messages, survey answers.'),
      exportButton,
      h('p', { class: 'muted' }, 'Erasing deletes all of it, media included, for good. Type "erase" to confirm.'),
      h('div', { class: 'contact-form' }, h('label', { for: 'erase-word' }, 'Confirm'), word,
        h('div', { class: 'buttons' }, erase)), error);
  }

  async function exportData(error) {
    error.textContent = '';
    try {
      const data = await api.exportContact(contactId);
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const link = h('a', { href: url, download: `contact-${contactId}.json`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      error.textContent = errorText(err, 'The export');
    }
  }

  async function eraseAll(error, button) {
    error.textContent = '';
    button.disabled = true;
    try {
      await api.eraseContact(contactId);
      toast('The contact and everything of theirs was erased.');
      resync(); // no event is pushed for an erasure: the inbox reads again
      window.location.hash = '#/inbox';
    } catch (err) {
      error.textContent = errorText(err, 'Erasing');
      button.disabled = false;
    }
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
