// Files in replies (rich replies). The composer takes files from a picker, by drag and drop, or pasted (a
// screenshot); each is uploaded at once, straight from the browser to the media bucket: POST /api/uploads answers
// an S3 presigned POST, and an XMLHttpRequest posts the file there with a progress bar. The reply then names the
// upload ids. Messages show their files inline: images, audio and video players, file chips with their size.

import { api } from './api.js';
import { errorText, fmtBytes, h, replace, svg } from './ui.js';

let counter = 0;

// Icons drawn here (no icon font, no emoji: not every machine has a font for them).
function icon(kind) {
  const common = { viewBox: '0 0 24 24', width: '18', height: '18', fill: 'none', stroke: 'currentColor',
                   'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true',
                   class: `icon icon-${kind}` };
  if (kind === 'clip') {
    return svg('svg', common, svg('path', { d: 'M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 '
      + '5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48' }));
  }
  return svg('svg', common, svg('path', { d: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z' }),
    svg('path', { d: 'M14 2v6h6M8 13h8M8 17h8' }));
}

/** S3's own words from an XML error answer ("Your proposed upload exceeds the maximum allowed size"). */
function s3Message(xhr) {
  const m = /<Message>([^<]*)<\/Message>/.exec(xhr.responseText || '');
  return m ? m[1] : `the storage answered HTTP ${xhr.status}`;
}

/** POST a file to a presigned POST (`grant`: {url, fields}), reporting progress (0..1). */
export function postToBucket(grant, file, onProgress, onStart) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(grant.fields || {})) form.append(name, value);
    form.append('file', file); // last: S3 ignores fields after the file
    const xhr = new XMLHttpRequest();
    xhr.open('POST', grant.url);
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(s3Message(xhr)))));
    xhr.addEventListener('error', () => reject(new Error('the upload could not reach the storage')));
    xhr.addEventListener('abort', () => reject(new Error('cancelled')));
    if (onStart) onStart(xhr);
    xhr.send(form);
  });
}

/** A pasted image has no name of its own ("image.png"): it is called after the moment it was pasted. */
function pastedName(file) {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  const ext = (file.type.split('/')[1] || 'png').replace('jpeg', 'jpg');
  return `screenshot-${stamp}.${ext}`;
}

/**
 * The composer's files. `grant(file)` asks for an upload (the agents' app: POST /api/uploads for the conversation);
 * `onChange()` is told whenever files are added, finish or go.
 */
export function createAttachments({ grant, onChange = () => {} }) {
  const items = [];
  const input = h('input', { type: 'file', multiple: true, class: 'sr-only', id: `attach-input-${counter += 1}`,
                             'data-testid': 'attach-input', tabindex: '-1', 'aria-hidden': 'true' });
  const button = h('button', { type: 'button', class: 'small attach-button', 'data-testid': 'attach-button',
                               'aria-label': 'Attach files', title: 'Attach files (or drop them here, or paste a screenshot)' },
    icon('clip'), ' Attach');
  const tray = h('ul', { class: 'attach-tray', 'data-testid': 'attachments', 'aria-label': 'Files to send', hidden: true });

  button.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    add([...input.files]);
    input.value = '';
  });

  function render(item) {
    const image = /^image\//.test(item.file.type) && item.preview;
    const state = item.state === 'failed' ? `failed: ${item.error}`
      : item.state === 'ready' ? 'ready' : item.state === 'uploading' ? `${Math.round(item.progress * 100)}%` : 'waiting…';
    const remove = h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${item.name}`,
                                 'data-testid': 'attachment-remove' }, '×');
    remove.addEventListener('click', () => drop(item));
    replace(item.el,
      image ? h('img', { src: item.preview, alt: '', class: 'attach-thumb' }) : h('span', { class: 'attach-icon' }, icon('file')),
      h('span', { class: 'attach-info' },
        h('span', { class: 'attach-name', title: item.name }, item.name),
        h('span', { class: 'attach-meta' }, fmtBytes(item.file.size), ' · ',
          h('span', { 'data-testid': 'attachment-state' }, state)),
        item.state === 'uploading' || item.state === 'waiting'
          ? h('progress', { max: '1', value: String(item.progress), 'data-testid': 'upload-progress',
                            'aria-label': `Uploading ${item.name}` }) : null),
      remove);
    item.el.className = `attach-item attach-${item.state}`;
    item.el.dataset.state = item.state;
  }

  function show() {
    tray.hidden = !items.length;
    onChange();
  }

  async function upload(item) {
    try {
      const g = await grant(item.file, item.name);
      if (item.gone) return;
      item.state = 'uploading';
      render(item);
      await postToBucket(g, item.file, (p) => {
        item.progress = p;
        const bar = item.el.querySelector('progress');
        if (bar) bar.value = p;
        const label = item.el.querySelector('[data-testid="attachment-state"]');
        if (label) label.textContent = `${Math.round(p * 100)}%`;
      }, (xhr) => { item.xhr = xhr; });
      item.uploadId = g.upload_id;
      item.state = 'ready';
    } catch (err) {
      if (item.gone) return;
      item.state = 'failed';
      item.error = err && err.status ? errorText(err, 'Upload').replace(/^Upload failed: /, '') : (err.message || String(err));
    }
    render(item);
    show();
  }

  function add(files) {
    for (const original of files) {
      if (!original) continue;
      const generic = original.pasted && /^image\.\w+$/i.test(original.name || 'image.png');
      const name = generic || !original.name ? pastedName(original) : original.name;
      const item = { file: original, name, state: 'waiting', progress: 0, uploadId: null, error: '',
                     preview: /^image\//.test(original.type) ? URL.createObjectURL(original) : null,
                     el: h('li', { 'data-testid': 'attachment-item' }) };
      items.push(item);
      tray.append(item.el);
      render(item);
      upload(item);
    }
    show();
  }

  function drop(item) {
    item.gone = true;
    if (item.xhr && item.state === 'uploading') item.xhr.abort();
    if (item.preview) URL.revokeObjectURL(item.preview);
    items.splice(items.indexOf(item), 1);
    item.el.remove();
    show();
  }

  /** Drag and drop onto `zone`, paste (files, such as a screenshot) into `field`. */
  function bind(zone, field) {
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer && e.dataTransfer.types) || []].includes('Files');
    zone.addEventListener('dragenter', (e) => { if (hasFiles(e)) { depth += 1; zone.classList.add('dropping'); } });
    zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove('dropping'); });
    zone.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
    zone.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      zone.classList.remove('dropping');
      add([...e.dataTransfer.files]);
    });
    field.addEventListener('paste', (e) => {
      const files = [...((e.clipboardData && e.clipboardData.items) || [])]
        .filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter(Boolean);
      if (!files.length) return; // text pastes as text
      e.preventDefault();
      for (const f of files) f.pasted = true;
      add(files);
    });
  }

  return {
    input, button, tray, add, bind,
    busy: () => items.some((i) => i.state === 'waiting' || i.state === 'uploading'),
    failed: () => items.filter((i) => i.state === 'failed'),
    ids: () => items.filter((i) => i.state === 'ready').map((i) => i.uploadId),
    count: () => items.length,
    clear() { for (const item of [...items]) drop(item); },
  };
}

/** The composer's uploads for one conversation of the agents' app. */
export function conversationAttachments(conversationId, onChange) {
  return createAttachments({
    grant: (file, name) => api.upload({ conversation_id: conversationId, filename: name,
                                        content_type: file.type || 'application/octet-stream', size: file.size }),
    onChange,
  });
}

/** One file of a message, shown inline: an image, an audio or video player, or a chip with its name and size. */
export function attachmentItem(a) {
  const name = a.filename || a.kind || 'file';
  const detail = [a.mime_type, fmtBytes(a.size)].filter(Boolean).join(', ');
  const type = a.mime_type || '';
  if (a.url && /^https?:\/\//i.test(a.url) && a.status !== 'failed') {
    const image = /^image\//i.test(type) && !/svg/i.test(type) || (!type && a.kind === 'image');
    const link = (attrs, ...children) => h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer',
                                                  'data-testid': 'attachment', ...attrs }, ...children);
    if (image) {
      return h('li', {}, link({}, h('img', { src: a.url, alt: `Image: ${name}`, loading: 'lazy', class: 'attachment-image' }),
        `Attachment: ${name}`), detail ? ` (${detail})` : '');
    }
    const player = /^audio\//i.test(type) ? 'audio' : /^video\//i.test(type) ? 'video' : null;
    if (player) {
      return h('li', { class: `attachment-${player}` },
        h(player, { src: a.url, controls: true, preload: 'metadata', class: 'attachment-player',
                    'data-testid': 'attachment-player', 'aria-label': `${player === 'audio' ? 'Audio' : 'Video'}: ${name}` }),
        link({}, name), detail ? ` (${detail})` : '');
    }
    return h('li', {}, link({ class: 'file-chip' }, icon('file'),
      h('span', { class: 'file-name' }, name), h('span', { class: 'file-size' }, fmtBytes(a.size))));
  }
  if (a.status === 'failed') return h('li', { class: 'attachment-failed' }, `Attachment: ${name}: download failed`);
  if (a.status === 'stored') return h('li', { class: 'muted' }, `Attachment: ${name} (${detail || 'stored'}), no link available`);
  return h('li', { class: 'processing', 'data-testid': 'attachment-processing' }, `Attachment: ${name}, processing…`);
}
