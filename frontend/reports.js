// Reports (issue 16): by agent, label, channel, source and inbox for a range of business days, as a table and small
// bar charts, each downloadable as CSV; admins also export the range's conversations (CSV, or a link to it in S3).

import { getConfig, request } from './api.js';
import { token } from './auth.js';
import { barChart } from './metrics.js';
import { channelName, errorText, fmtDuration, h, replace, serverNow, toast } from './ui.js';

const DIMENSIONS = [['agents', 'Agents'], ['labels', 'Labels'], ['channels', 'Channels'], ['sources', 'Sources'],
                    ['inboxes', 'Inboxes']];
const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** GET a CSV of the API with the bearer token: a Blob, or (a large export) the JSON {url} of it in S3. */
async function fetchCsv(path) {
  const r = await fetch(getConfig().apiUrl + path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!r.ok) {
    let message = `HTTP ${r.status}`;
    try { message = (await r.json()).error.message || message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  if ((r.headers.get('Content-Type') || '').startsWith('application/json')) return { link: await r.json() };
  return { blob: await r.blob() };
}

function label(dimension, row) {
  if (row.name) return row.name;
  if (dimension === 'channels') return channelName(row.key);
  return row.key;
}

/** A chart's label: short enough for its column (an agent by the part of the address before @). */
function chartLabel(dimension, row) {
  const text = dimension === 'agents' && !row.name ? row.key.split('@')[0] : label(dimension, row);
  return text.length > 14 ? `${text.slice(0, 13)}…` : text;
}

const csatText = (c) => (c && typeof c.average === 'number' ? `${c.average.toFixed(2)} (${c.responses})` : '–');

export function createReportsPage({ me }) {
  const isAdmin = me.role === 'admin';
  const today = serverNow();
  const from = h('input', { type: 'date', id: 'reports-from', 'data-testid': 'reports-from', required: true,
                            value: isoDay(new Date(today.getTime() - 6 * 86400_000)) });
  const to = h('input', { type: 'date', id: 'reports-to', 'data-testid': 'reports-to', required: true, value: isoDay(today) });
  const dimension = h('select', { id: 'reports-dimension', 'data-testid': 'reports-dimension' },
    DIMENSIONS.map(([value, text]) => h('option', { value }, text)));
  const form = h('form', { class: 'metrics-range', 'aria-label': 'Report and date range' },
    h('div', { class: 'field' }, h('label', { for: 'reports-dimension' }, 'By'), dimension),
    h('div', { class: 'field' }, h('label', { for: 'reports-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'reports-to' }, 'To'), to),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'reports-show' }, 'Show'));
  const csvButton = h('button', { type: 'button', 'data-testid': 'report-csv' }, 'Download CSV');
  const exportButton = isAdmin
    ? h('button', { type: 'button', 'data-testid': 'export-conversations' }, 'Export conversations (CSV)') : null;
  const exportNote = h('p', { class: 'page-status', role: 'status', 'data-testid': 'export-status' });
  const out = h('div', { class: 'reports-out', 'aria-live': 'polite' });
  let current = null;

  const range = () => `from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;

  async function load() {
    if (from.value > to.value) {
      replace(out, h('p', { class: 'notice error', role: 'alert' }, '"From" must not be after "To".'));
      return;
    }
    replace(out, h('p', { class: 'muted' }, 'Loading…'));
    const dim = dimension.value;
    try {
      current = await request('GET', `/api/reports/${dim}?${range()}`);
    } catch (err) {
      current = null;
      replace(out, h('p', { class: 'notice error', role: 'alert' }, errorText(err, 'Loading the report')));
      return;
    }
    const rows = current.items || [];
    if (!rows.length) {
      replace(out, h('p', { class: 'muted', 'data-testid': 'report-empty' }, 'Nothing happened in this period.'));
      return;
    }
    const agents = dim === 'agents';
    const head = ['', 'Conversations', 'Resolved', 'First response p50', 'p90', 'Resolution p50', 'p90', 'CSAT (answers)'];
    if (agents) head.push('Open now');
    const body = h('tbody', {}, rows.map((row) => h('tr', { 'data-testid': 'report-row', 'data-key': row.key },
      h('th', { scope: 'row' }, label(dim, row)),
      h('td', { class: 'num' }, String(row.conversations)),
      h('td', { class: 'num' }, String(row.resolved)),
      h('td', { class: 'num' }, fmtDuration(row.first_response_seconds.p50)),
      h('td', { class: 'num' }, fmtDuration(row.first_response_seconds.p90)),
      h('td', { class: 'num' }, fmtDuration(row.resolution_seconds.p50)),
      h('td', { class: 'num' }, fmtDuration(row.resolution_seconds.p90)),
      h('td', { class: 'num' }, csatText(row.csat)),
      agents ? h('td', { class: 'num' }, row.currently_open === null || row.currently_open === undefined ? '–' : String(row.currently_open)) : null)));
    const table = h('table', { class: 'audit-table report-table', 'data-testid': 'report-table' },
      h('caption', { class: 'sr-only' }, `Report by ${dim}, ${current.from} to ${current.to}`),
      h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))), body);
    const top = rows.slice(0, 8);
    const charts = h('div', { class: 'charts' },
      h('figure', { class: 'chart-card' }, h('figcaption', {}, 'Conversations'),
        barChart('Conversations', top.map((r) => ({ label: chartLabel(dim, r), value: r.conversations })))),
      h('figure', { class: 'chart-card' }, h('figcaption', {}, 'First response (median)'),
        barChart('Median first response', top.map((r) => ({ label: chartLabel(dim, r), value: r.first_response_seconds.p50, cls: 'p50' })),
          { format: fmtDuration })),
      h('figure', { class: 'chart-card' }, h('figcaption', {}, 'CSAT (average of 5)'),
        barChart('Average CSAT', top.map((r) => ({ label: chartLabel(dim, r), value: r.csat.average, cls: 'csat' })),
          { max: 5, format: (v) => Number(v).toFixed(2) })));
    replace(out, h('p', { class: 'hint' }, `${current.from} to ${current.to}, days in the business time zone.`),
      h('div', { class: 'table-scroll' }, table), charts);
  }

  csvButton.addEventListener('click', async () => {
    csvButton.disabled = true;
    try {
      const { blob } = await fetchCsv(`/api/reports/${dimension.value}?${range()}&format=csv`);
      download(blob, `${dimension.value}-${from.value}-to-${to.value}.csv`);
    } catch (err) {
      toast(errorText(err, 'Downloading the CSV'), 'error');
    } finally {
      csvButton.disabled = false;
    }
  });
  if (exportButton) {
    exportButton.addEventListener('click', async () => {
      exportButton.disabled = true;
      exportNote.classList.remove('error');
      exportNote.textContent = 'Exporting…';
      try {
        const got = await fetchCsv(`/api/exports/conversations?${range()}`);
        if (got.link) {
          // A large export waits in S3 behind a short-lived link: the browser downloads it from there.
          exportNote.replaceChildren(`${got.link.rows} conversations exported. `,
            h('a', { href: got.link.url, 'data-testid': 'export-link', rel: 'noopener' }, 'Download the CSV'),
            ` (the link expires in ${Math.round(got.link.expires_in / 60)} minutes).`);
        } else {
          download(got.blob, `conversations-${from.value}-to-${to.value}.csv`);
          exportNote.textContent = 'The conversations CSV is downloading.';
        }
      } catch (err) {
        exportNote.textContent = errorText(err, 'Exporting the conversations');
        exportNote.classList.add('error');
      } finally {
        exportButton.disabled = false;
      }
    });
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  dimension.addEventListener('change', load);

  const root = h('section', { class: 'page reports-page', 'data-testid': 'reports', 'aria-labelledby': 'reports-title' },
    h('h2', { id: 'reports-title' }, 'Reports'),
    h('p', { class: 'hint' }, 'Conversations, first response and resolution times (median and 90th percentile) and '
      + 'satisfaction, by agent, label, channel, source or inbox. Agents: the conversations they handled (assigned, '
      + 'answered first or resolved); labels: conversations labelled; the others: conversations opened.'),
    form, h('div', { class: 'report-actions' }, csvButton, exportButton), exportNote, out);
  return { root, mount(container) { container.replaceChildren(root); load(); }, unmount() { root.remove(); } };
}
