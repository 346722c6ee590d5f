// Entry links: admins create named links per channel (wa.me, m.me, t.me, ig.me, the chat widget); everyone sees each
// link's URL, QR code (SVG on screen, PNG and SVG to download for print), the HTML snippet to paste, and the
// conversations that came through it.

import { getConfig, request } from './api.js';
import { token } from './auth.js';
import { channelBadge, channelName, contactLabel, errorText, fmtDateTime, fmtShort, h, replace, toast } from './ui.js';

const LINK_CHANNELS = ['whatsapp', 'messenger', 'telegram', 'instagram', 'webchat'];
const path = (id, rest = '') => `/api/links/${encodeURIComponent(id)}${rest}`;

/** A file of the API (the QR codes) with the bearer token: a Blob. */
async function fetchFile(p) {
  const r = await fetch(getConfig().apiUrl + p, { headers: { Authorization: `Bearer ${token()}` } });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.blob();
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} copied.`);
  } catch {
    toast(`Select the ${what.toLowerCase()} and copy it with Ctrl+C.`, 'error');
  }
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function createLinksPage({ me }) {
  const isAdmin = me.role === 'admin';
  const listEl = h('div', { class: 'link-list', 'data-testid': 'link-list' });
  const note = h('p', { class: 'page-status', role: 'status' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const name = h('input', { id: 'link-name', 'data-testid': 'link-name', required: true, maxlength: '80',
                            placeholder: 'Website header', autocomplete: 'off' });
  const channel = h('select', { id: 'link-channel', 'data-testid': 'link-channel' },
    LINK_CHANNELS.map((c) => h('option', { value: c }, channelName(c))));
  const text = h('input', { id: 'link-text', 'data-testid': 'link-text', maxlength: '500',
                            placeholder: 'Hello! I have a question about…', autocomplete: 'off' });
  const textField = h('div', { class: 'field' }, h('label', { for: 'link-text' }, 'Pre-filled message (WhatsApp)'), text);
  channel.addEventListener('change', () => { textField.hidden = channel.value !== 'whatsapp'; });
  const create = h('button', { type: 'submit', class: 'primary', 'data-testid': 'link-create' }, 'Create link');
  const form = h('form', { class: 'link-form', 'aria-labelledby': 'link-new' },
    h('h3', { id: 'link-new' }, 'New entry link'),
    h('div', { class: 'link-form-fields' },
      h('div', { class: 'field' }, h('label', { for: 'link-name' }, 'Name (agents see it as the source)'), name),
      h('div', { class: 'field' }, h('label', { for: 'link-channel' }, 'Channel'), channel),
      textField),
    create, error);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) {
      error.textContent = 'Give the link a name.';
      name.focus();
      return;
    }
    create.disabled = true;
    error.textContent = '';
    try {
      const body = { name: name.value.trim(), channel: channel.value };
      if (channel.value === 'whatsapp' && text.value.trim()) body.text = text.value.trim();
      const made = await request('POST', '/api/links', body);
      name.value = '';
      text.value = '';
      toast(`Link "${made.name}" created.`);
      await refresh();
    } catch (err) {
      error.textContent = errorText(err, 'Creating the link');
    } finally {
      create.disabled = false;
    }
  });

  function qrFigure(link) {
    const img = h('img', { class: 'qr', alt: `QR code for ${link.url}`, 'data-testid': 'link-qr', width: 164, height: 164 });
    // The QR comes with the bearer token; shown as a data: URL (the app's CSP allows data: images, not blob:).
    fetchFile(path(link.id, '/qr.svg')).then((blob) => new Promise((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.readAsDataURL(blob);
    })).then((dataUrl) => { img.src = dataUrl; }).catch(() => { img.alt = 'The QR code could not be loaded.'; });
    const png = h('button', { type: 'button', class: 'small', 'data-testid': 'link-download-png' }, 'Download PNG');
    png.addEventListener('click', async () => {
      try { download(await fetchFile(path(link.id, '/qr.png')), `${link.name.replace(/[^\w-]+/g, '-')}-qr.png`); }
      catch (err) { toast(errorText(err, 'Downloading the QR code'), 'error'); }
    });
    const svgButton = h('button', { type: 'button', class: 'small' }, 'Download SVG');
    svgButton.addEventListener('click', async () => {
      try { download(await fetchFile(path(link.id, '/qr.svg')), `${link.name.replace(/[^\w-]+/g, '-')}-qr.svg`); }
      catch (err) { toast(errorText(err, 'Downloading the QR code'), 'error'); }
    });
    return h('figure', { class: 'qr-figure' }, img, h('figcaption', {}, png, ' ', svgButton));
  }

  async function showConversations(link, box, button) {
    button.disabled = true;
    try {
      const page = await request('GET', `/api/conversations?source=${encodeURIComponent(link.id)}&limit=10`);
      replace(box, page.items.length
        ? h('ul', { class: 'link-conversations', 'aria-label': `Conversations through ${link.name}` },
          page.items.map((c) => h('li', {}, h('a', { href: `#/c/${encodeURIComponent(c.id)}` }, contactLabel(c.contact)),
            ' ', channelBadge(c.channel), ' ', h('time', { datetime: c.updated_at }, fmtShort(c.updated_at)))))
        : h('p', { class: 'muted' }, 'No conversations through this link yet.'));
    } catch (err) {
      replace(box, h('p', { class: 'notice error' }, errorText(err, 'Loading its conversations')));
    } finally {
      button.disabled = false;
    }
  }

  function card(link) {
    const snippet = h('textarea', { class: 'snippet', readonly: true, rows: 3, 'data-testid': 'link-snippet',
                                    'aria-label': `HTML snippet for ${link.name}` }, link.snippet);
    const convBox = h('div', { class: 'link-conv-box' });
    const convButton = h('button', { type: 'button', class: 'small', 'data-testid': 'link-conversations' }, 'Conversations');
    convButton.addEventListener('click', () => showConversations(link, convBox, convButton));
    const del = isAdmin ? h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete ${link.name}` }, 'Delete') : null;
    if (del) {
      del.addEventListener('click', async () => {
        if (!window.confirm(`Delete the link "${link.name}"? Conversations keep their source; new ones through it are no longer matched.`)) return;
        del.disabled = true;
        try {
          await request('DELETE', path(link.id));
          toast(`Link "${link.name}" deleted.`);
          await refresh();
        } catch (err) {
          toast(errorText(err, 'Deleting the link'), 'error');
          del.disabled = false;
        }
      });
    }
    return h('article', { class: 'link-card', 'data-testid': 'link-item', 'aria-label': link.name },
      qrFigure(link),
      h('div', { class: 'link-body' },
        h('h3', {}, link.name, ' ', channelBadge(link.channel)),
        h('p', { class: 'link-url' }, h('a', { href: link.url, target: '_blank', rel: 'noopener', 'data-testid': 'link-url' }, link.url)),
        h('p', { class: 'muted' }, `Reference ${link.ref} · created ${fmtDateTime(link.created_at)}`),
        h('div', { class: 'link-actions' },
          h('button', { type: 'button', class: 'small', 'data-testid': 'link-copy', onclick: () => copy(link.url, 'Link') }, 'Copy link'),
          h('button', { type: 'button', class: 'small', onclick: () => copy(link.snippet, 'Snippet') }, 'Copy HTML snippet'),
          convButton, del),
        h('label', { class: 'snippet-label' }, 'For a website header or an email signature:', snippet),
        convBox));
  }

  async function refresh() {
    try {
      const { items } = await request('GET', '/api/links');
      note.textContent = items.length ? '' : (isAdmin ? 'No links yet: create the first one above.' : 'No links yet.');
      note.classList.remove('error');
      replace(listEl, items.map(card));
    } catch (err) {
      note.textContent = errorText(err, 'Entry links');
      note.classList.add('error');
    }
  }

  const root = h('section', { class: 'page links-page', 'aria-labelledby': 'links-title', 'data-testid': 'links-page' },
    h('h2', { id: 'links-title' }, 'Entry links'),
    h('p', { class: 'hint' }, 'Put a link or its QR code on your website, email signature, flyers and ads. A conversation '
      + 'started through it shows the link as its source.'),
    isAdmin ? form : null, note, listEl);
  return { root, mount(container) { container.replaceChildren(root); refresh(); }, unmount() { root.remove(); } };
}
