// Where a conversation came from (an entry link, an ad, the web page of the chat widget): a chip for agents.

import { request } from './api.js'; // issue 16: the source filter's links
import { h } from './ui.js';

/** The chip for a conversation's `source` (null when it has none). */
export function sourceChip(source) {
  if (!source) return null;
  const ad = source.ad || null;
  const label = source.label || (ad && (ad.headline || ad.id) ? `Ad: ${ad.headline || ad.id}` : null)
    || (source.page_url ? source.page_url.replace(/^https?:\/\//, '') : null) || (source.ref ? `ref ${source.ref}` : 'a link');
  const details = [
    source.link_id ? `Entry link ${source.link_id}` : null,
    source.ref ? `reference ${source.ref}` : null,
    ad && ad.id ? `${ad.kind === 'post' ? 'post' : 'ad'} ${ad.id}` : null,
    ad && ad.source_url ? ad.source_url : null,
    source.page_url ? `page ${source.page_url}` : null,
  ].filter(Boolean).join(' · ');
  return h('span', { class: 'badge source', 'data-testid': 'source-chip', title: details || label },
    h('span', { class: 'source-via', 'aria-hidden': 'true' }, 'via '), h('span', { class: 'sr-only' }, 'Source: '),
    label);
}

// reports (issue 16): the inbox's filter by source, one option per entry link (the conversations that came through it)
/** A "Source" select for the inbox's filters: `onChange(link id or '')`; the links are loaded once. */
export function sourceFilterField(filters, onChange) {
  const el = h('select', { id: 'filter-source', name: 'source', 'data-testid': 'filter-source' },
    h('option', { value: '' }, 'Any'));
  const chosen = filters.source || '';
  el.addEventListener('change', () => onChange('source', el.value));
  request('GET', '/api/links').then((r) => {
    el.append(...(r.items || []).map((link) => h('option', { value: link.id }, link.name)));
    el.value = chosen;
  }).catch(() => {}); // no links to offer (yet): "Any" only
  return h('div', { class: 'field' }, h('label', { for: 'filter-source' }, 'Source'), el);
}
