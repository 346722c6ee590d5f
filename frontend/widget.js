// Switchboard web chat widget. A website includes it with one tag:
//   <script src="https://<switchboard>/widget.js" data-api="https://<api>" data-widget="default" defer></script>
// It opens a chat window, sends the visitor's messages (each with a client_message_id, so a retry never
// doubles one), and polls for the agents' replies. The visitor id lives in localStorage: only this browser
// can resume its conversation. No third-party code, no cookies.
(() => {
  "use strict";
  const script = document.currentScript;
  const api = (script && script.dataset.api) || new URL(script ? script.src : location.href).origin;
  const widgetId = (script && script.dataset.widget) || "default";
  const title = (script && script.dataset.title) || "Chat with us";
  // help center: articles suggested while the visitor types, before a chat starts
  const suggestTitle = (script && script.dataset.suggestionsTitle) || "These articles may answer your question";
  const storeKey = `switchboard:${widgetId}`;
  const POLL_MS = 4000;
  let session = null;
  let seen = new Set();
  let timer = null;

  const state = () => { try { return JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch { return {}; } };
  const save = (patch) => localStorage.setItem(storeKey, JSON.stringify({ ...state(), ...patch }));
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`);

  const host = document.createElement("div");
  host.setAttribute("data-switchboard-widget", widgetId);
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `
    <style>
      :host { all: initial; }
      .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 24px;
        padding: 12px 18px; background: #1f4e8c; color: #fff; font: 600 15px system-ui, sans-serif; cursor: pointer; }
      .launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
      .panel { position: fixed; right: 20px; bottom: 76px; z-index: 2147483000; width: min(360px, calc(100vw - 40px));
        height: min(520px, calc(100vh - 120px)); display: none; flex-direction: column; background: #fff; color: #1d2733;
        border: 1px solid #c9d2dc; border-radius: 10px; box-shadow: 0 8px 30px rgba(0,0,0,.18); font: 15px/1.4 system-ui, sans-serif; }
      .panel.open { display: flex; }
      header { padding: 12px 14px; background: #1f4e8c; color: #fff; border-radius: 10px 10px 0 0; display: flex; justify-content: space-between; }
      header button { background: none; border: 0; color: #fff; font-size: 15px; cursor: pointer; }
      .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
      .msg { max-width: 80%; padding: 8px 11px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
      .you { align-self: flex-end; background: #1f4e8c; color: #fff; }
      .agent { align-self: flex-start; background: #eef2f6; }
      .pending { opacity: .6; }
      form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e3e8ee; }
      textarea { flex: 1; resize: none; height: 44px; font: inherit; padding: 8px; border: 1px solid #9aa7b5; border-radius: 6px; }
      form button { border: 0; border-radius: 6px; background: #1f4e8c; color: #fff; padding: 0 14px; font: 600 14px system-ui; cursor: pointer; }
      .note { color: #5b6875; font-size: 13px; padding: 0 12px 8px; }
      .suggest { border-top: 1px solid #e3e8ee; padding: 8px 12px 0; }
      .suggest p { margin: 0 0 4px; color: #5b6875; font-size: 13px; }
      .suggest ul { list-style: none; margin: 0; padding: 0; }
      .suggest li { padding: 5px 0; border-bottom: 1px solid #eef2f6; }
      .suggest a { color: #1f4e8c; font-weight: 600; text-decoration: none; }
      .suggest a:focus-visible { outline: 3px solid #f5a623; }
      .suggest span { display: block; color: #5b6875; font-size: 13px; }
    </style>
    <button class="launcher" type="button" aria-expanded="false">${title}</button>
    <section class="panel" role="dialog" aria-label="${title}">
      <header><span>${title}</span><button type="button" class="close" aria-label="Close chat">Close</button></header>
      <div class="log" role="log" aria-live="polite"></div>
      <div class="note" hidden></div>
      <div class="suggest" hidden aria-live="polite"><p></p><ul></ul></div>
      <form><label hidden for="sb-text">Message</label>
        <textarea id="sb-text" maxlength="10000" placeholder="Write a message…" required></textarea>
        <button type="submit">Send</button></form>
    </section>`;
  const $ = (sel) => root.querySelector(sel);
  const launcher = $(".launcher"), panel = $(".panel"), log = $(".log"), note = $(".note"), input = $("textarea");
  const suggest = $(".suggest");
  suggest.querySelector("p").textContent = suggestTitle;
  const opened = new Set(); // articles the visitor opened from the suggestions
  let suggestTimer = null;

  // Before the first message only: what the visitor types is searched in the published help center.
  function suggestions() {
    clearTimeout(suggestTimer);
    const q = input.value.trim();
    if (seen.size || log.children.length || q.length < 3) { suggest.hidden = true; return; }
    suggestTimer = setTimeout(async () => {
      try {
        const params = new URLSearchParams({ q, locale: navigator.language || "" });
        const res = await fetch(`${api}/webchat/articles?${params}`);
        const items = res.ok ? (await res.json()).items || [] : [];
        const list = suggest.querySelector("ul");
        list.replaceChildren(...items.map((item) => {
          const li = document.createElement("li");
          const a = document.createElement("a");
          const url = new URL(item.url, location.href);
          url.searchParams.set("from", "widget");
          a.href = url.href;
          a.target = "_blank";
          a.rel = "noopener";
          a.textContent = item.title;
          a.addEventListener("click", () => opened.add(item.id));
          const snippet = document.createElement("span");
          snippet.textContent = item.snippet || "";
          li.append(a, snippet);
          return li;
        }));
        suggest.hidden = !items.length;
      } catch { suggest.hidden = true; }
    }, 400);
  }

  // A visitor who opened a suggestion and still writes to us was not helped by it: counted, once per article.
  function chatAfterSuggestions() {
    for (const article of opened) {
      fetch(`${api}/help/chats`, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ article }) }).catch(() => {});
    }
    opened.clear();
  }

  function show(text) { note.textContent = text; note.hidden = !text; }

  function bubble(id, who, text, pending = false) {
    let el = id && log.querySelector(`[data-id="${CSS.escape(id)}"]`);
    if (!el) {
      el = document.createElement("div");
      if (id) el.dataset.id = id;
      log.append(el);
    }
    el.className = `msg ${who}${pending ? " pending" : ""}`;
    el.textContent = text;
    log.scrollTop = log.scrollHeight;
    return el;
  }

  async function call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (session) headers.Authorization = `Bearer ${session.token}`;
    const res = await fetch(`${api}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    if (res.status === 401 && path !== "/webchat/sessions") { session = null; await start(); return call(method, path, body); }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.error && data.error.message) || `HTTP ${res.status}`);
    return data;
  }

  async function start() {
    if (session && Date.parse(session.expires_at) > Date.now() + 60000) return;
    const saved = state();
    session = await call("POST", "/webchat/sessions", { widget_id: widgetId, visitor_id: saved.visitor_id });
    save({ visitor_id: session.visitor_id });
  }

  // Pages come oldest first, so new replies are on the last one: each poll reads on from the page it ended on.
  let resume = null;

  async function poll() {
    try {
      await start();
      let cursor = resume;
      for (;;) {
        const page = await call("GET", "/webchat/messages" + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""));
        for (const m of page.items) {
          if (seen.has(m.id)) continue;
          seen.add(m.id);
          bubble(m.id, m.from === "you" ? "you" : "agent", m.text);
        }
        if (!page.next_cursor) break;
        resume = cursor = page.next_cursor;
      }
      show("");
    } catch (e) { show("Reconnecting…"); }
  }

  async function send(text) {
    const clientId = uuid();
    const el = bubble(null, "you", text, true);
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await start();
        const res = await call("POST", "/webchat/messages", { client_message_id: clientId, text });
        seen.add(res.id);
        el.dataset.id = res.id;
        el.classList.remove("pending");
        return;
      } catch (e) {
        show("Sending failed, retrying…");
        await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
      }
    }
    show("Your message could not be sent. Please try again.");
  }

  function open(yes) {
    panel.classList.toggle("open", yes);
    launcher.setAttribute("aria-expanded", String(yes));
    clearInterval(timer);
    if (yes) { poll(); timer = setInterval(poll, POLL_MS); input.focus(); } else { launcher.focus(); }
  }

  launcher.addEventListener("click", () => open(!panel.classList.contains("open")));
  $(".close").addEventListener("click", () => open(false));
  panel.addEventListener("keydown", (e) => { if (e.key === "Escape") open(false); });
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    suggest.hidden = true;
    if (opened.size) chatAfterSuggestions();
    send(text);
  });
  input.addEventListener("input", suggestions);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
  });
  document.body.append(host);
})();
