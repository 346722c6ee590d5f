// Instagram stories (issue 17): a message that mentions us in a story or replies to one says so, and when the
// story itself expires on Instagram (our copy, among the message's attachments, stays under retention).

import { fmtDateTime, h } from './ui.js';

/** The line under a story mention or reply (null for other messages). */
export function storyView(m) {
  if (!m.story) return null;
  const what = m.story.kind === 'reply' ? 'Reply to your story' : 'Mention in their story';
  return h('p', { class: 'msg-story', 'data-testid': 'message-story' },
    m.story.url ? h('a', { href: m.story.url, target: '_blank', rel: 'noopener' }, what) : what,
    ` · on Instagram until ${fmtDateTime(m.story.expires_at)}`);
}
