// Voicemail (issue 17): a call's message (the recording plays through uploads.js's audio player), its transcript,
// and what the agent does instead of replying by voice: text the caller back (SMS or WhatsApp, the "New
// conversation" dialog with this contact), or mark the call called back (a note, then resolved).

import { api } from './api.js';
import { openNewConversation } from './newconversation.js';
import { errorText, h, toast } from './ui.js';

export const VOICE_NOTICE = 'A call cannot be answered by voice: text the caller back by SMS or WhatsApp, '
  + 'or mark it called back.';

const TRANSCRIPT_STATES = { pending: 'Transcribing…', failed: 'No transcript: the transcription failed' };

/** The voicemail's words, under its player, or where its transcription is (null for other messages). The words
 * arrive after the recording (Amazon Transcribe): a message.updated push makes the conversation read it again. */
export function transcriptView(m) {
  if (!m.transcript) {
    const state = TRANSCRIPT_STATES[m.transcript_status];
    return state ? h('p', { class: 'msg-transcript-status', 'data-testid': 'message-transcript-status' }, state) : null;
  }
  return h('blockquote', { class: 'msg-transcript', 'data-testid': 'message-transcript' },
    h('span', { class: 'transcript-label' }, 'Transcript'), ' ', m.transcript);
}

/** The voice conversation's two actions, beside the notice that replaces the reply box. */
export function voiceActions({ me, conv, onResolved }) {
  const text = h('button', { type: 'button', class: 'small primary', 'data-testid': 'voice-text-back' },
    'Text the caller');
  text.addEventListener('click', () => openNewConversation({ me, contact: conv.contact, opener: text }));
  const called = h('button', { type: 'button', class: 'small', 'data-testid': 'voice-called-back' },
    'Mark called back');
  called.addEventListener('click', async () => {
    called.disabled = true;
    try {
      await api.note(conv.id, `Called back by ${me.email}.`);
      const updated = await api.resolve(conv.id);
      toast('Marked called back and resolved.');
      if (onResolved && updated) onResolved(updated);
    } catch (err) {
      toast(errorText(err, 'Marking it called back'), 'error');
    } finally {
      called.disabled = false;
    }
  });
  return h('span', { class: 'voice-actions' }, text, conv.status !== 'resolved' ? called : null);
}
