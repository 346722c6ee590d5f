// The live workspace (issue 15): one WebSocket per tab to the push API (config.json's ws_url; locally /ws of this
// origin). Events are thin ({type, conversation_id, ...ids}): the views read what changed through the API.
// - reconnects with backoff (1 s doubling to 30 s, with jitter), and whenever the socket opens (the first time too:
//   something may have changed between the views' first read and the connection) tells the views to catch up (a
//   "resync" event: they refetch what they show); while it is up, a resync every 10 s bounds what a lost push costs
//   (a push is best effort: one that timed out, or went to a connection still being set up, is not sent again);
// - while the socket is down the views poll as before (pushing() is false); while it is up they do not;
// - presence and typing: this tab says what it is viewing (every 20 s) and when it types (at most every 3 s);
//   what the others say is kept for a short while and shown as "Ann is viewing" / "Ann is typing…".
// sessionStorage 'switchboard.noPoll' = '1' turns polling off altogether (to try the push alone).

import { getConfig } from './api.js';

const VIEWING_EVERY_MS = 20_000;
const VIEWING_FOR_MS = 45_000;
const TYPING_EVERY_MS = 3_000;
const TYPING_FOR_MS = 6_000;
const BACKOFF_MAX_MS = 30_000;
const SAFETY_RESYNC_MS = 10_000;

const listeners = new Set();
const presence = new Map(); // conversation id -> Map(agent -> {kind, until})
let socket = null;
let open = false;
let started = false;
let me = '';
let tokenFn = () => null;
let attempt = 0;
let retryTimer = null;
let expiryTimer = null;
let viewing = null; // the conversation this tab shows
let viewingTimer = null;
let lastTyping = 0;
let pendingTyping = null; // {conversationId, at}: typed before the socket opened, said when it does
let safetyTimer = null;

export function pollingOff() {
  return sessionStorage.getItem('switchboard.noPoll') === '1';
}

/** True while events arrive by push: the views skip their polls. */
export function pushing() {
  return open || pollingOff();
}

/** Tell this page's views to read again (a change made here that the server does not push, such as an erasure). */
export function resync() {
  emit({ type: 'resync' });
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(event) {
  for (const fn of [...listeners]) {
    try {
      fn(event);
    } catch (err) {
      console.error('live listener failed', err); // one view's bug never stops the others
    }
  }
}

function url() {
  const configured = getConfig().ws_url;
  const t = tokenFn();
  if (!t) return null;
  const base = configured || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  return `${base}${base.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}`;
}

function send(message) {
  if (open && socket) socket.send(JSON.stringify(message));
}

function connect() {
  clearTimeout(retryTimer);
  const target = url();
  if (!target || typeof WebSocket === 'undefined') return;
  let ws;
  try {
    ws = new WebSocket(target);
  } catch {
    schedule();
    return;
  }
  socket = ws;
  ws.addEventListener('open', () => {
    open = true;
    attempt = 0;
    document.body.dataset.live = 'connected';
    emit({ type: 'live.state', connected: true });
    emit({ type: 'resync' }); // whatever happened before this socket could hear it is fetched
    if (viewing) send({ action: 'viewing', conversation_id: viewing });
    if (pendingTyping && Date.now() - pendingTyping.at < TYPING_FOR_MS) typed(pendingTyping.conversationId);
    pendingTyping = null;
  });
  ws.addEventListener('message', (e) => {
    let event;
    try {
      event = JSON.parse(e.data);
    } catch {
      return;
    }
    if (event.type === 'presence' || event.type === 'typing') note(event);
    emit(event);
  });
  ws.addEventListener('close', () => {
    if (socket !== ws) return;
    const was = open;
    open = false;
    socket = null;
    document.body.dataset.live = 'down';
    if (was) emit({ type: 'live.state', connected: false });
    schedule();
  });
}

function schedule() {
  if (!started) return;
  const delay = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
  attempt += 1;
  retryTimer = setTimeout(connect, delay);
}

/** Connect for this signed-in agent (once per page). */
export function startLive({ email, token }) {
  me = String(email || '').toLowerCase();
  tokenFn = token;
  if (started) return;
  started = true;
  connect();
  // Presence entries run out on their own: re-render the views now and then.
  expiryTimer = setInterval(() => emit({ type: 'presence.tick' }), 5000);
  safetyTimer = setInterval(() => {
    if (open && !pollingOff() && document.visibilityState === 'visible') emit({ type: 'resync' });
  }, SAFETY_RESYNC_MS);
}

export function stopLive() {
  started = false;
  clearTimeout(retryTimer);
  clearInterval(expiryTimer);
  clearInterval(viewingTimer);
  clearInterval(safetyTimer);
  if (socket) socket.close();
  socket = null;
  open = false;
  pendingTyping = null;
}

/** Drop the connection as a network would: it reconnects and catches up (tried from the console, and by tests). */
export function dropForTest() {
  if (socket) socket.close();
}
window.switchboardLive = { drop: dropForTest, connected: () => open };

// -- presence and typing --------------------------------------------------------------------------------------------
function note(event) {
  const who = String(event.agent || '').toLowerCase();
  if (!who || who === me || !event.conversation_id) return;
  const kind = event.type === 'typing' ? 'typing' : 'viewing';
  let forConv = presence.get(event.conversation_id);
  if (!forConv) presence.set(event.conversation_id, (forConv = new Map()));
  const known = forConv.get(who);
  const until = Date.now() + (kind === 'typing' ? TYPING_FOR_MS : VIEWING_FOR_MS);
  if (kind === 'typing') forConv.set(who, { kind, until, viewingUntil: Math.max(until, known ? known.viewingUntil : 0) });
  else forConv.set(who, { kind: known && known.kind === 'typing' && known.until > Date.now() ? 'typing' : 'viewing',
                          until: known && known.kind === 'typing' ? known.until : until, viewingUntil: until });
}

export function agentName(email) {
  const first = String(email || '').split('@')[0].split(/[._+-]/)[0] || String(email || '');
  return first.charAt(0).toUpperCase() + first.slice(1);
}

/** "Ann is typing…", "Ann and Bob are viewing", or '' for a conversation. */
export function presenceText(conversationId) {
  const forConv = presence.get(conversationId);
  if (!forConv) return '';
  const now = Date.now();
  const typing = [];
  const viewers = [];
  for (const [who, p] of forConv) {
    if (p.kind === 'typing' && p.until > now) typing.push(agentName(who));
    else if (p.viewingUntil > now) viewers.push(agentName(who));
    else forConv.delete(who);
  }
  const list = (names) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names[0]);
  const parts = [];
  if (typing.length) parts.push(`${list(typing)} ${typing.length > 1 ? 'are' : 'is'} typing…`);
  if (viewers.length) parts.push(`${list(viewers)} ${viewers.length > 1 ? 'are' : 'is'} viewing`);
  return parts.join(' · ');
}

/** This tab shows a conversation (null: none). */
export function setViewing(conversationId) {
  viewing = conversationId;
  clearInterval(viewingTimer);
  if (!conversationId) return;
  send({ action: 'viewing', conversation_id: conversationId });
  viewingTimer = setInterval(() => {
    if (document.visibilityState === 'visible') send({ action: 'viewing', conversation_id: conversationId });
  }, VIEWING_EVERY_MS);
}

/** The agent typed in a conversation's reply box (throttled). */
export function typed(conversationId) {
  const now = Date.now();
  if (!open) {
    pendingTyping = { conversationId, at: now };
    return;
  }
  if (now - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = now;
  send({ action: 'typing', conversation_id: conversationId });
}
