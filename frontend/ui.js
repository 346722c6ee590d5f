// Small DOM and formatting helpers shared by every screen. User data only ever goes in as text.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children, isSvg = false) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', value);
    else if (!isSvg && key in el && !key.includes('-') && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h('button', {class: 'x', onclick: fn, 'data-testid': 'y'}, 'text', childNode, [more]) */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children, true);
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// The channel names come from config.json (`channels`, the server's one list); setChannels fills this at start.
export const CHANNELS = [];
export function setChannels(names) {
  CHANNELS.splice(0, CHANNELS.length, ...(Array.isArray(names) ? names : []));
}
const CHANNEL_NAMES = {
  whatsapp: 'WhatsApp', messenger: 'Messenger', instagram: 'Instagram', telegram: 'Telegram',
  sms: 'SMS', email: 'Email', webchat: 'Web chat',
  voice: 'Voicemail', // issue 17
};
export const channelName = (c) => CHANNEL_NAMES[c] || c || 'unknown';

/** What to call a customer: their name, else what the API knows them by (`display`: a phone number, an email
 * address, a handle or their id on the channel). "Unknown contact" only when the API says nothing at all. */
export function contactLabel(contact) {
  return (contact && (contact.name || contact.display)) || 'Unknown contact';
}

export function channelBadge(channel) {
  return h('span', { class: `badge channel channel-${channel}` }, channelName(channel));
}

// The server's clock, as measured once at start (GET /api/me's `now`): "today" and "now" are the server's, so a
// device whose clock is wrong (or the local stack's moved clock) neither hides new conversations nor dates them ahead.
let serverOffsetMs = 0;

/** Measure the server's clock against ours: `now` from the server, sent between `sentAt` and `receivedAt` (ms). */
export function setServerTime(now, sentAt, receivedAt) {
  const server = Date.parse(now);
  if (Number.isNaN(server)) return;
  serverOffsetMs = server - (sentAt + receivedAt) / 2;
}

/** Now, by the server's clock. */
export function serverNow() {
  return new Date(Date.now() + serverOffsetMs);
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

export function fmtDateTime(iso) {
  const d = iso ? new Date(iso) : null;
  return d && !Number.isNaN(d.getTime()) ? dateTimeFmt.format(d) : '';
}

/** Time today, else the day: for lists. */
export function fmtShort(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  return d.toDateString() === serverNow().toDateString() ? timeFmt.format(d) : dayFmt.format(d);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '–';
  let s = Math.round(Number(seconds));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(s).padStart(2, '0')}s`;
}

export function fmtBytes(n) {
  if (!n && n !== 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A message for an API error, saying plainly when the route does not exist yet. */
export function errorText(err, what) {
  if (err && err.routeMissing) return `${what}: not available yet (the API has no such route).`;
  return `${what} failed: ${err && err.message ? err.message : err}`;
}

let toastTimer = null;
export function toast(message, kind = 'info') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.className = `toast toast-${kind}`;
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; el.textContent = ''; }, 5000);
}

/** True when a key press happens while typing somewhere (so single-key shortcuts stay out of the way). */
export function typingIn(target) {
  return !!target.closest && !!target.closest('input, textarea, select, [contenteditable="true"]');
}
