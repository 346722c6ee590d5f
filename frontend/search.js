// The search box in the top bar (keys: / or Ctrl-K): contacts by a piece of their name, phone, email or handle, and
// conversations by their contact, subject, label, id or the words the customer wrote. Results as you type.

import { api } from './api.js';
import { channelBadge, contactLabel, errorText, fmtShort, h, replace, typingIn } from './ui.js';

const DEBOUNCE_MS = 200;
const MIN_CHARS = 2;

/** Case and accents ignored, as the server folds them ("Bērziņš" -> "berzins"). */
export function fold(text) {
  return String(text || '').normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** `text` as nodes, the words that start with one of `terms` (folded) in <mark>. */
export function highlighted(text, terms) {
  const wanted = terms.filter((t) => t.length >= MIN_CHARS);
  if (!wanted.length) return [text];
  const nodes = [];
  let at = 0;
  for (const match of String(text).matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = fold(match[0]);
    if (wanted.some((t) => word.startsWith(t))) {
      nodes.push(text.slice(at, match.index), h('mark', {}, match[0]));
      at = match.index + match[0].length;
    }
  }
  nodes.push(text.slice(at));
  return nodes.filter((n) => n !== '');
}

export function queryTerms(q) {
  return (fold(q).match(/[\p{L}\p{N}]+/gu) || []);
}

export function contactAddress(c) {
  return [c.phone, c.email].filter(Boolean).join(' · ');
}

export function createSearchBox() {
  const input = h('input', {
    id: 'global-search', type: 'search', 'data-testid': 'search-input', autocomplete: 'off', spellcheck: false,
    placeholder: 'Search  (/)', 'aria-label': 'Search contacts and conversations (keys: / or Ctrl-K)',
    role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'search-results', 'aria-autocomplete': 'list',
  });
  const results = h('div', { id: 'search-results', class: 'search-results', role: 'listbox', 'data-testid': 'search-results',
                             'aria-label': 'Search results', hidden: true });
  const root = h('div', { class: 'search-box', role: 'search' }, input, results);
  let timer = null;
  let asked = 0; // answers to older questions are dropped
  let options = [];
  let active = -1;

  function close() {
    results.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function open() {
    results.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  function go(option) {
    close();
    input.blur();
    window.location.hash = option.dataset.href;
  }

  function setActive(index) {
    options.forEach((o, i) => o.classList.toggle('active', i === index));
    active = index;
    if (options[index]) {
      input.setAttribute('aria-activedescendant', options[index].id);
      options[index].scrollIntoView({ block: 'nearest' });
    }
  }

  function option(kind, n, href, testid, ...children) {
    const el = h('li', { id: `search-${kind}-${n}`, role: 'option', class: 'search-option', 'data-testid': testid,
                         'data-href': href }, ...children);
    el.addEventListener('mousedown', (e) => { e.preventDefault(); go(el); }); // before the input's blur closes us
    return el;
  }

  function show(q, answer) {
    const terms = queryTerms(q);
    const contacts = (answer.contacts || []).map((c, n) => option('contact', n, `#/contacts/${encodeURIComponent(c.id)}`,
      'search-contact',
      h('span', { class: 'search-title' }, highlighted(contactLabel(c), terms)),
      h('span', { class: 'search-sub' }, highlighted(contactAddress(c) || 'Contact', terms))));
    const convs = (answer.conversations || []).map((cv, n) => option('conversation', n, `#/c/${encodeURIComponent(cv.id)}`,
      'search-conversation',
      h('span', { class: 'search-title' }, channelBadge(cv.channel), ' ', highlighted(contactLabel(cv.contact), terms), ' ',
        h('span', { class: `badge status-${cv.status}` }, cv.status),
        cv.updated_at ? h('time', { class: 'search-time', datetime: cv.updated_at }, fmtShort(cv.updated_at)) : null),
      h('span', { class: 'search-sub' }, cv.matched === 'label' ? `Label: ${(cv.labels || []).join(', ')} · ` : '',
        // a found contact's conversation: listed by when it began (its subject, if it has one)
        cv.snippet ? highlighted(cv.snippet, terms) : h('span', {}, 'Started ',
          h('time', { datetime: cv.created_at }, fmtShort(cv.created_at))))));
    options = [...contacts, ...convs];
    active = -1;
    replace(results,
      contacts.length ? [h('h3', { class: 'search-section' }, 'Contacts'), h('ul', {}, contacts)] : null,
      convs.length ? [h('h3', { class: 'search-section' }, 'Conversations'), h('ul', {}, convs)] : null,
      options.length ? null : h('p', { class: 'search-empty' }, `Nothing found for “${q}”.`),
      h('p', { class: 'search-help' }, 'A name, phone number, email, label, id or words the customer wrote · ↑↓ Enter · Esc'));
    open();
  }

  async function ask() {
    const q = input.value.trim();
    if (q.length < MIN_CHARS) {
      close();
      return;
    }
    const mine = ++asked;
    try {
      const answer = await api.search(q);
      if (mine === asked) show(q, answer);
    } catch (err) {
      if (mine !== asked) return;
      replace(results, h('p', { class: 'search-empty error', role: 'alert' }, errorText(err, 'Search')));
      open();
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(ask, DEBOUNCE_MS);
  });
  input.addEventListener('focus', () => { if (options.length && input.value.trim().length >= MIN_CHARS) open(); });
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      if (results.hidden) input.blur();
      close();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (results.hidden && options.length) open();
      if (!options.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((active + step + options.length) % options.length);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(timer);
      if (options[active]) go(options[active]);
      else if (options.length && !results.hidden) go(options[0]);
      else ask();
    }
  });

  // "/" anywhere but in a field, or Ctrl-K (Cmd-K) anywhere: to the search box.
  function shortcut(e) {
    const ctrlK = (e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k';
    const slash = e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !typingIn(e.target);
    if (!ctrlK && !slash) return;
    e.preventDefault();
    input.focus();
    input.select();
  }
  document.addEventListener('keydown', shortcut);

  return {
    root,
    focus: () => input.focus(),
    destroy: () => { document.removeEventListener('keydown', shortcut); clearTimeout(timer); },
  };
}
