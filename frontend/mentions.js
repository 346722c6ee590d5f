// Mentions (issue 15): typing @ in an internal note offers the team's agents (GET /api/mentionable: agents who set
// their availability, teams' members, agents with the app open); a click or Tab puts "@email " in. The note then
// notifies them (the server finds the mentions).

import { api } from './api.js';
import { h, replace } from './ui.js';

export function mentionPicker({ input, isNote }) {
  let agents = null;
  let shown = [];
  const list = h('ul', { class: 'mention-list', role: 'listbox', 'aria-label': 'Mention a colleague', hidden: true,
                         'data-testid': 'mention-suggestions' });

  function word() {
    const caret = input.selectionStart || input.value.length; // (a blurred box may report 0)
    const before = input.value.slice(0, caret);
    const m = /(^|\s)@([^\s@]*)$/.exec(before);
    return m ? { query: m[2].toLowerCase(), start: before.length - m[2].length - 1 } : null;
  }

  function hide() {
    list.hidden = true;
    shown = [];
  }

  async function update() {
    const w = isNote() ? word() : null;
    if (!w) return hide();
    if (agents === null) {
      agents = api.mentionable().then((r) => (r.items || []).map((a) => a.email)).catch(() => []);
    }
    const known = await agents;
    const now = isNote() ? word() : null; // what is typed now (the list may have taken a moment)
    if (!now || now.query !== w.query) return undefined;
    shown = known.filter((e) => e.startsWith(w.query) || e.split('@')[0].split(/[._+-]/).some((p) => p.startsWith(w.query)))
      .slice(0, 6);
    if (!shown.length) return hide();
    // mousedown on the whole option: the reply box keeps the focus and its caret
    replace(list, shown.map((email) => h('li', { role: 'option', 'data-testid': 'mention-option',
                                                 onmousedown: (e) => { e.preventDefault(); choose(email); } },
      h('button', { type: 'button', class: 'small link', tabindex: '-1' }, `@${email}`))));
    list.hidden = false;
  }

  function choose(email) {
    const w = word();
    if (!w) return hide();
    const end = input.selectionStart || input.value.length;
    input.value = `${input.value.slice(0, w.start)}@${email} ${input.value.slice(end)}`;
    const caret = w.start + email.length + 2;
    input.setSelectionRange(caret, caret);
    input.focus();
    hide();
  }

  input.addEventListener('input', update);
  input.addEventListener('keydown', (e) => {
    if (!list.hidden && e.key === 'Tab' && shown.length) {
      e.preventDefault();
      e.stopImmediatePropagation();
      choose(shown[0]);
    } else if (!list.hidden && e.key === 'Escape') {
      hide();
    }
  }, true);
  return list;
}
