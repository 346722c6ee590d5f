// "New conversation": an agent writes to a customer first, a known contact (from the contact panel or the contact
// list) or a phone number or email address typed in. WhatsApp needs an approved template (the picker); email a
// subject; Telegram only reaches a chat that wrote to the bot before. POST /api/conversations, then the
// conversation opens.

import { api } from './api.js';
import { createTemplatePicker } from './templates.js';
import { channelName, errorText, h, toast } from './ui.js';

const CHANNELS = ['whatsapp', 'sms', 'email', 'telegram'];
const ADDRESS_HINT = {
  whatsapp: 'Phone number, international form: +44 20 7946 0958',
  sms: 'Phone number, international form: +1 415 555 0132',
  email: 'Email address: name@example.com',
  telegram: 'Telegram chat id of a chat that wrote to the bot',
};

/** A button that opens the dialog: `contact` ({id, name, display, opted_out, do_not_contact}) or none (typed in). */
export function newConversationButton({ me, contact = null, testid = 'new-conversation', label = 'New conversation',
                                        cls = 'small' }) {
  const button = h('button', { type: 'button', class: cls, 'data-testid': testid }, label);
  button.addEventListener('click', () => openNewConversation({ me, contact, opener: button }));
  return button;
}

export function openNewConversation({ me, contact = null, opener = null }) {
  const who = contact ? (contact.name || contact.display || contact.id) : '';
  const channel = h('select', { id: 'newconv-channel', 'data-testid': 'newconv-channel' },
    CHANNELS.map((c) => h('option', { value: c }, channelName(c))));
  const address = h('input', { id: 'newconv-address', 'data-testid': 'newconv-address', autocomplete: 'off',
                               required: !contact, spellcheck: false });
  const subject = h('input', { id: 'newconv-subject', 'data-testid': 'newconv-subject', maxlength: '200', autocomplete: 'off' });
  const text = h('textarea', { id: 'newconv-text', 'data-testid': 'newconv-text', rows: 4, maxlength: '10000' });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'newconv-error' });
  const consent = h('p', { class: 'notice error', 'data-testid': 'newconv-consent', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'newconv-submit' }, 'Start conversation');
  const cancel = h('button', { type: 'button', class: 'small' }, 'Cancel');
  const picker = createTemplatePicker({ me, embedded: true, contactName: contact && contact.name ? contact.name : '' });
  const addressRow = h('div', { class: 'field' }, h('label', { for: 'newconv-address' }, 'To'), address,
    h('p', { class: 'hint', id: 'newconv-address-hint' }));
  const subjectRow = h('div', { class: 'field' }, h('label', { for: 'newconv-subject' }, 'Subject'), subject);
  const textRow = h('div', { class: 'field' }, h('label', { for: 'newconv-text' }, 'Message'), text);
  const templateRow = h('div', { class: 'field' }, picker.root);
  const form = h('form', { class: 'newconv-form', method: 'dialog' },
    h('h2', { id: 'newconv-title' }, contact ? `New conversation with ${who}` : 'New conversation'),
    h('div', { class: 'field' }, h('label', { for: 'newconv-channel' }, 'Channel'), channel),
    contact ? null : addressRow, consent, subjectRow, templateRow, textRow, error,
    h('div', { class: 'buttons' }, submit, cancel));
  const dialog = h('dialog', { class: 'newconv', 'data-testid': 'newconv-dialog', 'aria-labelledby': 'newconv-title' }, form);

  function update() {
    const c = channel.value;
    address.placeholder = ADDRESS_HINT[c];
    address.type = c === 'email' ? 'email' : c === 'telegram' ? 'text' : 'tel';
    const hint = addressRow.querySelector('.hint');
    hint.textContent = c === 'telegram' ? 'Telegram bots can only write to people who wrote to them first.'
      : c === 'whatsapp' ? 'WhatsApp lets a business write first only with an approved template.' : '';
    subjectRow.hidden = c !== 'email';
    templateRow.hidden = c !== 'whatsapp';
    textRow.hidden = c === 'whatsapp';
    const reason = contact && ((contact.opted_out || []).includes(c) ? `${contact.name || 'This customer'} opted out of ${channelName(c)} messages.`
      : contact.do_not_contact ? `${contact.name || 'This customer'} is marked do not contact.` : '');
    consent.textContent = reason || '';
    consent.hidden = !reason;
    submit.disabled = !!reason;
    error.textContent = '';
  }
  channel.addEventListener('change', update);
  [address, subject, text].forEach((el) => el.addEventListener('input', () => { error.textContent = ''; }));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const c = channel.value;
    const body = { channel: c };
    if (contact) body.contact_id = contact.id;
    else {
      if (!address.value.trim()) {
        error.textContent = 'Write the phone number, email address or chat id.';
        address.focus();
        return;
      }
      body.to = { channel: c, address: address.value.trim() };
    }
    if (c === 'whatsapp') {
      const picked = picker.choice();
      if (!picked) {
        error.textContent = 'Choose a template and fill in every value.';
        return;
      }
      body.template = picked;
    } else {
      if (!text.value.trim()) {
        error.textContent = 'Write the message.';
        text.focus();
        return;
      }
      body.text = text.value.trim();
    }
    if (c === 'email') {
      if (!subject.value.trim()) {
        error.textContent = 'An email needs a subject.';
        subject.focus();
        return;
      }
      body.subject = subject.value.trim();
    }
    submit.disabled = true;
    try {
      const conv = await api.startConversation(body);
      dialog.close();
      toast(`Conversation started on ${channelName(c)}.`);
      window.location.hash = `#/c/${encodeURIComponent(conv.id)}`;
    } catch (err) {
      error.textContent = err.code === 'opted_out' ? `Not sent: ${err.message}` : errorText(err, 'Starting the conversation');
    } finally {
      submit.disabled = false;
    }
  });
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => { dialog.remove(); if (opener) opener.focus(); });
  document.body.append(dialog);
  update();
  dialog.showModal();
  (contact ? channel : address).focus();
  return dialog;
}
