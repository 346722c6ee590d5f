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
  // Where the visitor came from (an entry link): data-source="<reference>" on the tag, or ?sb_ref=<reference> in the
  // page's address (a link or QR code to the page). Sent with the page's address at session start; the server keeps
  // the page's scheme, host and path only.
  const pageRef = (() => { try { return new URL(location.href).searchParams.get("sb_ref"); } catch { return null; } })();
  const source = (script && script.dataset.source) || pageRef || undefined;
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
      .attach { background: #eef2f6 !important; color: #1f4e8c !important; font-size: 18px !important; padding: 0 10px !important; }
      .msg img { display: block; max-width: 100%; max-height: 200px; border-radius: 6px; margin-top: 4px; }
      .msg a { color: inherit; }
      .file { display: block; margin-top: 4px; text-decoration: underline; }
      .attach { display: inline-flex; align-items: center; }
      .msg progress { display: block; width: 100%; margin-top: 4px; }
      .choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
      .choices button { border: 1px solid #1f4e8c; background: #fff; color: #1f4e8c; border-radius: 14px; padding: 4px 10px; font: 13px system-ui; cursor: pointer; }
      .choices button.chosen { background: #1f4e8c; color: #fff; }
      .choices button:disabled { cursor: default; }
      .quote { margin: 0 0 6px; padding: 2px 8px; border-left: 3px solid #9aa7b5; color: #4a5663; font-size: 13px; }
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
        <button type="button" class="attach" aria-label="Attach an image or a PDF" title="Attach an image or a PDF"><svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"/></svg></button>
        <input type="file" hidden accept="image/jpeg,image/png,image/gif,image/webp,application/pdf" multiple>
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

  function bubble(id, who, text, pending = false, files = [], extra = {}) {
    let el = id && log.querySelector(`[data-id="${CSS.escape(id)}"]`);
    if (!el) {
      el = document.createElement("div");
      if (id) el.dataset.id = id;
      log.append(el);
    }
    el.className = `msg ${who}${pending ? " pending" : ""}`;
    el.textContent = "";
    if (extra.quoted) { // rich replies: what an agent's reply quotes
      const q = document.createElement("blockquote");
      q.className = "quote";
      q.textContent = extra.quoted.text || "";
      el.append(q);
    }
    el.append(text);
    for (const f of files) el.append(fileView(f));
    if (extra.choices && extra.choices.length) el.append(choiceButtons(extra.choices)); // an in-channel survey
    log.scrollTop = log.scrollHeight;
    return el;
  }

  // Buttons an agent's message offers (rich replies: the rating question): a choice is sent as the visitor's answer.
  function choiceButtons(choices) {
    const row = document.createElement("div");
    row.className = "choices";
    row.setAttribute("role", "group");
    for (const c of choices) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = c.title; b.dataset.payload = c.id;
      b.addEventListener("click", () => {
        row.querySelectorAll("button").forEach((x) => { x.disabled = true; });
        b.classList.add("chosen");
        send(c.title, [], null, c.id);
      });
      row.append(b);
    }
    return row;
  }

  // Files in the chat (rich replies): images inline, others as a link with their size, by short-lived links.
  function size(n) { return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`; }
  function fileView(f) {
    const name = f.filename || "file";
    if (!f.url || !/^https?:\/\//i.test(f.url)) {
      const span = document.createElement("span");
      span.className = "file";
      span.textContent = f.status === "failed" ? `${name}: could not be stored` : `${name}…`;
      return span;
    }
    const link = document.createElement("a");
    link.href = f.url; link.target = "_blank"; link.rel = "noopener noreferrer"; link.className = "file";
    if (/^image\/(jpeg|png|gif|webp)$/i.test(f.mime_type || "")) {
      const img = document.createElement("img");
      img.src = f.url; img.alt = name;
      link.append(img);
    } else {
      link.textContent = `${name} (${size(f.size || 0)})`;
    }
    return link;
  }

  async function call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (session) headers.Authorization = `Bearer ${session.token}`;
    const res = await fetch(`${api}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    if (res.status === 401 && path !== "/webchat/sessions") { session = null; await start(); return call(method, path, body); }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const error = new Error((data.error && data.error.message) || `HTTP ${res.status}`);
      error.code = data.error && data.error.code;
      // Rate limited (429): the server says when to try again.
      if (res.status === 429) error.retryAfter = Math.min(120, Number(res.headers.get("Retry-After")) || 30);
      throw error;
    }
    return data;
  }

  let starting = null; // one session request at a time (the first poll and the socket both need one)
  async function start() {
    if (session && Date.parse(session.expires_at) > Date.now() + 60000) return;
    if (!starting) {
      starting = (async () => {
        const saved = state();
        session = await call("POST", "/webchat/sessions", { widget_id: widgetId, visitor_id: saved.visitor_id, source,
                                                           page_url: location.href });
        save({ visitor_id: session.visitor_id });
      })().finally(() => { starting = null; });
    }
    return starting;
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
          const files = m.attachments || [];
          const key = m.id + files.map((f) => f.status).join(); // a file's message again once its file is stored
          if (seen.has(key)) continue;
          seen.add(key);
          bubble(m.id, m.from === "you" ? "you" : "agent", m.text, false, files, { choices: m.choices, quoted: m.quoted });
        }
        if (!page.next_cursor) break;
        resume = cursor = page.next_cursor;
      }
      show("");
    } catch (e) {
      if (e.code === "invalid_cursor") resume = null;  // the conversation changed: read it from the start
      show("Reconnecting…");
    }
  }

  async function send(text, attachmentIds = [], el = null, payload = null) {
    const clientId = uuid();
    el = el || bubble(null, "you", text, true);
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await start();
        const body = attachmentIds.length ? { client_message_id: clientId, text, attachment_ids: attachmentIds }
          : { client_message_id: clientId, text };
        if (payload) body.payload = payload; // a button's id (rich replies)
        const res = await call("POST", "/webchat/messages", body);
        if (!attachmentIds.length) seen.add(res.id); // a file's message is drawn again by the poll, with its file
        el.dataset.id = res.id;
        el.classList.remove("pending");
        return;
      } catch (e) {
        show(e.retryAfter ? `Too many messages: sending again in ${e.retryAfter} s…` : "Sending failed, retrying…");
        await new Promise((r) => setTimeout(r, 1000 * (e.retryAfter || 2 ** attempt)));
      }
    }
    show("Your message could not be sent. Please try again.");
  }

  // The live workspace (issue 15): agents' replies and typing pushed over a WebSocket (data-ws, else /ws of the
  // API's origin) with the visitor's token; a reply is then read as a poll would. Reconnects with backoff; polls
  // while the socket is down, and once a minute while it is up (a safety net).
  const wsBase = (script && script.dataset.ws) || `${api.replace(/^http/, "ws")}/ws`;
  let socket = null, live = false, wsAttempt = 0, wsTimer = null, typingTimer = null, isOpen = false;
  const SAFETY_POLL_MS = 60000;

  function pollEvery(ms) { clearInterval(timer); timer = setInterval(poll, ms); }

  async function connectLive() {
    clearTimeout(wsTimer);
    if (!isOpen || socket || typeof WebSocket === "undefined") return;
    try { await start(); } catch { scheduleLive(); return; }
    const ws = new WebSocket(`${wsBase}?visitor_token=${encodeURIComponent(session.token)}`);
    socket = ws;
    ws.onopen = () => { live = true; wsAttempt = 0; pollEvery(SAFETY_POLL_MS); poll(); };  // caught up after a gap
    ws.onmessage = (e) => {
      let event;
      try { event = JSON.parse(e.data); } catch { return; }
      if (event.type === "message.created" || event.type === "message.updated") poll(); // a reply; a file stored
      else if (event.type === "typing") {
        show("An agent is typing…");
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { if (note.textContent === "An agent is typing…") show(""); }, 6000);
      }
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      live = false;
      if (isOpen) { pollEvery(POLL_MS); scheduleLive(); }
    };
  }

  function scheduleLive() {
    wsTimer = setTimeout(connectLive, Math.min(30000, 1000 * 2 ** wsAttempt++) * (0.5 + Math.random() / 2));
  }

  function open(yes) {
    panel.classList.toggle("open", yes);
    launcher.setAttribute("aria-expanded", String(yes));
    clearInterval(timer);
    isOpen = yes;
    if (yes) {
      poll();
      pollEvery(live ? SAFETY_POLL_MS : POLL_MS);
      connectLive();
      input.focus();
    } else {
      clearTimeout(wsTimer);
      if (socket) { const ws = socket; socket = null; live = false; ws.close(); }
      launcher.focus();
    }
  }

  // A visitor's file: uploaded straight to storage (POST /webchat/uploads answers a presigned POST), with a
  // progress bar, then sent as a message of its own.
  function upload(grant, file, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(grant.fields || {})) form.append(k, v);
      form.append("file", file);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", grant.url);
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
      xhr.addEventListener("load", () => (xhr.status < 300 ? resolve() : reject(new Error("the file was refused"))));
      xhr.addEventListener("error", () => reject(new Error("the upload failed")));
      xhr.send(form);
    });
  }

  // The files chosen together go as one message, once every one of them is uploaded.
  async function sendFiles(files) {
    const el = bubble(null, "you", files.map((f) => f.name).join(", "), true);
    const bars = files.map(() => {
      const bar = document.createElement("progress");
      bar.max = 1; bar.value = 0;
      el.append(bar);
      return bar;
    });
    try {
      await start();
      const ids = await Promise.all(files.map(async (file, i) => {
        const grant = await call("POST", "/webchat/uploads", { filename: file.name,
          content_type: file.type || "application/octet-stream", size: file.size });
        await upload(grant, file, (p) => { bars[i].value = p; });
        return grant.upload_id;
      }));
      bars.forEach((bar) => bar.remove());
      await send("", ids, el);
    } catch (e) {
      el.remove();
      show(`Not sent: ${e.message}`);
    }
  }

  const fileInput = $("input[type=file]");
  $(".attach").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    if (fileInput.files.length) sendFiles([...fileInput.files]);
    fileInput.value = "";
  });

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
