// One conversation: header actions (assign, labels, resolve), the messages (polled), the reply window,
// the composer with canned responses ("/" + shortcut, or the select), and the contact panel beside it.

import { api } from './api.js';
import { articleLinks, createArticlePicker } from './articles.js'; // help center
import { fillCanned, loadCanned, matchCanned } from './canned.js';
import { createContactPanel } from './contact.js';
import { inboxTag } from './inboxes.js';
import { createTemplatePicker } from './templates.js'; // templates capability
import { attributesSection, priorityBadge, prioritySelect, slaBadge, snoozeBadge, snoozeControl } from './organize.js';
import { sourceChip } from './source.js';
import { macroPicker } from './rules.js'; // issue 19: macros
import { channelBadge, contactLabel, errorText, fmtDateTime, h, replace } from './ui.js';
import { attachmentItem, conversationAttachments } from './uploads.js';
import { transcriptView, voiceActions, VOICE_NOTICE } from './voice.js'; // issue 17: voicemail
import { commentMarks, moderationActions, POST_PICTURE, postView, SEND_LABEL, storyView, visibilitySwitch } from './social.js'; // issue 17
import { choicesView, createQuoteBar, messageActions, quoteView, sendReply } from './rich_replies.js'; // issue 13
import { presenceText, pushing, setViewing, subscribe, typed } from './live.js'; // the live workspace (issue 15)
import { mentionPicker } from './mentions.js'; // issue 15

const POLL_MS = 3000;
const MAX_PAGES = 20;
const STATUS_TEXT = {
  received: 'received', queued: 'queued', sending: 'sending…', sent: 'sent', delivered: 'delivered', read: 'read',
  failed: 'failed', note: 'internal note',
};
const PANEL = 'switchboard.contactPanel';
// Sender authentication the receiving mail server could not confirm (the message's `warnings`).
const AUTH_CHECK = { dmarc: 'DMARC', spf: 'SPF', dkim: 'DKIM' };
// Mail a machine sent (`auto_submitted`): shown, never answered by automation.
const AUTOMATED_TEXT = {
  auto_replied: 'Automatic reply (out of office or similar)', auto_generated: 'Sent automatically',
  list: 'Mailing-list mail', bulk: 'Bulk mail',
};

/** "dmarc_fail" reads as "DMARC failed", "spf_unverified" as "SPF could not be checked". */
function authChecks(warnings) {
  return (warnings || []).map((w) => {
    const [check, outcome] = w.split('_');
    return `${AUTH_CHECK[check] || check.toUpperCase()} ${outcome === 'fail' ? 'failed' : 'could not be checked'}`;
  }).join(', ');
}

function authText(warnings) {
  const checks = authChecks(warnings);
  return checks ? `Sender not verified (${checks}): this mail may not come from who it says. Do not act on requests `
    + 'for payments, passwords or personal data without checking with the customer another way.' : '';
}

/** "automation:greeting" reads as "Automation (greeting)", "external:whatsapp_business_app" as "Sent from the
 * WhatsApp Business app"; an agent's email stays as it is. */
function senderName(sender) {
  if (!sender) return 'Automation';
  const m = /^automation:(.+)$/.exec(sender);
  if (m) return `Automation (${m[1].replace(/[_-]/g, ' ')})`;
  const ext = /^external:(.+)$/.exec(sender);
  return ext ? `Sent from the ${ext[1].replace(/[_-]/g, ' ').replace(/whatsapp/i, 'WhatsApp')}` : sender;
}

export function createConversation({ id, me, onChange }) {
  let conv = null;
  let timer = null;
  let lastCursor = null; // the cursor that fetched the newest page: polling re-reads from there
  let polling = false;
  let pollAgain = false; // issue 15
  let mode = 'reply';
  let visibility = 'public'; // issue 17: a comment conversation's reply, public on the thread or private
  let canned = [];
  let agents = []; // for "Assign to…", loaded once per conversation view
  let panel = null;
  let macros = null; // issue 19: the macro picker, made once per conversation view
  const messages = new Map(); // id -> {data, el}

  // ---- layout ----------------------------------------------------------------------------
  const title = h('h2', { id: 'conv-title' }, 'Loading…');
  const badges = h('span', { class: 'conv-badges' });
  const slaSlot = h('span', { class: 'sla-slot', 'data-testid': 'conv-sla' }); // refreshed with every poll
  let details = null; // the conversation's custom attributes (issue 14), made once it is loaded
  const detailsSlot = h('details', { class: 'conv-details', 'data-testid': 'conv-details' },
    h('summary', {}, 'Details (custom attributes)'));
  const subjectLine = h('p', { class: 'conv-subject', 'data-testid': 'conv-subject', hidden: true });
  const authWarning = h('p', { class: 'auth-warning conv-auth-warning', 'data-testid': 'conv-auth-warning', hidden: true });
  const assigneeText = h('span', { class: 'assignee-text' });
  const actions = h('div', { class: 'conv-actions', role: 'toolbar', 'aria-label': 'Conversation actions' });
  const labelsList = h('ul', { class: 'label-chips', 'aria-label': 'Labels' });
  const labelInput = h('input', { id: 'label-input', 'data-testid': 'label-input', maxlength: '40', autocomplete: 'off',
                                  placeholder: 'Add label', enterkeyhint: 'done' });
  const labelAdd = h('button', { type: 'submit', class: 'small', 'data-testid': 'label-add' }, 'Add');
  const labelsForm = h('form', { class: 'labels-editor', 'aria-label': 'Labels' },
    h('span', { class: 'labels-title' }, 'Labels:'), labelsList,
    h('label', { for: 'label-input', class: 'sr-only' }, 'New label'), labelInput, labelAdd);
  const actionError = h('p', { class: 'form-error', role: 'alert' });
  const pollError = h('p', { class: 'form-error' }); // not live: it would repeat every few seconds
  // issue 15: "Ann is viewing" / "Ann is typing…" (a polite live region: read when it changes)
  const livePresence = h('p', { class: 'conv-presence', 'data-testid': 'conv-presence', 'aria-live': 'polite' });
  const panelToggle = h('button', { type: 'button', class: 'small', 'data-testid': 'contact-toggle',
                                    'aria-controls': 'contact-panel', 'aria-expanded': 'false' }, 'Customer profile');

  const list = h('ol', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages',
                         'aria-busy': 'true', tabindex: '0' });
  const olderNote = h('p', { class: 'muted older', hidden: true }, 'Older messages are not shown.');
  const postSlot = h('div', { class: 'comment-post-slot' }); // issue 17: the post, at the top of a comment thread
  const scroller = h('div', { class: 'messages-scroll' }, postSlot, olderNote, list);
  const windowNotice = h('p', { class: 'reply-window', 'data-testid': 'reply-window', role: 'status' });

  const input = h('textarea', { id: 'reply-input', 'data-testid': 'reply-input', rows: 3, 'aria-autocomplete': 'list',
                                'aria-controls': 'canned-suggestions', 'aria-expanded': 'false',
                                'aria-describedby': 'reply-help', placeholder: 'Write a reply…' });
  const suggestions = h('ul', { id: 'canned-suggestions', class: 'suggestions', role: 'listbox', hidden: true,
                                'aria-label': 'Canned responses matching what you typed' });
  const cannedSelect = h('select', { id: 'canned-select', 'data-testid': 'canned-responses' },
    h('option', { value: '' }, 'Insert a canned response…'));
  const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'reply-send' }, 'Send');
  const composerError = h('p', { class: 'form-error', role: 'alert' });
  const visibilityChoice = visibilitySwitch((v) => { visibility = v; composerError.textContent = ''; updateComposer(); });
  const files = conversationAttachments(id, () => { composerError.textContent = ''; updateComposer(); }); // rich replies
  const quoteBar = createQuoteBar(() => (conv ? contactLabel(conv.contact) : 'the customer')); // a quoted reply
  const modeRadios = ['reply', 'note'].map((m) => {
    const radio = h('input', { type: 'radio', name: 'compose-mode', id: `mode-${m}`, value: m, checked: m === 'reply',
                               'data-testid': `mode-${m}` });
    radio.addEventListener('change', () => { mode = m; updateComposer(); });
    return h('span', { class: 'mode' }, radio, h('label', { for: radio.id }, m === 'reply' ? 'Reply to customer' : 'Internal note'));
  });
  // templates capability: what the customer's consent allows on this channel, said before the agent types
  const consentNotice = h('p', { class: 'reply-window closed', 'data-testid': 'opted-out-notice', role: 'status', hidden: true });
  function renderConsent() {
    const c = contactDetails;
    const channel = conv && conv.channel;
    const out = c && channel && (c.opted_out || []).includes(channel);
    consentNotice.textContent = out ? `${c.name || 'The customer'} opted out of ${channel === 'sms' ? 'SMS' : channel} `
      + 'messages (they replied STOP, or asked us): nothing can be sent here until they opt back in.' : '';
    consentNotice.hidden = !out;
  }

  // templates capability: the WhatsApp template picker, above the composer (past the window, or by choice)
  const templateToggle = h('button', { type: 'button', class: 'small', 'data-testid': 'use-template', hidden: true,
                                       'aria-expanded': 'false' }, 'Template');
  const templatePanel = h('div', { class: 'template-panel', hidden: true });
  let picker = null;
  let contactDetails = null; // the contact's profile, for canned response variables
  function showTemplates(open = true) {
    if (open && !picker) {
      picker = createTemplatePicker({ me, contactName: conv && conv.contact ? (conv.contact.name || '') : '',
        onSubmit: async (template) => {
          const m = await api.sendTemplate(id, template);
          if (m && m.id) upsert(m);
          scroller.scrollTop = scroller.scrollHeight;
          showTemplates(false);
          picker.reset();
          onChange(conv);
          [800, 2000].forEach((ms) => setTimeout(() => { if (timer) poll(); }, ms));
        } });
      templatePanel.replaceChildren(
        h('div', { class: 'template-panel-head' }, h('h3', {}, 'Send a WhatsApp template'),
          h('button', { type: 'button', class: 'small link', onclick: () => showTemplates(false) }, 'Close')),
        picker.root);
    }
    templatePanel.hidden = !open;
    // Past the window the reply box is off anyway: the picker takes its place (notes come back with Close).
    composer.hidden = open && composer.dataset.closed === 'true';
    templateToggle.setAttribute('aria-expanded', String(open));
    if (open && picker) picker.focus();
  }
  templateToggle.addEventListener('click', () => showTemplates(templatePanel.hidden));
  const articlePicker = createArticlePicker((text) => { insertAtCaret(text); input.focus(); }); // help center
  articleLinks(true); // help center: the published articles' links, ready for canned {{article.<slug>}}
  const composer = h('form', { class: 'composer', 'aria-label': 'Reply' },
    h('div', { class: 'composer-top' },
      h('div', { class: 'composer-modes', role: 'radiogroup', 'aria-label': 'Message kind' }, modeRadios),
      visibilityChoice, files.button, files.input),
    h('label', { for: 'reply-input', class: 'sr-only' }, 'Message'),
    quoteBar.root,
    h('div', { class: 'composer-input' }, input, suggestions),
    mentionPicker({ input, isNote: () => mode === 'note' }), // issue 15: @ offers the team's agents
    files.tray,
    h('div', { class: 'composer-bar' },
      h('label', { for: 'canned-select', class: 'sr-only' }, 'Canned responses'), cannedSelect,
      h('a', { href: '#/canned', class: 'manage-link' }, 'Manage'), templateToggle, articlePicker.toggle,
      h('span', { id: 'reply-help', class: 'help' }, 'Enter sends, Shift+Enter adds a line, / + shortcut inserts a canned response'),
      send),
    articlePicker.panel, composerError);

  const main = h('section', { class: 'conversation', 'aria-labelledby': 'conv-title' },
    h('header', { class: 'conv-header' },
      h('div', { class: 'conv-title-row' },
        h('a', { href: '#/inbox', class: 'back', 'aria-label': 'Back to the inbox' }, '← Inbox'), title, badges, slaSlot),
      subjectLine, authWarning,
      h('div', { class: 'conv-meta' }, assigneeText, actions),
      labelsForm, detailsSlot, actionError, pollError),
    scroller, livePresence, windowNotice, consentNotice, templatePanel, composer);
  const panelSlot = h('div', { class: 'panel-slot' });
  const root = h('div', { class: 'conversation-layout' }, main, panelSlot);

  // ---- header ----------------------------------------------------------------------------
  function button(text, testid, handler, cls = 'small') {
    const b = h('button', { type: 'button', class: cls, 'data-testid': testid }, text);
    b.addEventListener('click', async () => {
      b.disabled = true;
      actionError.textContent = '';
      try {
        await handler();
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  async function act(what, call) {
    try {
      const updated = await call();
      if (updated && updated.id) applyConversation(updated);
      onChange(conv);
      return true;
    } catch (err) {
      actionError.textContent = errorText(err, what);
      return false;
    }
  }

  /** "Assign to…": the team's other agents (those who have set their availability), to hand a conversation on. */
  function assignSelect() {
    const others = agents.filter((a) => a.email !== conv.assignee && a.email !== String(me.email).toLowerCase());
    if (!others.length) return null;
    const select = h('select', { id: 'assign-select', 'data-testid': 'assign-select', 'aria-label': 'Assign to another agent' },
      h('option', { value: '' }, 'Assign to…'),
      others.map((a) => h('option', { value: a.email },
        `${a.email}${a.available ? '' : ' (away)'} · ${a.open_count} open`)));
    select.addEventListener('change', () => {
      const agent = select.value;
      if (agent) act('Assigning', () => api.assign(id, agent));
    });
    return select;
  }

  function renderHeader() {
    title.textContent = contactLabel(conv.contact);
    replace(badges, channelBadge(conv.channel), ' ', inboxTag(conv), ' ', // the inbox's name (issue 14)
      h('span', { class: `badge status status-${conv.status}`, 'data-testid': 'conv-status' }, conv.status),
      sourceChip(conv.source), // growth: where it came from
      conv.blocked ? h('span', { class: 'badge status-blocked' }, 'blocked') : null,
      priorityBadge(conv.priority), snoozeBadge(conv),
      conv.rating ? h('span', { class: 'badge rating', 'data-testid': 'conv-rating', title: 'Customer satisfaction' },
        `rated ${conv.rating}/5`) : null,
      conv.rating_comment ? h('q', { class: 'rating-comment', 'data-testid': 'conv-rating-comment' }, conv.rating_comment) : null);
    subjectLine.textContent = conv.subject ? `Subject: ${conv.subject}` : '';
    subjectLine.hidden = !conv.subject;
    assigneeText.textContent = conv.assignee ? `Assigned to ${conv.assignee === me.email ? 'me' : conv.assignee}` : 'Unassigned';
    assigneeText.dataset.testid = 'assignee';
    const focusedTestid = document.activeElement && actions.contains(document.activeElement)
      ? document.activeElement.dataset.testid : null;
    replace(actions,
      conv.assignee !== me.email ? button('Assign to me', 'assign-me', () => act('Assigning', () => api.assign(id, me.email))) : null,
      assignSelect(),
      conv.assignee ? button('Unassign', 'unassign', () => act('Unassigning', () => api.assign(id, null))) : null,
      conv.status === 'open' ? button('Mark pending', 'pending', () => act('Marking pending', () => api.pending(id))) : null,
      prioritySelect(conv, (updated) => { applyConversation(updated); onChange(conv); }),
      conv.status !== 'resolved' ? snoozeControl(conv, (updated) => { applyConversation(updated); onChange(conv); }) : null,
      conv.status === 'snoozed' ? button('Unsnooze', 'unsnooze', () => act('Waking it', () => api.reopen(id))) : null,
      conv.status === 'resolved'
        ? button('Reopen', 'reopen', () => act('Reopening', () => api.reopen(id)))
        : button('Resolve', 'resolve', () => act('Resolving', () => api.resolve(id)), 'small primary'),
      macros || (macros = macroPicker(id, (updated) => { applyConversation(updated); onChange(conv); })), // issue 19
      panelToggle);
    if (focusedTestid) {
      const again = actions.querySelector(`[data-testid="${focusedTestid}"]`) || actions.querySelector('button');
      if (again) again.focus();
    }
    replace(labelsList, (conv.labels || []).map((label) => {
      const remove = h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove label ${label}` }, '×');
      remove.addEventListener('click', () => act('Removing the label',
        () => api.labels(id, conv.labels.filter((l) => l !== label))).then(() => labelInput.focus()));
      return h('li', { class: 'chip', 'data-testid': 'label' }, h('span', {}, label), remove);
    }));
  }

  labelsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const label = labelInput.value.trim().toLowerCase();
    if (!label) return;
    if (label.includes(',')) {
      actionError.textContent = 'A label cannot contain a comma.';
      return;
    }
    if ((conv.labels || []).includes(label)) {
      labelInput.value = '';
      return;
    }
    labelAdd.disabled = true;
    if (await act('Adding the label', () => api.labels(id, [...(conv.labels || []), label]))) labelInput.value = '';
    labelAdd.disabled = false;
    labelInput.focus();
  });

  function renderWindow() {
    let text = '';
    let closed = false;
    if (conv.blocked) {
      text = 'The customer has blocked this channel: replies cannot be delivered.';
      closed = true;
    } else if (conv.reply_window_open === false) {
      text = conv.channel === 'whatsapp'
        ? 'Window closed: the customer has to write first, or send an approved template.'
        : 'Window closed: the customer has to write first.';
      closed = true;
    } else if (conv.reply_window_closes_at) {
      text = `Replies allowed until ${fmtDateTime(conv.reply_window_closes_at)}.`;
    }
    if (conv.channel === 'voice') { text = VOICE_NOTICE; closed = true; } // issue 17: answered by text instead
    windowNotice.textContent = text;
    if (conv.channel === 'voice') windowNotice.append(' ', voiceActions({ me, conv, onResolved: (updated) => { applyConversation(updated); onChange(conv); } }));
    if (closed && !conv.blocked && conv.channel === 'whatsapp') {
      windowNotice.append(' ', h('button', { type: 'button', class: 'small primary', 'data-testid': 'open-template',
                                              onclick: () => showTemplates(true) }, 'Send a template'));
    }
    templateToggle.hidden = conv.channel !== 'whatsapp';
    windowNotice.hidden = !text;
    windowNotice.classList.toggle('closed', closed);
    composer.dataset.closed = closed ? 'true' : 'false';
    updateComposer();
  }

  function updateComposer() {
    const closed = composer.dataset.closed === 'true';
    const off = mode === 'reply' && closed;
    input.disabled = off;
    send.disabled = off || (mode === 'reply' && files.busy());
    files.button.disabled = off;
    files.button.hidden = mode === 'note'; // notes carry no files
    files.tray.hidden = mode === 'note' || !files.count();
    cannedSelect.disabled = off || !canned.length;
    const comment = conv && conv.kind === 'comment' && mode === 'reply'; // issue 17: public or private, visibly
    visibilityChoice.hidden = !comment;
    files.button.hidden = files.button.hidden || Boolean(comment); // a reply to a comment is text only
    send.textContent = mode === 'note' ? 'Add note' : comment ? SEND_LABEL[visibility] : 'Send';
    send.classList.toggle('send-public', Boolean(comment) && visibility === 'public');
    send.classList.toggle('send-private', Boolean(comment) && visibility === 'private');
    input.placeholder = off ? 'Replies are not possible now (you can still add an internal note).'
      : mode === 'note' ? 'Write an internal note (only agents see it)…'
        : comment ? (visibility === 'public' ? 'Write a public reply: everyone who sees the post can read it…'
          : 'Write a private message to the commenter (one per comment)…')
          : 'Write a reply…';
    composer.classList.toggle('note-mode', mode === 'note');
  }

  let shown = '';
  let postShown = '';
  let applied = 0; // what this view applied from its own writes: a poll that started before one of them is stale
  function applyConversation(data, fromPoll = false) {
    if (!fromPoll) applied += 1;
    conv = { ...(conv || {}), ...data };
    const postKey = JSON.stringify([conv.kind, conv.post && conv.post.id, Boolean(conv.post && conv.post.thumbnail)]);
    if (postKey !== postShown) { postShown = postKey; replace(postSlot, postView(conv)); } // issue 17
    replace(slaSlot, conv.status !== 'resolved' ? slaBadge(conv.sla) : null);
    if (details) details.update(conv.attributes);
    const key = JSON.stringify([conv.contact, conv.channel, conv.status, conv.assignee, conv.labels, conv.blocked,
                                conv.reply_window_open, conv.reply_window_closes_at, conv.subject, conv.rating,
                                conv.rating_comment, conv.inbox, conv.team, conv.priority, conv.snoozed_until,
                                conv.source]);
    if (key === shown) return;
    shown = key;
    renderHeader();
    renderWindow();
  }

  // ---- messages --------------------------------------------------------------------------
  const attachmentView = attachmentItem; // images inline, audio and video players, file chips (uploads.js)

  function messageContent(m) {
    const isNote = m.type === 'note' || m.status === 'note';
    const who = m.direction === 'inbound' ? (m.sender || (conv ? contactLabel(conv.contact) : 'Customer'))
      : m.sender === me.email ? 'You' : senderName(m.sender);
    const status = m.direction === 'outbound' && !isNote
      ? h('span', { class: `delivery delivery-${m.status}`, 'data-testid': 'delivery-status' },
        STATUS_TEXT[m.status] || m.status,
        m.status === 'failed' && m.failure_reason ? `: ${m.failure_reason}` : '')
      : null;
    return h('div', { class: 'bubble' },
      h('div', { class: 'msg-meta' },
        isNote ? h('span', { class: 'note-tag' }, 'Internal note') : null,
        h('span', { class: 'sender' }, who), ' · ',
        m.template ? h('span', { class: 'template-tag', 'data-testid': 'message-template' },
          `Template ${m.template.name}`) : null, m.template ? ' · ' : null,
        h('time', { datetime: m.created_at }, fmtDateTime(m.created_at)),
        m.edited ? ' · edited' : '', commentMarks(m)), // issue 17: public / private reply, hidden comment
      m.warnings && m.warnings.length
        ? h('p', { class: 'auth-warning', 'data-testid': 'message-auth-warning', role: 'note' }, authText(m.warnings)) : null,
      m.auto_submitted ? h('p', { class: 'msg-automated', 'data-testid': 'message-automated' },
        AUTOMATED_TEXT[m.auto_submitted] || 'Sent automatically') : null,
      m.deleted ? h('p', { class: 'msg-deleted', 'data-testid': 'message-deleted' }, 'The customer deleted this message.') : null,
      quoteView(m, conv ? contactLabel(conv.contact) : 'Customer'), // rich replies: what it quotes
      m.text ? h('p', { class: 'msg-text' }, m.text) : null,
      choicesView(m),
      m.summary ? h('p', { class: 'msg-summary', 'data-testid': 'message-summary' }, m.summary) : null,
      m.reaction ? h('p', { class: 'msg-text' }, `Reacted ${m.reaction}`) : null,
      m.location ? h('p', { class: 'location' }, h('a', { href: `geo:${m.location.latitude},${m.location.longitude}` },
        `Location: ${m.location.name || m.location.address || 'Location'} (${m.location.latitude}, ${m.location.longitude})`)) : null,
      ownAttachments(m).length ? h('ul', { class: 'attachments' }, ownAttachments(m).map(attachmentView)) : null,
      transcriptView(m), // issue 17: a voicemail's words
      storyView(m), // issue 17: the story a message mentions or answers
      status,
      messageActions(id, m, { onQuote: quote, onRetried: retried }), // rich replies: Reply, and Retry when failed
      moderationActions(id, m, (updated) => upsert(updated))); // issue 17: hide, unhide, delete a comment
  }

  /** A comment's files, without the post's picture (issue 17: shown with the post above the thread). */
  function ownAttachments(m) {
    return (m.attachments || []).filter((a) => !(m.comment_id && a.filename === POST_PICTURE));
  }

  // Rich replies: quote a message in the reply being written; a retried reply shows queued at once.
  function quote(m) {
    if (mode !== 'reply') document.getElementById('mode-reply').click();
    quoteBar.set(m);
    input.focus();
  }

  function retried(m) {
    if (m && m.id) upsert(m);
    [800, 2000].forEach((ms) => setTimeout(() => { if (timer) poll(); }, ms));
  }

  // Attachment links are presigned afresh with every read: a message whose only change is its links keeps its
  // element (an image is not fetched again every poll), and just gets the fresh links for when the old expire.
  function withoutLinks(m) {
    return m.attachments ? { ...m, attachments: m.attachments.map(({ url: _u, ...rest }) => rest) } : m;
  }

  function refreshLinks(el, m) {
    const links = el.querySelectorAll('a[data-testid="attachment"]');
    const urls = (m.attachments || []).map((a) => a.url).filter((u) => u && /^https?:\/\//i.test(u));
    links.forEach((link, i) => { if (urls[i]) link.href = urls[i]; });
  }

  function upsert(m) {
    const known = messages.get(m.id);
    const key = JSON.stringify(withoutLinks(m));
    if (known && known.key === key) {
      refreshLinks(known.el, m);
      known.data = m;
      return false;
    }
    const isNote = m.type === 'note' || m.status === 'note';
    const el = known ? known.el : h('li', { 'data-testid': 'message', 'data-id': m.id });
    el.className = `msg ${isNote ? 'note' : m.direction}${m.status === 'failed' ? ' failed' : ''}`;
    const { status: _s, failure_reason: _f, ...content } = withoutLinks(m);
    const contentKey = JSON.stringify(content);
    // A reply that fails or is retried gains or loses its Retry button (rich replies): drawn again whole.
    const delivery = known && known.contentKey === contentKey
      && (known.data.status === 'failed') === (m.status === 'failed') && el.querySelector('.delivery');
    if (delivery) {
      // Only the delivery status moved: change just that, so the live region reads out just that.
      const fresh = messageContent(m).querySelector('.delivery');
      delivery.className = fresh.className;
      delivery.textContent = fresh.textContent;
    } else {
      replace(el, messageContent(m));
    }
    if (!known) {
      // Keep time order even when a page arrives late.
      const after = [...list.children].reverse().find((li) => messages.get(li.dataset.id).data.created_at <= m.created_at);
      if (after) after.after(el);
      else list.prepend(el);
    }
    messages.set(m.id, { data: m, el, key, contentKey });
    return !known;
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  async function loadMessages() {
    const stick = nearBottom() || list.getAttribute('aria-busy') === 'true';
    let cursor = lastCursor;
    let added = 0;
    let inbound = 0;
    for (let i = 0; i < MAX_PAGES; i += 1) {
      const page = await api.messages(id, cursor);
      for (const m of page.items || []) {
        if (upsert(m)) {
          added += 1;
          if (m.direction === 'inbound') inbound += 1;
        }
      }
      lastCursor = cursor;
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
      if (i === MAX_PAGES - 1) olderNote.hidden = false;
    }
    list.setAttribute('aria-busy', 'false');
    if (added && stick) scroller.scrollTop = scroller.scrollHeight;
    renderAuthWarning();
    return inbound;
  }

  /** The header warns while the customer's latest mail failed sender authentication. */
  function renderAuthWarning() {
    let latest = null;
    for (const { data } of messages.values()) {
      if (data.direction === 'inbound' && (!latest || data.created_at > latest.created_at)) latest = data;
    }
    const checks = latest ? authChecks(latest.warnings) : '';
    const text = checks ? `The customer's latest mail failed sender verification (${checks}): it may be forged.` : '';
    if (authWarning.textContent !== text) authWarning.textContent = text;
    authWarning.hidden = !text;
  }

  async function markRead() {
    try {
      const updated = await api.read(id);
      onChange({ ...(conv || {}), ...(updated || {}), id, unread_count: 0 });
    } catch {
      // Marking read is best effort: the inbox still works without it.
    }
  }

  async function poll() {
    if (polling) pollAgain = true; // issue 15: an event during a fetch is fetched after it
    if (polling || document.visibilityState !== 'visible') return;
    polling = true;
    pollAgain = false;
    try {
      const before = applied;
      const [detail, inbound] = await Promise.all([api.conversation(id), loadMessages()]);
      if (applied === before) applyConversation(detail, true);
      else pollAgain = true; // a change of ours landed meanwhile: what this poll read may predate it
      pollError.textContent = '';
      if (inbound) markRead();
    } catch (err) {
      if (err.status === 404 && !err.routeMissing) stop();
      pollError.textContent = errorText(err, 'Refreshing');
    } finally {
      polling = false;
      if (pollAgain && timer) poll();
    }
  }

  async function start() {
    try {
      applyConversation(await api.conversation(id));
    } catch (err) {
      replace(main, h('div', { class: 'page' }, h('p', { class: 'notice error', role: 'alert' },
        err.status === 404 && !err.routeMissing ? 'This conversation does not exist (or was erased).' : errorText(err, 'Loading the conversation')),
        h('a', { href: '#/inbox' }, 'Back to the inbox')));
      return;
    }
    api.agents().then((r) => {
      agents = r.items || [];
      shown = '';
      if (conv) applyConversation({});
    }).catch(() => {}); // without the list, "Assign to me" and "Unassign" still work
    details = attributesSection({ appliesTo: 'conversation', values: conv.attributes, testid: 'conv-attributes',
      save: async (changed) => {
        const updated = await api.patchConversation(id, changed);
        applyConversation(updated);
        return updated;
      } });
    detailsSlot.append(details.root);
    const contactId = conv.contact && conv.contact.id;
    if (contactId) {
      api.contact(contactId).then((c) => { contactDetails = c; renderConsent(); }).catch(() => {});
    }
    panel = createContactPanel({ contactId, conversationId: id, fallbackName: contactLabel(conv.contact),
                                 isAdmin: me.role === 'admin', me });
    const open = sessionStorage.getItem(PANEL) !== null ? sessionStorage.getItem(PANEL) === '1'
      : window.matchMedia('(min-width: 1200px)').matches;
    setPanel(open);
    try {
      await loadMessages();
      scroller.scrollTop = scroller.scrollHeight;
      if (window.matchMedia('(max-width: 760px)').matches) composer.scrollIntoView({ block: 'end' });
    } catch (err) {
      actionError.textContent = errorText(err, 'Loading the messages');
    }
    markRead();
    timer = setInterval(() => { if (!pushing()) poll(); }, POLL_MS); // issue 15: no polling while push works
    const { items, error } = await loadCanned();
    canned = items;
    if (error) {
      replace(cannedSelect, h('option', { value: '' }, error.routeMissing ? 'Canned: not available yet' : 'Canned: failed to load'));
    } else {
      replace(cannedSelect, h('option', { value: '' }, items.length ? 'Insert a canned response…' : 'No canned responses yet'),
        items.map((c) => h('option', { value: c.id }, `/${c.shortcut} · ${c.text.slice(0, 40)}`)));
    }
    updateComposer();
  }

  function setPanel(open) {
    panelToggle.setAttribute('aria-expanded', String(open));
    panelToggle.classList.toggle('pressed', open);
    root.classList.toggle('with-panel', open);
    if (open && panel) panelSlot.replaceChildren(panel.root);
    else panelSlot.replaceChildren();
  }
  panelToggle.addEventListener('click', () => {
    const open = panelToggle.getAttribute('aria-expanded') !== 'true';
    sessionStorage.setItem(PANEL, open ? '1' : '0');
    setPanel(open);
    if (open && panel) panel.reload();
  });

  // ---- composer --------------------------------------------------------------------------
  let matches = [];
  let active = 0;

  function slashToken() {
    const before = input.value.slice(0, input.selectionStart);
    const m = before.match(/(^|\s)\/([A-Za-z0-9_-]*)$/);
    return m ? { start: before.length - m[2].length - 1, typed: m[2] } : null;
  }

  function updateSuggestions() {
    const token = mode === 'reply' || mode === 'note' ? slashToken() : null;
    matches = token && canned.length ? matchCanned(canned, token.typed).slice(0, 6) : [];
    active = Math.min(active, Math.max(0, matches.length - 1));
    suggestions.hidden = !matches.length;
    input.setAttribute('aria-expanded', String(!!matches.length));
    replace(suggestions, matches.map((c, i) => {
      const option = h('li', { id: `canned-opt-${i}`, role: 'option', 'aria-selected': String(i === active),
                               class: i === active ? 'active' : '' },
        h('code', {}, `/${c.shortcut}`), ' ', h('span', {}, c.text));
      option.addEventListener('mousedown', (e) => { e.preventDefault(); expand(c); });
      return option;
    }));
    if (matches.length) input.setAttribute('aria-activedescendant', `canned-opt-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function expand(c) {
    const token = slashToken();
    const filled = fillCanned(c.text, cannedContext());
    if (token) {
      const after = input.value.slice(input.selectionStart);
      input.value = input.value.slice(0, token.start) + filled + after;
      const caret = token.start + filled.length;
      input.setSelectionRange(caret, caret);
    } else {
      insertAtCaret(filled);
    }
    matches = [];
    updateSuggestions();
    input.focus();
  }

  function insertAtCaret(text) {
    const { selectionStart: s, selectionEnd: e, value } = input;
    const glue = s > 0 && !/\s$/.test(value.slice(0, s)) ? ' ' : '';
    input.value = value.slice(0, s) + glue + text + value.slice(e);
    const caret = s + glue.length + text.length;
    input.setSelectionRange(caret, caret);
  }

  input.addEventListener('input', () => { composerError.textContent = ''; updateSuggestions(); });
  input.addEventListener('input', () => { if (mode === 'reply' && input.value) typed(id); }); // issue 15
  input.addEventListener('click', updateSuggestions);
  input.addEventListener('blur', () => { suggestions.hidden = true; input.setAttribute('aria-expanded', 'false'); });
  input.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    if (matches.length && !suggestions.hidden) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        active = (active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
        updateSuggestions();
        return;
      }
      if ((e.key === 'Tab' && !e.shiftKey) || (e.key === 'Enter' && !e.shiftKey)) {
        e.preventDefault();
        expand(matches[active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        suggestions.hidden = true;
        input.setAttribute('aria-expanded', 'false');
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });

  cannedSelect.addEventListener('change', () => {
    const c = canned.find((x) => x.id === cannedSelect.value);
    cannedSelect.value = '';
    if (!c) return;
    input.focus();
    insertAtCaret(fillCanned(c.text, cannedContext()));
  });

  /** What canned response variables are filled with: this conversation, its customer, and me. */
  function cannedContext() {
    return { contact: { ...(conv && conv.contact ? conv.contact : {}), ...(contactDetails || {}) },
             agent: me, conversation: conv || { id }, articles: articleLinks() };
  }
  files.bind(composer, input); // drop files on the composer, paste a screenshot into the reply

  composer.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    const withFiles = mode === 'reply' && files.count() > 0;
    if (withFiles && files.busy()) {
      composerError.textContent = 'Wait for the files to finish uploading.';
      return;
    }
    if (withFiles && files.failed().length) {
      composerError.textContent = 'Remove the files that could not be uploaded first.';
      return;
    }
    if (!text && !withFiles) {
      composerError.textContent = 'Write something first.';
      input.focus();
      return;
    }
    send.disabled = true;
    composerError.textContent = '';
    try {
      const m = mode === 'note' ? await api.note(id, text)
        : await sendReply(id, text, withFiles ? files.ids() : [], quoteBar.id(), newestSeen(), // quote, and after
          conv && conv.kind === 'comment' ? visibility : null); // issue 17
      if (mode === 'reply') quoteBar.set(null);
      if (withFiles) files.clear();
      input.value = '';
      updateSuggestions();
      if (m && m.id) upsert(m);
      scroller.scrollTop = scroller.scrollHeight;
      onChange(conv);
      if (mode === 'reply') [800, 2000].forEach((ms) => setTimeout(() => { if (timer) poll(); }, ms)); // receipts come fast
    } catch (err) {
      composerError.textContent = err.code === 'opted_out' ? `Not sent: ${err.message}`
        : errorText(err, mode === 'note' ? 'Adding the note' : 'Sending');
      if (err.code === 'opted_out' && conv && conv.contact) {
        api.contact(conv.contact.id).then((c) => { contactDetails = c; renderConsent(); }).catch(() => {});
      }
      if (err.code === 'reply_window_closed' && conv && conv.channel === 'whatsapp') showTemplates(true);
      if (err.code === 'conversation_changed') { // issue 15: someone wrote meanwhile; the draft stays, shown what is new
        composerError.textContent = 'Not sent: a new message arrived while you were writing. Read it, then send again.';
        loadMessages().then(() => { scroller.scrollTop = scroller.scrollHeight; }).catch(() => {});
      }
    } finally {
      updateComposer();
      input.focus();
    }
  });

  /** The live workspace (issue 15): the newest message on screen, sent with a reply as `after`. */
  function newestSeen() {
    let newest = null;
    for (const { data } of messages.values()) if (!newest || data.created_at >= newest.created_at) newest = data;
    return newest ? newest.id : null;
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    offLive();
    setViewing(null);
    document.removeEventListener('visibilitychange', onVisible);
  }

  // ---- the live workspace (issue 15) -----------------------------------------------------------
  let liveTimer = null;
  function showPresence() {
    const text = presenceText(id);
    if (livePresence.textContent !== text) livePresence.textContent = text;
  }
  const offLive = subscribe((event) => {
    if (event.type === 'presence' || event.type === 'typing' || event.type === 'presence.tick') {
      if (!event.conversation_id || event.conversation_id === id) showPresence();
      return;
    }
    const mine = event.conversation_id === id;
    if ((mine && ['message.created', 'message.updated', 'conversation.updated'].includes(event.type))
        || event.type === 'resync') {
      clearTimeout(liveTimer);
      liveTimer = setTimeout(() => { if (timer) poll(); }, 100); // what changed, read through the API
    }
  });
  setViewing(id);
  const onVisible = () => { if (document.visibilityState === 'visible' && timer) poll(); }; // caught up when shown
  document.addEventListener('visibilitychange', onVisible);

  start();
  return {
    root,
    id,
    unmount() {
      stop();
      root.remove();
    },
    focusReply: () => input.focus(),
  };
}
