// The agent API client: config.json, the bearer token, JSON in and out, errors as ApiError.

let config = { apiUrl: '', local: true };
let currentToken = () => null;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** The route is not there (yet): 404 "no such route" from the API, or API Gateway's bare "Not Found". */
  get routeMissing() {
    return this.status === 404 && (this.code === 'route_missing' || /no such route/i.test(this.message));
  }
}

export async function loadConfig() {
  const r = await fetch('config.json', { cache: 'no-store' });
  if (!r.ok) throw new Error(`config.json could not be read (HTTP ${r.status})`);
  config = { apiUrl: '', local: false, ...(await r.json()) };
  config.apiUrl = String(config.apiUrl || '').replace(/\/+$/, '');
  return config;
}

export const getConfig = () => config;

export function configureAuth(tokenFn, unauthorizedFn) {
  currentToken = tokenFn;
  onUnauthorized = unauthorizedFn;
}

export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(config.apiUrl + path, init);
  } catch {
    throw new ApiError(0, 'network', 'the server could not be reached');
  }
  const text = r.status === 204 ? '' : await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    const e = data && data.error;
    const err = new ApiError(r.status, (e && e.code) || (r.status === 404 ? 'route_missing' : `http_${r.status}`),
      (e && e.message) || (data && data.message) || `HTTP ${r.status}`);
    if (r.status === 401) onUnauthorized(err);
    throw err;
  }
  return data;
}

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const conv = (id) => `/api/conversations/${encodeURIComponent(id)}`;

export const api = {
  localToken: (email, role) => request('POST', '/_local/token', { email, role }),
  me: () => request('GET', '/api/me'),
  conversations: (params) => request('GET', `/api/conversations${qs(params)}`),
  conversation: (id) => request('GET', conv(id)),
  messages: (id, cursor, limit = 100) => request('GET', `${conv(id)}/messages${qs({ cursor, limit })}`),
  reply: (id, text, attachments) => request('POST', `${conv(id)}/messages`,
    attachments && attachments.length ? { text, attachments } : { text }),
  note: (id, text) => request('POST', `${conv(id)}/notes`, { text }),
  read: (id) => request('POST', `${conv(id)}/read`),
  resolve: (id) => request('POST', `${conv(id)}/resolve`),
  reopen: (id) => request('POST', `${conv(id)}/reopen`),
  pending: (id) => request('POST', `${conv(id)}/pending`),
  assign: (id, agent) => request('POST', `${conv(id)}/assign`, { agent }),
  labels: (id, labels) => request('POST', `${conv(id)}/labels`, { labels }),
  canned: () => request('GET', '/api/canned-responses'),
  createCanned: (shortcut, text) => request('POST', '/api/canned-responses', { shortcut, text }),
  deleteCanned: (id) => request('DELETE', `/api/canned-responses/${encodeURIComponent(id)}`),
  contact: (id) => request('GET', `/api/contacts/${encodeURIComponent(id)}`),
  patchContact: (id, changes) => request('PATCH', `/api/contacts/${encodeURIComponent(id)}`, changes),
  mergeContact: (id, other) => request('POST', `/api/contacts/${encodeURIComponent(id)}/merge`, { other }),
  exportContact: (id) => request('GET', `/api/contacts/${encodeURIComponent(id)}/export`),
  eraseContact: (id) => request('DELETE', `/api/contacts/${encodeURIComponent(id)}`),
  metrics: (from, to) => request('GET', `/api/metrics${qs({ from, to })}`),
  settings: () => request('GET', '/api/settings'),
  putSettings: (doc) => request('PUT', '/api/settings', doc),
  agents: () => request('GET', '/api/agents'),
  setAvailability: (available) => request('PUT', '/api/me/availability', { available }),
  // inboxes and teams (issue 14)
  inboxes: (includeIgnored) => request('GET', `/api/inboxes${qs({ include: includeIgnored ? 'ignored' : '' })}`),
  addInbox: (inbox) => request('POST', '/api/inboxes', inbox),
  patchInbox: (id, changes) => request('PATCH', `/api/inboxes/${encodeURIComponent(id)}`, changes),
  blockInbox: (id) => request('DELETE', `/api/inboxes/${encodeURIComponent(id)}`),
  teams: () => request('GET', '/api/teams'),
  createTeam: (team) => request('POST', '/api/teams', team),
  putTeam: (id, team) => request('PUT', `/api/teams/${encodeURIComponent(id)}`, team),
  deleteTeam: (id) => request('DELETE', `/api/teams/${encodeURIComponent(id)}`),
  // templates capability: WhatsApp templates, starting conversations, editing canned responses
  templates: (channel = 'whatsapp') => request('GET', `/api/templates${qs({ channel })}`),
  syncTemplates: () => request('POST', '/api/templates/sync'),
  sendTemplate: (id, template) => request('POST', `${conv(id)}/messages`, { template }),
  startConversation: (body) => request('POST', '/api/conversations', body),
  patchCanned: (id, changes) => request('PATCH', `/api/canned-responses/${encodeURIComponent(id)}`, changes),
  // organizing the queue (issue 14)
  snooze: (id, body) => request('POST', `${conv(id)}/snooze`, body),
  priority: (id, priority) => request('POST', `${conv(id)}/priority`, { priority }),
  patchConversation: (id, attributes) => request('PATCH', conv(id), { attributes }),
  bulk: (body) => request('POST', '/api/conversations/bulk', body),
  attributes: () => request('GET', '/api/attributes'),
  createAttribute: (definition) => request('POST', '/api/attributes', definition),
  deleteAttribute: (key) => request('DELETE', `/api/attributes/${encodeURIComponent(key)}`),
  // contacts and search (issue 14)
  contacts: (params) => request('GET', `/api/contacts${qs(params)}`),
  createContact: (body) => request('POST', '/api/contacts', body),
  search: (q) => request('GET', `/api/search${qs({ q })}`),
  // Rich replies: an upload for a reply's file (an S3 presigned POST the browser posts the file to).
  upload: (body) => request('POST', '/api/uploads', body),
  // the live workspace (issue 15): a reply carrying the newest message seen (409 conversation_changed when crossed),
  // notifications
  replyAfter: (id, text, attachments, after) => request('POST', `${conv(id)}/messages`,
    { text, ...(attachments && attachments.length ? { attachments } : {}), ...(after ? { after } : {}) }),
  notifications: () => request('GET', '/api/notifications'),
  mentionable: () => request('GET', '/api/mentionable'),
  readNotifications: (ids) => request('POST', '/api/notifications/read', { ids }),
};
