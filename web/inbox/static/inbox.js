// The agent inbox's live behaviour: the /ws/agent socket (new messages, assignments, presence, viewing and
// typing), actions sent to the REST API, and keyboard shortcuts. Pages are server-rendered; this script
// only asks htmx to re-fetch the fragments an event makes stale.
(function () {
  "use strict";

  const app = document.getElementById("app");
  const ME = Number(app.dataset.userId);
  let CSRF = app.dataset.csrf; // rendered with the page; /api/v1/auth/me gives the current one
  const VIEWER_TTL = 75000; // a viewer not heard from for this long is gone
  const TYPING_TTL = 6000;
  const HEARTBEAT = 30000;

  let socket = null;
  let wasConnected = false;
  let backoff = 500;
  let current = null; // the open conversation id
  const viewers = new Map(); // user id -> {name, until}
  const typers = new Map(); // user id -> {name, until, private}

  // ---------------------------------------------------------------- helpers
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

  function toast(text, kind) {
    const box = document.createElement("div");
    box.className = "toast " + (kind || "error");
    box.textContent = text;
    $("#toasts").appendChild(box);
    setTimeout(() => box.remove(), 6000);
  }

  async function refreshCsrf() {
    const resp = await fetch("/api/v1/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) return false;
    const me = await resp.json();
    if (!me.csrf_token || me.csrf_token === CSRF) return false;
    CSRF = me.csrf_token;
    app.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": CSRF }));
    return true;
  }

  async function api(method, url, body, retried) {
    const resp = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": CSRF },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (resp.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname));
      throw new Error("signed out");
    }
    let data = null;
    try { data = await resp.json(); } catch (_) { /* empty body */ }
    if (resp.status === 403 && !retried && data && /CSRF/.test(data.detail || "") && (await refreshCsrf())) {
      return api(method, url, body, true); // the session was renewed in another tab
    }
    if (!resp.ok) {
      const detail = (data && (data.detail || data.message)) || resp.status + " " + resp.statusText;
      const err = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function localTimes(root) {
    const fmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    const short = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
    const today = new Date().toDateString();
    $all("time[datetime]", root).forEach((el) => {
      const d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = fmt.format(d);
      el.textContent = el.hasAttribute("data-relative") && d.toDateString() === today ? short.format(d) : fmt.format(d);
    });
  }

  // ---------------------------------------------------------------- fragments
  function listUrl() {
    const params = new URLSearchParams(new FormData($("#filters")));
    for (const [k, v] of Array.from(params.entries())) if (!v) params.delete(k);
    return "/app/list?" + params.toString();
  }

  // Each fragment is its own request source: htmx drops a second request from a source that is busy.
  function fetchInto(selector, url) {
    const target = $(selector);
    if (!target) return Promise.resolve();
    return htmx.ajax("GET", url, { source: target, target: target, swap: "innerHTML" });
  }

  const refreshList = debounce(() => {
    fetchInto("#list", listUrl());
  }, 400);

  const refreshTimeline = debounce(() => {
    if (!current) return;
    const tl = $("#timeline");
    const atBottom = tl && tl.scrollHeight - tl.scrollTop - tl.clientHeight < 80;
    fetchInto("#timeline", `/app/conversations/${current}/timeline`).then(() => {
      if (atBottom) scrollTimeline();
    });
  }, 150);

  const refreshHeader = debounce(() => {
    if (!current) return;
    fetchInto("#conv-header", `/app/conversations/${current}/header`);
    fetchInto("#contact", `/app/conversations/${current}/contact`);
  }, 150);

  function scrollTimeline() {
    const tl = $("#timeline");
    if (tl) tl.scrollTop = tl.scrollHeight;
  }

  function timelineShows(conversationId) {
    const ol = $("#timeline ol.items");
    if (!ol) return false;
    return (ol.dataset.conversations || "").split(",").map(Number).includes(conversationId);
  }

  // ---------------------------------------------------------------- socket
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function setConnection(state) {
    const el = $("#connection");
    el.dataset.state = state;
    el.textContent = { open: "live", closed: "reconnecting…", connecting: "connecting…" }[state] || state;
  }

  function connect() {
    setConnection("connecting");
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/agent");
    socket.addEventListener("open", () => {
      backoff = 500;
      setConnection("open");
      if (wasConnected) {
        // events sent while the socket was down are lost: catch up from the server
        refreshList();
        refreshTimeline();
        refreshHeader();
        fetchInto("#team", "/app/team");
      }
      wasConnected = true;
      if (current) send({ type: "viewing", conversation_id: current });
      const status = $("#my-status").value;
      if (status === "away") send({ type: "presence", status: "away" });
    });
    socket.addEventListener("message", (msg) => {
      let frame;
      try { frame = JSON.parse(msg.data); } catch (_) { return; }
      handle(frame);
    });
    socket.addEventListener("close", () => {
      setConnection("closed");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    });
  }

  function handle(frame) {
    const name = frame.event;
    const data = frame.data || {};
    const cid = frame.conversation_id;
    switch (name) {
      case "presence.snapshot":
        (data.users || []).forEach(showPresence);
        break;
      case "presence":
        showPresence(data);
        break;
      case "message.created":
      case "message.updated":
        refreshList();
        if (cid === current || timelineShows(cid)) {
          refreshTimeline();
          if (cid === current && name === "message.created") markRead();
          if (data.author_kind === "contact") typers.delete("contact"), renderCollision();
        }
        break;
      case "conversation.created":
        refreshList();
        break;
      case "conversation.updated":
        refreshList();
        if ((data.changed || []).includes("assignee_id") && data.assignee_id === ME && cid !== current) {
          toast(`Conversation #${cid}${data.contact_name ? " with " + data.contact_name : ""} is now assigned to you.`, "info");
        }
        if (cid === current) {
          refreshHeader();
          refreshTimeline();
        }
        break;
      case "viewing":
        if (cid !== current || data.user_id === ME) break;
        if (data.viewing) {
          viewers.set(data.user_id, { name: data.name, until: Date.now() + VIEWER_TTL });
          if (!data.again) send({ type: "viewing", conversation_id: current, again: true });
        } else {
          viewers.delete(data.user_id);
          typers.delete(data.user_id);
        }
        renderCollision();
        break;
      case "typing": {
        if (cid !== current || data.user_id === ME) break;
        const key = data.author_kind === "contact" ? "contact" : data.user_id;
        if (data.typing) typers.set(key, { name: data.name || "The customer", until: Date.now() + TYPING_TTL, private: data.private });
        else typers.delete(key);
        renderCollision();
        break;
      }
      case "error":
        if (data.detail) console.warn("hub:", data.detail);
        break;
      default:
        break;
    }
  }

  function showPresence(u) {
    u = { ...u, status: u.status || u.availability }; // ticketing's availability API says "availability"
    if (!u.status) return;
    if (u.user_id === ME) {
      $("#my-status-dot").dataset.status = u.status;
      if (u.status === "online" || u.status === "away") $("#my-status").value = u.status;
      return;
    }
    const li = $(`#team li[data-user-id="${u.user_id}"]`);
    if (!li) return;
    li.dataset.status = u.status;
    $(".dot", li).dataset.status = u.status;
    $(".team-status", li).textContent = u.status;
  }

  function renderCollision() {
    const box = $("#collision");
    if (!box) return;
    const now = Date.now();
    for (const [k, v] of viewers) if (v.until < now) viewers.delete(k);
    for (const [k, v] of typers) if (v.until < now) typers.delete(k);
    const parts = [];
    for (const [k, v] of typers) {
      parts.push(k === "contact" ? `${v.name} is typing…` : `${v.name} is typing ${v.private ? "a note" : "a reply"}…`);
    }
    const watching = Array.from(viewers.entries()).filter(([k]) => !typers.has(k)).map(([, v]) => v.name);
    if (watching.length) parts.push(`${watching.join(", ")} ${watching.length > 1 ? "are" : "is"} also viewing`);
    box.textContent = parts.join(" · ");
    box.classList.toggle("active", parts.length > 0);
    box.classList.toggle("typing", typers.size > 0);
  }
  setInterval(renderCollision, 2000);

  // ---------------------------------------------------------------- conversation pane
  function paneOpened() {
    const pane = $("#pane");
    const id = pane ? Number(pane.dataset.conversationId) : null;
    $("#selected").value = id || "";
    if (id !== current) {
      viewers.clear();
      typers.clear();
      current = id;
      send({ type: "viewing", conversation_id: current });
    }
    $all("#conv-list a.item").forEach((a) => {
      const on = Number(a.dataset.conversationId) === current;
      a.classList.toggle("selected", on);
      if (on) { a.setAttribute("aria-current", "true"); a.classList.remove("unread"); const u = $(".unread-count", a); if (u) u.remove(); }
      else a.removeAttribute("aria-current");
    });
    scrollTimeline();
    renderCollision();
    loadSuggestions();
  }

  function markRead() {
    if (current) api("POST", `/app/conversations/${current}/read`).catch(() => {});
  }

  async function patch(body) {
    if (!current) return;
    try {
      await api("PATCH", `/api/v1/conversations/${current}`, body);
      refreshHeader();
      refreshTimeline();
      refreshList();
    } catch (err) {
      toast(err.message);
      refreshHeader();
    }
  }

  function snoozeUntil(choice) {
    const d = new Date();
    if (choice === "1h") d.setHours(d.getHours() + 1);
    else if (choice === "4h") d.setHours(d.getHours() + 4);
    else if (choice === "tomorrow") { d.setDate(d.getDate() + 1); d.setHours(9, 0, 0, 0); }
    else if (choice === "week") { d.setDate(d.getDate() + ((8 - d.getDay()) % 7 || 7)); d.setHours(9, 0, 0, 0); }
    else return null;
    return d.toISOString();
  }

  function setMode(mode) {
    const form = $("#composer");
    if (!form) return;
    form.dataset.mode = mode;
    $all(".composer-tabs [role=tab]", form).forEach((t) => t.setAttribute("aria-selected", String(t.dataset.mode === mode)));
    $all("#reply-hint [data-show]", form).forEach((s) => { s.hidden = s.dataset.show !== mode; });
    const ta = $("#composer-text");
    ta.placeholder = mode === "note" ? "Write a private note for your team…  (Ctrl+Enter saves)" : "Write a reply…  (Ctrl+Enter sends)";
    $("#send-button").textContent = mode === "note" ? "Add note" : "Send";
  }

  let typingSent = 0;
  let typingStop = null;
  function typing() {
    if (!current) return;
    const priv = $("#composer").dataset.mode === "note";
    const now = Date.now();
    if (now - typingSent > 2500) {
      send({ type: "typing", conversation_id: current, typing: true, private: priv });
      typingSent = now;
    }
    clearTimeout(typingStop);
    typingStop = setTimeout(stopTyping, 4000);
  }
  function stopTyping() {
    clearTimeout(typingStop);
    if (typingSent && current) send({ type: "typing", conversation_id: current, typing: false });
    typingSent = 0;
  }

  async function submitComposer(form) {
    const ta = $("#composer-text");
    const text = ta.value.trim();
    if (!text || !current) return;
    const note = form.dataset.mode === "note";
    const button = $("#send-button");
    button.disabled = true;
    try {
      await api("POST", `/api/v1/conversations/${current}/${note ? "notes" : "messages"}`, { text });
      ta.value = "";
      stopTyping();
      refreshTimeline();
      refreshList();
      setTimeout(scrollTimeline, 300);
    } catch (err) {
      toast(err.message);
    } finally {
      button.disabled = false;
    }
  }

  // canned responses and article suggestions, when those packages are installed
  async function loadCanned(q) {
    const list = $("#canned-list");
    try {
      const params = new URLSearchParams({ q: q || "" });
      if (current) params.set("conversation_id", current);
      const data = await api("GET", "/api/v1/canned-responses?" + params.toString());
      const items = Array.isArray(data) ? data : data.items || [];
      list.innerHTML = "";
      if (!items.length) list.innerHTML = '<li class="muted">No canned responses match.</li>';
      items.slice(0, 20).forEach((item) => {
        const text = item.rendered || item.body || "";
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = (item.shortcut ? "/" + item.shortcut + "  " : "") + (item.title || text.slice(0, 60));
        b.title = text;
        b.addEventListener("click", () => insertText(text));
        li.appendChild(b);
        list.appendChild(li);
      });
    } catch (err) {
      list.innerHTML = "";
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = err.status === 404 ? "Canned responses are not set up on this hub." : err.message;
      list.appendChild(li);
    }
  }

  const searchCanned = debounce(() => loadCanned($("#canned-q").value), 200);

  function insertText(text) {
    const ta = $("#composer-text");
    const start = ta.selectionStart || ta.value.length;
    ta.value = ta.value.slice(0, start) + text + ta.value.slice(ta.selectionEnd || start);
    $("#canned").hidden = true;
    $("#canned-button").setAttribute("aria-expanded", "false");
    ta.focus();
  }

  async function loadSuggestions() {
    const box = $("#suggestions");
    if (!box || !current) return;
    try {
      const data = await api("GET", "/api/v1/kb/suggest?conversation_id=" + current);
      const items = (Array.isArray(data) ? data : data.results || data.items || []).slice(0, 3);
      box.innerHTML = "";
      if (!items.length) { box.hidden = true; return; }
      const label = document.createElement("span");
      label.className = "muted";
      label.textContent = "Suggested articles:";
      box.appendChild(label);
      items.forEach((a) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "chip";
        const url = a.url && !a.url.startsWith("http") ? location.origin + a.url : a.url || "";
        b.textContent = a.title || url;
        b.title = (a.snippet ? a.snippet + "\n" : "") + "Insert a link to this article";
        b.addEventListener("click", () => insertText(`${a.title}: ${url}`));
        box.appendChild(b);
      });
      box.hidden = false;
    } catch (_) {
      box.hidden = true;
    }
  }

  // ---------------------------------------------------------------- events from the page
  htmx.onLoad((elt) => localTimes(elt));
  document.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target.id === "conversation") paneOpened();
  });
  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    if (xhr.status === 404 && e.detail.target.id === "conversation") {
      e.detail.target.innerHTML = xhr.responseText;
      return;
    }
    toast("Could not load: " + xhr.status + " " + (xhr.statusText || ""));
  });
  document.addEventListener("htmx:historyRestore", () => { paneOpened(); localTimes(document); });

  document.addEventListener("change", (e) => {
    const el = e.target;
    if (el.id === "my-status") {
      send({ type: "presence", status: el.value });
      $("#my-status-dot").dataset.status = el.value;
      return;
    }
    if (!el.closest("#conv-header")) return;
    if (el.dataset.field) {
      const field = el.dataset.field;
      const value = field.endsWith("_id") ? (el.value ? Number(el.value) : null) : el.value;
      if (field === "status" && value === "snoozed") {
        patch({ status: "snoozed", snoozed_until: snoozeUntil("tomorrow") });
      } else {
        patch({ [field]: value });
      }
    } else if (el.dataset.action === "snooze" && el.value) {
      patch({ status: "snoozed", snoozed_until: snoozeUntil(el.value) });
    }
  });

  document.addEventListener("click", (e) => {
    const el = e.target.closest("button");
    if (!el) return;
    if (el.id === "help-button") return openHelp();
    if (el.id === "sign-out") {
      api("POST", "/api/v1/auth/logout").finally(() => window.location.assign("/login"));
      return;
    }
    if (el.dataset.mode && el.closest(".composer-tabs")) { setMode(el.dataset.mode); $("#composer-text").focus(); return; }
    if (el.id === "canned-button") {
      const pop = $("#canned");
      pop.hidden = !pop.hidden;
      el.setAttribute("aria-expanded", String(!pop.hidden));
      if (!pop.hidden) { $("#canned-q").focus(); loadCanned($("#canned-q").value); }
      return;
    }
    const action = el.dataset.action;
    if (action === "assign-me") patch({ assignee_id: ME });
    else if (action === "status") patch({ status: el.dataset.value });
    else if (action === "untag") patch({ tags: { remove: [el.dataset.tag] } });
  });

  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.id === "composer") { e.preventDefault(); submitComposer(form); }
    else if (form.dataset.action === "tag") {
      e.preventDefault();
      const tag = form.tag.value.trim().replace(/^#/, "").toLowerCase();
      if (tag) patch({ tags: { add: [tag] } });
      form.tag.value = "";
    }
  });

  document.addEventListener("input", (e) => {
    if (e.target.id === "composer-text") typing();
    if (e.target.id === "canned-q") searchCanned();
  });

  // ---------------------------------------------------------------- keyboard
  function openHelp() {
    const dlg = $("#help");
    if (!dlg.open) dlg.showModal();
  }

  function move(step) {
    const items = $all("#conv-list a.item");
    if (!items.length) return;
    let i = items.findIndex((a) => Number(a.dataset.conversationId) === current);
    i = i < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, i + step));
    items[i].click();
    items[i].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const editing = t.matches && t.matches("input, textarea, select, [contenteditable]");
    if (t.id === "composer-text" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submitComposer($("#composer"));
      return;
    }
    if (e.key === "Escape" && editing) { t.blur(); return; }
    if (editing || e.ctrlKey || e.metaKey || e.altKey) return;
    if ($("#help").open && e.key !== "?") return;
    const keys = {
      j: () => move(1),
      k: () => move(-1),
      r: () => { if (current) { setMode("reply"); $("#composer-text").focus(); } },
      n: () => { if (current) { setMode("note"); $("#composer-text").focus(); } },
      e: () => { if (current) patch({ status: "resolved" }); },
      a: () => { if (current) patch({ assignee_id: ME }); },
      "/": () => $("#search").focus(),
      "?": () => openHelp(),
    };
    const fn = keys[e.key];
    if (fn) { e.preventDefault(); fn(); }
  });

  // ---------------------------------------------------------------- start
  localTimes(document);
  const pane = $("#pane");
  current = pane ? Number(pane.dataset.conversationId) : null;
  if (current) { scrollTimeline(); loadSuggestions(); }
  setInterval(() => { if (current) send({ type: "viewing", conversation_id: current, again: true }); }, HEARTBEAT);
  window.addEventListener("pagehide", () => { if (socket) socket.close(); });
  connect();
})();
