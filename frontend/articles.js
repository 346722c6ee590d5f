// Help center (#/articles): agents write articles in Markdown with images; admins publish and unpublish. The
// preview is the page exactly as published, rendered by the API's own renderer and shown in a sandboxed iframe
// (no script runs in it, and it is an origin of its own). Below: views, helpfulness and what visitors searched for.

import { request } from './api.js';
import { errorText, fmtShort, h, replace, toast } from './ui.js';

const enc = encodeURIComponent;
export const articlesApi = {
  list: (params = {}) => request('GET', `/api/articles?${new URLSearchParams(params)}`),
  get: (id) => request('GET', `/api/articles/${enc(id)}`),
  create: (body) => request('POST', '/api/articles', body),
  patch: (id, body) => request('PATCH', `/api/articles/${enc(id)}`, body),
  remove: (id) => request('DELETE', `/api/articles/${enc(id)}`),
  preview: (body) => request('POST', '/api/articles/preview', body),
  image: (id, file) => request('POST', `/api/articles/${enc(id)}/images`,
    { filename: file.name, content_type: file.type, size: file.size }),
  report: (from, to) => request('GET', `/api/reports/articles?${new URLSearchParams({ ...(from ? { from } : {}), ...(to ? { to } : {}) })}`),
};

/** Upload one image straight to the bucket (the grant's presigned POST); returns the Markdown to insert. */
export async function uploadImage(articleId, file) {
  const grant = await articlesApi.image(articleId, file);
  const form = new FormData();
  for (const [k, v] of Object.entries(grant.fields)) form.append(k, v);
  form.append('file', file);
  const r = await fetch(grant.url, { method: 'POST', body: form });
  if (!r.ok) throw new Error(`the upload was refused (HTTP ${r.status})`);
  return grant.markdown;
}

export function createArticlesPage({ me }) {
  const admin = me.role === 'admin';
  const status = h('p', { class: 'page-status', role: 'status', 'data-testid': 'articles-status' });
  const list = h('ul', { class: 'article-list', 'aria-label': 'Articles', 'data-testid': 'article-list' });
  const editorSlot = h('div', { class: 'article-editor-slot' });
  const report = h('section', { class: 'help-report', 'data-testid': 'help-report', 'aria-labelledby': 'help-report-title' });
  const newButton = h('button', { type: 'button', class: 'primary', 'data-testid': 'article-new' }, 'New article');
  const root = h('section', { class: 'page articles-page', 'data-testid': 'articles-page', 'aria-labelledby': 'articles-title' },
    h('div', { class: 'page-head' }, h('h2', { id: 'articles-title' }, 'Help center'), newButton,
      h('a', { href: '/help/', target: '_blank', rel: 'noopener' }, 'Open the help center ↗')),
    h('p', { class: 'hint' }, admin ? 'Write in Markdown; publishing puts the article on the public help center.'
      : 'Write in Markdown and save drafts; an admin publishes them.'),
    status, h('div', { class: 'articles-layout' }, list, editorSlot), report);
  let items = [];

  async function load(selectId) {
    try {
      items = (await articlesApi.list()).items;
      status.textContent = items.length ? '' : 'No articles yet.';
      replace(list, items.map((a) => h('li', {},
        h('button', { type: 'button', class: 'link article-row', 'data-testid': 'article-row', onclick: () => open(a.id) },
          h('strong', {}, a.title), ' ',
          h('span', { class: `badge ${a.status}` }, a.status === 'published' ? (a.unpublished_changes ? 'published, edited' : 'published') : 'draft'),
          h('span', { class: 'muted' }, ` ${a.locale} · ${a.category} · ${fmtShort(a.updated_at)}`)))));
      if (selectId) open(selectId);
    } catch (err) {
      status.textContent = errorText(err, 'Loading the articles');
    }
    loadReport();
  }

  async function loadReport() {
    try {
      const r = await articlesApi.report();
      const d = r.deflection;
      replace(report, h('h3', { id: 'help-report-title' }, `Last 30 days (${r.from} to ${r.to})`),
        h('p', {}, `Opened from the chat widget: ${d.opened_from_widget}; then still chatted: ${d.chat_after_opening}; `
          + `deflected: ${d.deflected}.`),
        h('table', { class: 'report-table' }, h('thead', {}, h('tr', {}, ['Article', 'Views', 'Helpful', 'Not helpful'].map((t) => h('th', {}, t)))),
          h('tbody', {}, r.items.map((i) => h('tr', {}, h('td', {}, i.title), h('td', {}, String(i.views)),
            h('td', {}, String(i.helpful)), h('td', {}, String(i.not_helpful)))))),
        h('h4', {}, 'Searches that found nothing (write these next)'),
        r.failed_searches.length ? h('ul', { class: 'failed-searches', 'data-testid': 'failed-searches' },
          r.failed_searches.map((f) => h('li', {}, h('code', {}, f.q), ` × ${f.count}`)))
          : h('p', { class: 'muted' }, 'None yet.'));
    } catch (err) {
      replace(report, h('p', { class: 'muted' }, errorText(err, 'Loading the report')));
    }
  }

  async function open(id) {
    try {
      editor(id ? await articlesApi.get(id) : null);
    } catch (err) {
      toast(errorText(err, 'Opening the article'), 'error');
    }
  }

  function editor(article) {
    const a = article || { title: '', body: '', category: 'General', locale: '', slug: '', status: 'draft' };
    const line = (value, attrs) => h('input', { type: 'text', value: value || '', ...attrs });
    const title = line(a.title, { 'data-testid': 'article-title', maxlength: '150', required: true, id: 'article-title' });
    const slug = line(a.slug, { 'data-testid': 'article-slug', maxlength: '80', placeholder: 'from the title', id: 'article-slug' });
    const category = line(a.category, { 'data-testid': 'article-category', maxlength: '60', id: 'article-category' });
    const locale = line(a.locale, { 'data-testid': 'article-locale', maxlength: '5', placeholder: 'en', id: 'article-locale' });
    const body = h('textarea', { rows: 16, 'data-testid': 'article-body', id: 'article-body', maxlength: '100000',
      placeholder: '# A heading\n\nWrite in Markdown. Images: the button below.' });
    body.value = a.body || '';
    const frame = h('iframe', { class: 'article-preview', title: 'Preview of the published page', sandbox: '',
      referrerpolicy: 'no-referrer', 'data-testid': 'article-preview' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', 'data-testid': 'article-image',
      id: 'article-image' });
    const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'article-save' }, article ? 'Save' : 'Save draft');
    const buttons = [save];
    if (admin) {
      buttons.push(h('button', { type: 'button', 'data-testid': 'article-publish', onclick: () => commit('published') },
        a.status === 'published' ? 'Save and publish again' : 'Publish'));
      if (a.status === 'published') {
        buttons.push(h('button', { type: 'button', 'data-testid': 'article-unpublish', onclick: () => commit('draft') }, 'Unpublish'));
      }
    }
    if (article && (admin || a.status !== 'published')) {
      buttons.push(h('button', { type: 'button', class: 'danger', 'data-testid': 'article-delete', onclick: remove }, 'Delete'));
    }
    const fields = () => {
      const out = { title: title.value.trim(), body: body.value, category: category.value.trim() || 'General' };
      if (slug.value.trim()) out.slug = slug.value.trim();
      if (locale.value.trim()) out.locale = locale.value.trim().toLowerCase();
      return out;
    };
    let current = article;
    async function commit(nextStatus) {
      error.textContent = '';
      try {
        const body = fields();
        if (nextStatus) body.status = nextStatus;
        current = current ? await articlesApi.patch(current.id, unchanged(body)) : await articlesApi.create(body);
        toast(nextStatus === 'published' ? 'Published: the help center is being updated.'
          : nextStatus === 'draft' ? 'Unpublished.' : 'Saved.');
        load(current.id);
      } catch (err) {
        error.textContent = errorText(err, 'Saving the article');
      }
    }
    function unchanged(body) {
      // PATCH only what changed (a status alone republishes as saved)
      const out = {};
      for (const [k, v] of Object.entries(body)) if (k === 'status' || current[k] !== v) out[k] = v;
      return out;
    }
    async function remove() {
      if (!window.confirm(`Delete "${current.title}"?`)) return;
      try {
        await articlesApi.remove(current.id);
        toast('Deleted.');
        replace(editorSlot);
        load();
      } catch (err) {
        error.textContent = errorText(err, 'Deleting the article');
      }
    }
    let timer = null;
    async function preview() {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        if (!title.value.trim()) return;
        try {
          const r = await articlesApi.preview({ ...fields(), ...(current ? { id: current.id } : {}) });
          frame.srcdoc = r.html;
        } catch (err) {
          error.textContent = errorText(err, 'The preview');
        }
      }, 300);
    }
    file.addEventListener('change', async () => {
      const chosen = file.files[0];
      file.value = '';
      if (!chosen) return;
      if (!current) {
        error.textContent = 'Save the draft first, then add images.';
        return;
      }
      try {
        const markdown = await uploadImage(current.id, chosen);
        const at = body.selectionStart ?? body.value.length;
        body.value = `${body.value.slice(0, at)}\n\n${markdown}\n\n${body.value.slice(at)}`;
        toast('Image uploaded.');
        preview();
      } catch (err) {
        error.textContent = errorText(err, 'Uploading the image');
      }
    });
    [title, body, category, locale].forEach((el) => el.addEventListener('input', preview));
    const form = h('form', { class: 'article-form', 'data-testid': 'article-editor', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'article-title' }, 'Title'), title),
      h('div', { class: 'article-meta' },
        h('div', { class: 'field' }, h('label', { for: 'article-category' }, 'Category'), category),
        h('div', { class: 'field' }, h('label', { for: 'article-locale' }, 'Language'), locale),
        h('div', { class: 'field' }, h('label', { for: 'article-slug' }, 'Slug (its address)'), slug)),
      h('div', { class: 'article-panes' },
        h('div', { class: 'field' }, h('label', { for: 'article-body' }, 'Text (Markdown)'), body,
          h('label', { for: 'article-image', class: 'hint' }, 'Add an image (PNG, JPEG, GIF, WebP): '), file),
        h('div', { class: 'field' }, h('span', { class: 'label' }, 'Preview (as published)'), frame)),
      error, h('div', { class: 'article-buttons' }, buttons),
      article && article.url ? h('p', {}, 'Public page: ', h('a', { href: article.url, target: '_blank', rel: 'noopener',
        'data-testid': 'article-url' }, article.url)) : null,
      article ? h('p', { class: 'muted' }, `Views ${article.views} · helpful ${article.helpful} · not helpful ${article.not_helpful}`) : null);
    form.addEventListener('submit', (e) => { e.preventDefault(); commit(null); });
    replace(editorSlot, form);
    preview();
    title.focus();
  }

  newButton.addEventListener('click', () => editor(null));
  return { root, mount(container) { container.replaceChildren(root); load(); }, unmount() { root.remove(); } };
}

// -- the composer: search published articles, insert a link --------------------------------------------------
let links = {};
let linksLoaded = null;

/** slug -> public URL of every published article (canned responses' {{article.<slug>}}). */
export function articleLinks(refresh = false) {
  if (!linksLoaded || refresh) {
    linksLoaded = articlesApi.list({ status: 'published' })
      .then((r) => { links = Object.fromEntries(r.items.map((a) => [a.slug, a.url])); })
      .catch(() => { linksLoaded = null; });
  }
  return links;
}

/** A button and a small search box in the composer: a chosen article's link goes in at the caret. */
export function createArticlePicker(insert) {
  const toggle = h('button', { type: 'button', class: 'link', 'data-testid': 'article-picker-toggle', 'aria-expanded': 'false' },
    'Article link');
  const search = h('input', { type: 'search', placeholder: 'Search the help center', 'data-testid': 'article-picker-search',
    'aria-label': 'Search articles' });
  const results = h('ul', { class: 'article-picker-results', 'data-testid': 'article-picker-results' });
  const panel = h('div', { class: 'article-picker', hidden: true }, search, results);
  let timer = null;
  toggle.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) { search.focus(); find(); }
  });
  async function find() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const q = search.value.trim();
        const r = await articlesApi.list({ status: 'published', ...(q ? { q } : {}) });
        replace(results, r.items.length ? r.items.slice(0, 6).map((a) => h('li', {},
          h('button', { type: 'button', class: 'link', 'data-testid': 'article-picker-item',
            onclick: () => { insert(`${a.title}: ${a.url}`); panel.hidden = true; toggle.setAttribute('aria-expanded', 'false'); } },
          a.title))) : [h('li', { class: 'muted' }, 'No published article matches.')]);
      } catch (err) {
        replace(results, h('li', { class: 'muted' }, errorText(err, 'Searching')));
      }
    }, 200);
  }
  search.addEventListener('input', find);
  search.addEventListener('keydown', (e) => { if (e.key === 'Escape') { panel.hidden = true; toggle.focus(); } });
  return { toggle, panel };
}

