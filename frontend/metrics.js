// Metrics: the figures for a date range, with small inline SVG bar charts drawn here.

import { api } from './api.js';
import { channelName, errorText, fmtDuration, h, replace, serverNow, svg } from './ui.js';

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

/** A horizontal bar chart; rows: [{label, value, cls}]. Values of null draw no bar and read "–". */
export function barChart(title, rows, { max, format = String } = {}) {
  const rowH = 30;
  const labelW = 110;
  const valueW = 76;
  const width = 420;
  const height = rows.length * rowH + 4;
  const barMax = width - labelW - valueW;
  const top = max || Math.max(1, ...rows.map((r) => Number(r.value) || 0));
  const spoken = rows.map((r) => `${r.label}: ${r.value === null || r.value === undefined ? 'no data' : format(r.value)}`).join('; ');
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${title}. ${spoken}`, class: 'chart',
                      preserveAspectRatio: 'xMinYMin meet' },
    rows.map((r, i) => {
      const value = Number(r.value) || 0;
      const w = r.value === null || r.value === undefined ? 0 : Math.max(value > 0 ? 2 : 0, (barMax * value) / top);
      const y = i * rowH + 2;
      return svg('g', {},
        svg('text', { x: labelW - 8, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-label' }, r.label),
        svg('rect', { x: labelW, y: y + 5, width: barMax, height: rowH - 10, rx: 3, class: 'track' }),
        svg('rect', { x: labelW, y: y + 5, width: w.toFixed(1), height: rowH - 10, rx: 3, class: `bar ${r.cls || ''}` }),
        svg('text', { x: labelW + barMax + 8, y: y + rowH / 2, 'dominant-baseline': 'middle', class: 'chart-value' },
          r.value === null || r.value === undefined ? '–' : format(r.value)));
    }));
}

function figure(label, value, sub) {
  return h('div', { class: 'figure' }, h('span', { class: 'figure-label' }, label), h('span', { class: 'figure-value' }, value),
    sub ? h('span', { class: 'figure-sub' }, sub) : null);
}

function chartCard(title, chart) {
  return h('figure', { class: 'chart-card' }, h('figcaption', {}, title), chart);
}

export function createMetrics() {
  const today = serverNow(); // the default range ends on the server's today, where the newest figures are
  const weekAgo = new Date(today.getTime() - 6 * 86400_000);
  const from = h('input', { type: 'date', id: 'metrics-from', value: isoDay(weekAgo), required: true });
  const to = h('input', { type: 'date', id: 'metrics-to', value: isoDay(today), required: true });
  const out = h('div', { class: 'metrics-out', 'aria-live': 'polite' });
  const form = h('form', { class: 'metrics-range', 'aria-label': 'Date range' },
    h('div', { class: 'field' }, h('label', { for: 'metrics-from' }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: 'metrics-to' }, 'To'), to),
    h('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });

  async function load() {
    if (from.value > to.value) {
      replace(out, h('p', { class: 'notice error', role: 'alert' }, '"From" must not be after "To".'));
      return;
    }
    replace(out, h('p', { class: 'muted' }, 'Loading…'));
    let m;
    try {
      m = await api.metrics(from.value, to.value);
    } catch (err) {
      replace(out, h('p', { class: 'notice', role: 'status', 'data-testid': 'metrics-unavailable' },
        err.routeMissing ? 'Metrics not available yet: the API does not offer them.' : errorText(err, 'Loading the metrics')));
      return;
    }
    const fr = m.first_response_seconds || {};
    const rs = m.resolution_seconds || {};
    const csat = m.csat || {};
    const byChannel = Object.entries(m.by_channel || {}).sort((a, b) => b[1] - a[1]);
    replace(out,
      h('div', { class: 'figures' },
        figure('Conversations', String(m.conversations ?? 0),
          m.activity ? `${m.activity.resolved ?? 0} resolved · ${m.activity.reopened ?? 0} reopened in the period` : null),
        figure('First response', fmtDuration(fr.p50), `median · p90 ${fmtDuration(fr.p90)}`),
        figure('Resolution', fmtDuration(rs.p50), `median · p90 ${fmtDuration(rs.p90)}`),
        figure('CSAT', csat.average === null || csat.average === undefined ? '–' : `${Number(csat.average).toFixed(2)} / 5`,
          [`${csat.responses || 0} response${csat.responses === 1 ? '' : 's'}`,
            typeof csat.satisfied_share === 'number' ? ` · ${Math.round(csat.satisfied_share * 100)}% satisfied` : ''].join(''))),
      h('div', { class: 'charts' },
        chartCard('Volume by channel', byChannel.length
          ? barChart('Conversations by channel', byChannel.map(([c, n]) => ({ label: channelName(c), value: n, cls: `ch-${c}` })))
          : h('p', { class: 'muted' }, 'No conversations in this period.')),
        chartCard('Where they stand now', barChart('Conversations opened in the period, by status now',
          ['open', 'pending', 'resolved'].map((st) => ({ label: st, value: (m.by_status || {})[st] ?? 0, cls: `st-${st}` })))),
        chartCard('First response time', barChart('First response time',
          [{ label: 'median (p50)', value: fr.p50, cls: 'p50' }, { label: 'p90', value: fr.p90, cls: 'p90' }], { format: fmtDuration })),
        chartCard('Resolution time', barChart('Resolution time',
          [{ label: 'median (p50)', value: rs.p50, cls: 'p50' }, { label: 'p90', value: rs.p90, cls: 'p90' }], { format: fmtDuration })),
        chartCard('Customer satisfaction', barChart('Average CSAT out of 5',
          [{ label: 'average', value: csat.average, cls: 'csat' }], { max: 5, format: (v) => `${Number(v).toFixed(2)} / 5` }))));
  }

  const root = h('section', { class: 'page metrics-page', 'data-testid': 'metrics', 'aria-labelledby': 'metrics-title' },
    h('h2', { id: 'metrics-title' }, 'Metrics'), form, out);
  return { root, mount(container) { container.replaceChildren(root); load(); }, unmount() { root.remove(); } };
}
