/* Support hub chat widget. Embed with:
 *   <script src="https://HUB/widget.js" data-inbox="PUBLIC_TOKEN" async></script>
 * Optional identity (verified when your backend signs it): window.HubChatSettings = {identity: {email, name,
 * phone}, identity_hmac: "<hex HMAC-SHA256(identity secret, email)>"} before the tag, or data-email,
 * data-name, data-identity-hmac attributes. Renders in a shadow root; keeps its visitor token in this page's
 * localStorage and sends it explicitly, so no cookie of the hub's domain is used. */
(() => {
  "use strict";
  const script = document.currentScript || document.querySelector('script[src*="widget.js"][data-inbox]');
  if (!script || window.__hubChat) return;
  const HUB = new URL(script.src).origin;
  const INBOX = script.dataset.inbox;
  const cfg = window.HubChatSettings || {};
  const KEY = "hubchat:" + INBOX;
  const store = {
    get() { try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; } },
    set(v) { try { localStorage.setItem(KEY, JSON.stringify(Object.assign(store.get(), v))); } catch (e) { /* private mode */ } },
  };
  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k.startsWith("on")) el.addEventListener(k.slice(2), attrs[k]);
      else if (k === "text") el.textContent = attrs[k];
      else el.setAttribute(k, attrs[k]);
    }
    for (const kid of kids) if (kid) el.append(kid);
    return el;
  };
  const uid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)).replace(/[^A-Za-z0-9-]/g, "");

  const host = h("div", { id: "hub-chat-widget" });
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `<style>
:host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
.launch{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 4px 14px #0003;z-index:2147483646;font-size:24px}
.panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 40px);height:520px;max-height:calc(100vh - 110px);background:#fff;color:#111;border-radius:12px;box-shadow:0 8px 30px #0004;display:none;flex-direction:column;overflow:hidden;z-index:2147483647}
.panel.open{display:flex}header{background:var(--c);color:#fff;padding:12px 14px;display:flex;justify-content:space-between;align-items:center}
header b{font-weight:600}header button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}
.sub{font-size:12px;opacity:.85}.log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px;background:#f7f7f8}
.m{max-width:80%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}
.m.in{align-self:flex-end;background:var(--c);color:#fff}.m.out{align-self:flex-start;background:#fff;border:1px solid #e3e3e6}
.m.pending{opacity:.6}.m.failed{outline:1px solid #c00}.m small{display:block;font-size:11px;opacity:.7;margin-top:2px}
.m a{color:inherit}.m img{max-width:100%;border-radius:6px;display:block}
.greet{align-self:flex-start;background:#fff;border:1px solid #e3e3e6}.typing{font-size:12px;color:#666;padding:0 12px;min-height:16px}
.bar{font-size:12px;padding:6px 12px;background:#fff4e5;color:#7a4100;display:none}.bar.show{display:block}
form{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e3e6;background:#fff;align-items:flex-end}
form.stack{flex-direction:column;align-items:stretch}
textarea,input{flex:1;border:1px solid #ccc;border-radius:8px;padding:8px;resize:none;color:#111;background:#fff}
button.send{background:var(--c);color:#fff;border:0;border-radius:8px;padding:8px 12px;cursor:pointer}
label{font-size:12px;color:#444}.attach{background:none;border:0;cursor:pointer;font-size:18px;padding:6px}
.hidden{display:none!important}</style>`;
  const log = h("div", { class: "log", part: "log" });
  const typingEl = h("div", { class: "typing" });
  const bar = h("div", { class: "bar", role: "status" });
  const title = h("b", { text: "Chat" });
  const sub = h("div", { class: "sub" });
  const text = h("textarea", { rows: "2", placeholder: "Type a message…", "aria-label": "Message" });
  const file = h("input", { type: "file", class: "hidden" });
  const composer = h("form", { class: "composer" },
    h("button", { type: "button", class: "attach", title: "Attach a file", "aria-label": "Attach a file", onclick: () => file.click() }, "📎"),
    file, text, h("button", { type: "submit", class: "send" }, "Send"));
  const prechat = h("form", { class: "prechat stack hidden" });
  const offline = h("form", { class: "offline stack hidden" });
  const panel = h("div", { class: "panel", role: "dialog", "aria-label": "Chat" },
    h("header", null, h("div", null, title, sub), h("button", { type: "button", "aria-label": "Close", onclick: () => toggle(false) }, "×")),
    log, typingEl, bar, prechat, offline, composer);
  const launch = h("button", { class: "launch", "aria-label": "Open chat", onclick: () => toggle() }, "💬");
  root.append(panel, launch);

  let token = null, ws = null, info = null, online = true, lastId = 0, retry = 0, readSent = 0;
  const shown = new Map(); // message id or "c:" + client id -> element
  let outbox = store.get().outbox || []; // unacknowledged {client_id, text}
  let typingAt = 0, typingTimer = null, agentTypingTimer = null;

  function toggle(open) {
    const on = open === undefined ? !panel.classList.contains("open") : open;
    panel.classList.toggle("open", on);
    if (on) { markRead(); text.focus(); }
  }
  function notice(msg, ms) {
    bar.textContent = msg; bar.classList.toggle("show", !!msg);
    if (ms) setTimeout(() => { if (bar.textContent === msg) notice(""); }, ms);
  }
  function render(m) {
    const key = m.id ? m.id : "c:" + m.client_id;
    let el = shown.get(key) || (m.client_id && shown.get("c:" + m.client_id));
    const fresh = !el;
    if (fresh) el = h("div");
    el.className = "m " + (m.direction === "out" ? "out" : "in") + (m.id ? "" : " pending") + (m.failed ? " failed" : "");
    el.dataset.id = m.id || ""; el.dataset.clientId = m.client_id || "";
    el.textContent = m.text || "";
    for (const a of m.attachments || []) {
      const url = HUB + a.url + "?token=" + encodeURIComponent(token);
      el.append(a.content_type.startsWith("image/") ? h("a", { href: url, target: "_blank", rel: "noopener" }, h("img", { src: url, alt: a.filename }))
        : h("a", { href: url, target: "_blank", rel: "noopener", text: "📄 " + a.filename }));
    }
    const meta = [m.direction === "out" && m.author_name ? m.author_name : "", m.status === "read" && m.direction === "in" ? "Seen" : ""].filter(Boolean).join(" · ");
    if (meta) el.append(h("small", { text: meta }));
    if (m.id) { shown.set(m.id, el); if (m.client_id) shown.delete("c:" + m.client_id); } else shown.set(key, el);
    el._m = m;
    if (fresh) {
      const after = [...log.children].find((c) => c._m && c._m.id && m.id && c._m.id > m.id);
      log.insertBefore(el, m.id ? after || null : null);
    }
    if (m.id && m.id > lastId) lastId = m.id;
    log.scrollTop = log.scrollHeight;
  }
  function markRead() {
    if (!panel.classList.contains("open") || !ws || ws.readyState !== 1) return;
    let max = 0;
    for (const [k, el] of shown) if (typeof k === "number" && el._m.direction === "out" && el._m.status !== "read") max = Math.max(max, k);
    if (max > readSent) { readSent = max; send({ type: "read", message_id: max }); }
  }
  function send(frame) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; } return false; }
  function flush() { for (const o of outbox) send({ type: "message", text: o.text, client_id: o.client_id }); }

  async function session() {
    const body = { inbox: INBOX, token: store.get().token || null };
    const ident = cfg.identity || (script.dataset.email ? { email: script.dataset.email, name: script.dataset.name } : null);
    if (ident) body.identity = ident;
    const mac = cfg.identity_hmac || script.dataset.identityHmac;
    if (mac) body.identity_hmac = mac;
    const r = await fetch(HUB + "/api/v1/widget/session", { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "text/plain" }, credentials: "omit" });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.detail || "Chat is unavailable (" + r.status + ")");
    if (data.visitor_id !== store.get().visitor_id) { lastId = 0; log.querySelectorAll(".m:not(.greet)").forEach((e) => e.remove()); shown.clear(); }
    token = data.token; info = data.inbox; online = data.online;
    store.set({ token, visitor_id: data.visitor_id });
    panel.style.setProperty("--c", info.color); launch.style.setProperty("--c", info.color);
    title.textContent = info.title; sub.textContent = online ? "We typically reply in a few minutes" : "We're away";
    if (!log.querySelector(".greet")) log.prepend(h("div", { class: "m greet", text: info.greeting }));
    buildPrechat(data.needs_prechat);
    return data;
  }
  function buildPrechat(needed) {
    if (!needed) return;
    prechat.replaceChildren(h("label", { text: "Before we start:" }));
    for (const f of info.prechat_fields) {
      prechat.append(h("label", { text: (f.label || f.name) + (f.required ? " *" : "") }),
        h("input", Object.assign({ name: f.name, type: f.type || "text" }, f.required ? { required: "" } : {})));
    }
    prechat.append(h("button", { type: "submit", class: "send" }, "Start chat"));
    prechat.classList.remove("hidden"); composer.classList.add("hidden");
  }
  function showOffline() {
    offline.replaceChildren(h("label", { text: info.offline_message }),
      h("input", { name: "email", type: "email", required: "", placeholder: "you@example.com", "aria-label": "Email" }),
      h("textarea", { name: "text", rows: "3", required: "", placeholder: "Your message", "aria-label": "Offline message" }),
      h("button", { type: "submit", class: "send" }, "Send"));
    offline.classList.remove("hidden"); composer.classList.add("hidden");
  }
  function connect() {
    const url = HUB.replace(/^http/, "ws") + "/ws/widget?token=" + encodeURIComponent(token) + (lastId ? "&after=" + lastId : "");
    ws = new WebSocket(url);
    ws.onopen = () => { retry = 0; notice(""); };
    ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      ws = null;
      if (ev.code === 4401) { store.set({ token: null }); start(); return; }
      if (ev.code === 4403 || ev.code === 4404) return;
      if (ev.code !== 4429) notice("Reconnecting…");
      setTimeout(connect, ev.code === 4429 ? 10000 : Math.min(15000, 500 * 2 ** retry++));
    };
  }
  function onFrame(f) {
    switch (f.type) {
      case "hello":
        online = f.online;
        if (!online && !f.conversation_ids.length && prechat.classList.contains("hidden")) showOffline();
        break;
      case "history":
        for (const m of f.messages) render(m);
        flush(); markRead();
        break;
      case "message":
        render(f); if (f.direction === "out") { typingEl.textContent = ""; markRead(); }
        break;
      case "ack": {
        outbox = outbox.filter((o) => o.client_id !== f.client_id); store.set({ outbox });
        const el = shown.get("c:" + f.client_id);
        if (el) render(Object.assign({}, el._m, { id: f.id, conversation_id: f.conversation_id }));
        break;
      }
      case "status": {
        const el = shown.get(f.id);
        if (el) render(Object.assign({}, el._m, { status: f.status }));
        break;
      }
      case "typing":
        typingEl.textContent = f.typing ? (f.name || "Agent") + " is typing…" : "";
        clearTimeout(agentTypingTimer);
        if (f.typing) agentTypingTimer = setTimeout(() => (typingEl.textContent = ""), 8000);
        break;
      case "prechat.ok":
        prechat.classList.add("hidden");
        if (online) composer.classList.remove("hidden"); else showOffline();
        break;
      case "offline.ok":
        offline.classList.add("hidden"); composer.classList.remove("hidden");
        notice(f.mode === "email" ? "Thanks! We'll reply by email." : "Thanks! We'll get back to you here and by email.", 8000);
        break;
      case "error":
        if (f.client_id) {
          const el = shown.get("c:" + f.client_id);
          if (el && f.code !== "rate_limited") { outbox = outbox.filter((o) => o.client_id !== f.client_id); store.set({ outbox }); render(Object.assign({}, el._m, { failed: true })); }
        }
        notice(f.detail, f.retry_after ? f.retry_after * 1000 : 8000);
        if (f.code === "rate_limited" && f.retry_after) setTimeout(flush, f.retry_after * 1000);
        break;
    }
  }
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = text.value.trim();
    if (!body) return;
    const o = { client_id: uid(), text: body };
    outbox.push(o); store.set({ outbox });
    render({ client_id: o.client_id, text: body, direction: "in" });
    text.value = "";
    send({ type: "message", text: body, client_id: o.client_id });
    if (typingAt) { typingAt = 0; send({ type: "typing", typing: false }); }
  });
  text.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); composer.requestSubmit(); } });
  text.addEventListener("input", () => {
    const now = Date.now();
    if (now - typingAt > 2500) { typingAt = now; send({ type: "typing", typing: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingAt = 0; send({ type: "typing", typing: false }); }, 4000);
  });
  file.addEventListener("change", async () => {
    const f = file.files[0];
    file.value = "";
    if (!f) return;
    if (f.size > info.max_attachment_bytes) return notice(`The file is larger than ${Math.round(info.max_attachment_bytes / 1024)} KB; send a smaller one.`, 8000);
    const form = new FormData();
    form.append("token", token); form.append("client_id", uid()); form.append("file", f);
    notice("Uploading " + f.name + "…");
    const r = await fetch(HUB + "/api/v1/widget/attachments", { method: "POST", body: form, credentials: "omit" }).catch(() => null);
    const data = r ? await r.json().catch(() => ({})) : {};
    notice(r && r.ok ? "" : data.detail || "The upload failed; try again.", 8000);
  });
  prechat.addEventListener("submit", (e) => {
    e.preventDefault();
    send({ type: "prechat", fields: Object.fromEntries(new FormData(prechat)) });
  });
  offline.addEventListener("submit", (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(offline));
    const client_id = uid();
    render({ client_id, text: d.text, direction: "in" });
    send({ type: "offline", email: d.email, text: d.text, client_id });
  });
  async function start() {
    try { await session(); connect(); }
    catch (err) { notice(err.message); setTimeout(start, 10000); }
  }
  window.__hubChat = { open: () => toggle(true), close: () => toggle(false) };
  (document.body || document.documentElement).append(host);
  start();
})();
