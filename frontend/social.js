// Instagram stories (issue 17): a message that mentions us in a story or replies to one says so, and when the
// story itself expires on Instagram (our copy, among the message's attachments, stays under retention).

import { request } from './api.js';
import { errorText, fmtDateTime, h } from './ui.js';

/** The line under a story mention or reply (null for other messages). */
export function storyView(m) {
  if (!m.story) return null;
  const what = m.story.kind === 'reply' ? 'Reply to your story' : 'Mention in their story';
  return h('p', { class: 'msg-story', 'data-testid': 'message-story' },
    m.story.url ? h('a', { href: m.story.url, target: '_blank', rel: 'noopener' }, what) : what,
    ` · on Instagram until ${fmtDateTime(m.story.expires_at)}`);
}

// Comments and mentions (issue 17): a comment conversation is a public thread under a Facebook or Instagram post.
// The post is shown above the thread; a reply is either posted on the thread for everyone to read, or sent as the
// one private message Meta allows per comment: the composer makes the choice visible before anything is sent.

const NETWORK = { messenger: 'Facebook', instagram: 'Instagram' };
/** The filename that marks the post's picture among a comment's attachments (services/comments.py). */
export const POST_PICTURE = 'post-picture';

/** The inbox row's tag for a comment conversation (null for others). */
export function commentTag(c) {
  if (c.kind !== 'comment') return null;
  return h('span', { class: 'badge comment-tag', 'data-testid': 'row-comment', title: 'A public comment thread' },
    'Comment');
}

/** The post a comment thread is under: picture, text and a link to it. */
export function postView(conv) {
  if (!conv || conv.kind !== 'comment') return null;
  const post = conv.post || {};
  const network = NETWORK[conv.channel] || 'the network';
  return h('figure', { class: 'comment-post', 'data-testid': 'comment-post' },
    post.thumbnail ? h('img', { src: post.thumbnail, alt: 'The post\u2019s picture', class: 'comment-post-thumb',
                                'data-testid': 'comment-post-thumbnail' }) : null,
    h('figcaption', {},
      h('span', { class: 'comment-post-label' }, conv.mention ? `Mentioned you in a comment on ${network}`
        : `Public comments on your ${network} post`),
      post.text ? h('p', { class: 'comment-post-text', 'data-testid': 'comment-post-text' }, post.text) : null,
      post.permalink ? h('a', { href: post.permalink, target: '_blank', rel: 'noopener noreferrer',
                                'data-testid': 'comment-post-link' }, `View the post on ${network}`) : null));
}

/** The Public / Private switch of a comment conversation's composer; `onChange(visibility)`. */
export function visibilitySwitch(onChange) {
  const root = h('div', { class: 'visibility-switch', role: 'radiogroup', 'aria-label': 'Who sees the reply',
                          'data-testid': 'visibility-switch', hidden: true });
  const options = [
    ['public', 'Public reply', 'Posted under the comment: everyone who sees the post can read it'],
    ['private', 'Private message', 'One private message to the commenter (Meta allows one per comment, within 7 days)'],
  ];
  for (const [value, label, help] of options) {
    const radio = h('input', { type: 'radio', name: 'visibility', id: `visibility-${value}`, value,
                               checked: value === 'public', 'data-testid': `visibility-${value}` });
    radio.addEventListener('change', () => onChange(value));
    root.append(h('span', { class: `visibility-option visibility-${value}`, title: help }, radio,
      h('label', { for: radio.id }, label)));
  }
  return root;
}

/** What the send button says for a visibility. */
export const SEND_LABEL = { public: 'Reply publicly', private: 'Send privately' };

/** A comment's and a reply's marks: hidden, public or private. */
export function commentMarks(m) {
  const marks = [];
  if (m.visibility) {
    marks.push(h('span', { class: `badge visibility-tag visibility-${m.visibility}`, 'data-testid': 'message-visibility' },
      m.visibility === 'public' ? 'Public reply' : 'Private message'));
  }
  if (m.direction === 'inbound' && m.comment_id && m.hidden) {
    marks.push(h('span', { class: 'badge comment-hidden', 'data-testid': 'comment-hidden' }, 'Hidden'));
  }
  return marks.length ? h('span', { class: 'comment-marks' }, ...marks) : null;
}

/** Hide / Unhide / Delete on a customer's comment; `onDone(updated message)`. */
export function moderationActions(convId, m, onDone) {
  if (m.direction !== 'inbound' || !m.comment_id || m.deleted) return null;
  const error = h('span', { class: 'form-error', role: 'alert' });
  const act = (action, label) => {
    const b = h('button', { type: 'button', class: `small link moderate-${action}`, 'data-testid': `comment-${action}` },
      label);
    b.addEventListener('click', async () => {
      if (action === 'delete' && !window.confirm('Delete this comment from the post? This cannot be undone.')) return;
      b.disabled = true;
      error.textContent = '';
      try {
        onDone(await request('POST', `/api/conversations/${encodeURIComponent(convId)}/messages/${
          encodeURIComponent(m.id)}/moderate`, { action }));
      } catch (err) {
        error.textContent = errorText(err, 'Moderating');
        b.disabled = false;
      }
    });
    return b;
  };
  return h('div', { class: 'comment-moderation', role: 'group', 'aria-label': 'Moderate this comment' },
    m.hidden ? act('unhide', 'Unhide') : act('hide', 'Hide'), act('delete', 'Delete'), error);
}
