// Rich replies (issue 13) in a conversation: quoted replies ("Reply" on a message, the quote above the composer and
// in the message), Retry on a failed reply, and the choices an automated message offered (the in-channel survey).

import { request } from './api.js';
import { errorText, fmtDateTime, h, replace } from './ui.js';

const conv = (id) => `/api/conversations/${encodeURIComponent(id)}`;

/** POST a reply; `replyTo` quotes one of the conversation's messages (sent as the channel's own reply to it). */
export function sendReply(convId, text, attachments, replyTo, after, visibility) {
  const body = { text };
  if (visibility) body.visibility = visibility; // issue 17: a comment conversation's public or private reply
  if (attachments && attachments.length) body.attachments = attachments;
  if (replyTo) body.reply_to = replyTo;
  if (after) body.after = after; // the live workspace (issue 15): 409 conversation_changed when the customer wrote since
  return request('POST', `${conv(convId)}/messages`, body);
}

export function retryMessage(convId, messageId) {
  return request('POST', `${conv(convId)}/messages/${encodeURIComponent(messageId)}/retry`);
}

function quoteWho(q, customer) {
  if (q.direction === 'inbound') return customer || 'Customer';
  return q.sender && !q.sender.startsWith('automation:') ? q.sender : 'Us';
}

/** The quote shown at the top of a message that quotes another (`quoted`), or a line when only the provider knows
 * what it answered (a customer quoting a message from before Switchboard). */
export function quoteView(m, customer) {
  if (m.quoted) {
    const q = m.quoted;
    return h('blockquote', { class: 'msg-quote', 'data-testid': 'message-quote', 'data-quoted-id': q.id },
      h('span', { class: 'msg-quote-who' }, `${quoteWho(q, customer)} · ${fmtDateTime(q.created_at)}`),
      h('span', { class: 'msg-quote-text' }, q.text || ''));
  }
  if (m.reply_to && m.direction === 'inbound') {
    return h('p', { class: 'msg-quote muted', 'data-testid': 'message-quote' }, 'Replying to an earlier message');
  }
  return null;
}

/** The buttons an automated message offered (the rating question asked in the channel). */
export function choicesView(m) {
  if (!m.choices || !m.choices.length) return null;
  return h('ul', { class: 'msg-choices', 'aria-label': 'Choices offered', 'data-testid': 'message-choices' },
    m.choices.map((c) => h('li', { class: 'chip' }, c.title)));
}

/** The message's actions: Reply (quote it in the composer) and, on a failed reply, Retry. */
export function messageActions(convId, m, { onQuote, onRetried }) {
  const isNote = m.type === 'note' || m.status === 'note';
  const bar = h('div', { class: 'msg-actions' });
  if (!isNote && !m.deleted) {
    bar.append(h('button', { type: 'button', class: 'link small', 'data-testid': 'message-reply',
                             'aria-label': 'Reply to this message', onclick: () => onQuote(m) }, 'Reply'));
  }
  const failedReply = m.direction === 'outbound' && m.status === 'failed' && !isNote
    && !(m.sender || '').startsWith('external:');
  if (failedReply) {
    const error = h('span', { class: 'form-error', role: 'alert' });
    const retry = h('button', { type: 'button', class: 'small', 'data-testid': 'message-retry' }, 'Retry');
    retry.addEventListener('click', async () => {
      if (retry.disabled) return; // one click, one attempt: a second click while it is on its way does nothing
      retry.disabled = true;
      retry.textContent = 'Retrying…';
      error.textContent = '';
      try {
        const updated = await retryMessage(convId, m.id);
        onRetried(updated);
      } catch (err) {
        // 409 not_failed: another click (or a colleague) retried it already; the next poll shows it queued.
        if (err.code === 'not_failed') onRetried(null);
        else {
          error.textContent = errorText(err, 'Retrying');
          retry.disabled = false;
          retry.textContent = 'Retry';
        }
      }
    });
    bar.append(retry, error);
  }
  return bar.childNodes.length ? bar : null;
}

/** The quote above the composer while a reply quotes a message, with a way to drop it. */
export function createQuoteBar(customer) {
  let quoted = null;
  const text = h('span', { class: 'quote-bar-text' });
  const cancel = h('button', { type: 'button', class: 'chip-remove', 'aria-label': 'Do not quote',
                               'data-testid': 'reply-quote-cancel' }, '×');
  const root = h('div', { class: 'quote-bar', 'data-testid': 'reply-quote', hidden: true }, text, cancel);
  cancel.addEventListener('click', () => set(null));
  function set(m) {
    quoted = m;
    root.hidden = !m;
    if (m) {
      const snippet = (m.text || m.summary || (m.attachments && m.attachments.length ? '[file]' : `[${m.type}]`)).slice(0, 140);
      replace(text, h('strong', {}, `Replying to ${m.direction === 'inbound' ? customer() : 'our message'}: `), snippet);
    }
  }
  return { root, set, id: () => (quoted ? quoted.id : null) };
}
