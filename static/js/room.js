/* Parley's live room client.
 *
 * Progressive enhancement: every room form is a plain HTML form that posts to
 * the server. While the websocket is open, this script sends the same form
 * as a JSON frame instead, and applies the HTML fragments the server pushes
 * (htmx out-of-band swaps). It reconnects after ANY unexpected close — not
 * only the codes htmx's ws extension retries — and resyncs from its last seq.
 * While the socket is down, forms fall back to plain POSTs and the room polls
 * a fresh render over HTTP, with a visible "live updates paused" notice.
 */
(function () {
  "use strict";

  const room = document.getElementById("room");
  if (!room) return;

  // Close codes after which the client does not come back, and what it says.
  const FINAL_MESSAGES = {
    4401: "You are signed out. Reload the page to sign in again.",
    4403: "Your access to this room was revoked.",
    4404: "This room is not available to you.",
    4409: "This room is open in too many windows or tabs, so this one was closed. Reload the page to use the room here.",
  };
  const FINAL_CODES = new Set(Object.keys(FINAL_MESSAGES).map(Number));
  const HEARTBEAT_MS = 25000;
  const POLL_MS = 10000;
  const status = document.getElementById("live-status");
  const announcer = document.getElementById("room-announcer");

  let socket = null;
  let lastSeq = Number(room.dataset.seq || 0);
  let attempts = 0;
  let finished = false;
  let heartbeat = null;
  let poller = null;
  let reconnectTimer = null;

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
    room.dataset.live = state;
  }

  function randomId() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- never lose what someone is typing ------------------------------------
  // A live update re-renders whole regions. A form the user has started to
  // edit keeps the user's values AND the version it was loaded with, so
  // saving it after someone else's change is refused as a conflict (and the
  // user sees both versions) instead of silently overwriting that change.

  function formKey(form) {
    const ids = Array.from(form.querySelectorAll("input[type=hidden]"))
      .filter((input) => /_id$/.test(input.name) && input.name !== "client_msg_id")
      .map((input) => `${input.name}=${input.value}`);
    return [form.dataset.action, ...ids].join("|");
  }

  function snapshotDirtyForms() {
    const saved = new Map();
    // A form whose submission is in flight is not kept: the update that
    // follows is usually its own result.
    const dirty = "form[data-action][data-dirty]:not([aria-busy])";
    for (const form of document.querySelectorAll(dirty)) {
      const values = [];
      for (const field of form.elements) {
        if (!field.name || field.name === "csrfmiddlewaretoken" || field.name === "client_msg_id") continue;
        if (field.type === "checkbox" || field.type === "radio") {
          values.push([field.name, field.value, field.checked]);
        } else {
          values.push([field.name, field.value, null]);
        }
      }
      saved.set(formKey(form), values);
    }
    return saved;
  }

  function restoreForms(saved) {
    for (const [key, values] of saved) {
      const form = Array.from(document.querySelectorAll("form[data-action]"))
        .find((candidate) => formKey(candidate) === key);
      if (!form || form.dataset.dirty) continue;
      const version = form.querySelector("input[name=version]");
      const before = values.find(([name]) => name === "version");
      const changedMeanwhile = version && before && version.value !== before[1];
      const byName = new Map();
      for (const field of form.elements) {
        if (field.name) byName.set(field.name, [...(byName.get(field.name) || []), field]);
      }
      const used = new Map();
      for (const [name, value, checked] of values) {
        const fields = byName.get(name) || [];
        if (checked !== null) {
          const box = fields.find((f) => f.value === value);
          if (box) box.checked = checked;
          continue;
        }
        const index = used.get(name) || 0;
        used.set(name, index + 1);
        if (fields[index]) fields[index].value = value;
      }
      form.dataset.dirty = "1";
      if (changedMeanwhile && !form.querySelector(".changed-meanwhile")) {
        const note = document.createElement("p");
        note.className = "changed-meanwhile help";
        note.textContent = "The other side changed this while you were editing. " +
          "Your text is kept here; saving will show you both versions.";
        form.prepend(note);
      }
    }
  }

  document.addEventListener("input", (event) => {
    const form = event.target.form;
    if (form && form.dataset.action) form.dataset.dirty = "1";
  });

  // A refusal shows next to the form that was refused, not at the top of the
  // page. The notice goes back to its place before any other swap, so a
  // region rendered again can never take it away.
  const noticeHome = document.createComment("room-notice");
  const homeNotice = document.getElementById("room-notice");
  if (homeNotice) homeNotice.before(noticeHome);

  function noticeNextTo(form) {
    const notice = document.getElementById("room-notice");
    if (!notice || !form || !document.body.contains(form) || notice.contains(form)) return;
    if (!notice.textContent.trim()) return;
    form.after(notice);
    const button = notice.querySelector("button");
    if (button) button.focus();
  }

  function noticeBackHome() {
    const notice = document.getElementById("room-notice");
    if (notice && noticeHome.parentNode && noticeHome.nextSibling !== notice) {
      noticeHome.after(notice);
    }
  }

  function applyHtml(html, keepNotice) {
    if (!html) return;
    if (!keepNotice) noticeBackHome();
    const saved = snapshotDirtyForms();
    window.htmx.swap(document.body, html, { swapStyle: "none" });
    restoreForms(saved);
    initSortables(document);
  }

  function showLostVersion(form) {
    // A refused stale edit: keep the user's words visible, then load the
    // current values so they can decide what to keep.
    const texts = Array.from(form.querySelectorAll("textarea, input[type=text]"))
      .map((field) => field.value.trim())
      .filter(Boolean);
    const notice = document.getElementById("room-notice");
    if (notice && texts.length) {
      const box = document.createElement("div");
      box.className = "alert warn";
      const title = document.createElement("p");
      title.textContent = "Your version (not saved):";
      box.appendChild(title);
      for (const text of texts) {
        const quote = document.createElement("blockquote");
        quote.textContent = text;
        box.appendChild(quote);
      }
      notice.appendChild(box);
    }
    delete form.dataset.dirty;
    send({ action: "sync", since: -1 });
  }

  function announce(text) {
    if (!announcer || !text) return;
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function onMessage(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (message.type === "hello") {
      // Catch up on whatever happened since this page (or the last frame).
      send({ action: "sync", since: lastSeq });
      return;
    }
    // Only what the page has applied moves its seq: an ack's seq can be ahead
    // of events still on their way, which a resync must not skip.
    const applies = message.type === "event" || message.type === "sync";
    if (applies && typeof message.seq === "number" && message.seq > lastSeq) {
      lastSeq = message.seq;
      room.dataset.seq = String(lastSeq);
    }
    switch (message.type) {
      case "event":
        applyHtml(message.html);
        announce(message.announce);
        break;
      case "sync":
      case "presence":
      case "coach":
      case "scores":
        applyHtml(message.html);
        break;
      case "ack":
        clearNotice();
        resetForm(message.client_msg_id);
        break;
      case "error": {
        const form = pending.get(message.client_msg_id);
        applyHtml(message.html, true);
        noticeNextTo(form);
        announce(message.message);
        unlockForm(message.client_msg_id);
        if (form && message.code === "stale_version") showLostVersion(form);
        break;
      }
    }
  }

  function clearNotice() {
    const notice = document.getElementById("room-notice");
    if (notice) notice.innerHTML = "";
    noticeBackHome();
  }

  const pending = new Map(); // client_msg_id -> form

  function resetForm(id) {
    const form = pending.get(id);
    pending.delete(id);
    if (!form) return;
    form.removeAttribute("aria-busy");
    delete form.dataset.dirty;
    if (document.body.contains(form) && !form.hasAttribute("data-keep")) form.reset();
  }

  function unlockForm(id) {
    const form = pending.get(id);
    pending.delete(id);
    if (form) form.removeAttribute("aria-busy");
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function formData(form, submitter) {
    const data = {};
    const entries = new FormData(form, submitter || undefined);
    for (const [key, value] of entries.entries()) {
      if (key === "csrfmiddlewaretoken" || key === "client_msg_id") continue;
      if (key in data) {
        data[key] = [].concat(data[key], value);
      } else {
        data[key] = value;
      }
    }
    // Multi-valued fields are always lists, even with one value.
    for (const name of ["ranking", "preference", "share"]) {
      if (name in data) data[name] = [].concat(data[name]);
    }
    return data;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.action) return;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      ensureCsrf(form);
      return; // plain HTTP: the server applies it and renders the room again
    }
    event.preventDefault();
    const id = randomId();
    pending.set(id, form);
    form.setAttribute("aria-busy", "true");
    send({
      action: form.dataset.action,
      client_msg_id: id,
      data: formData(form, event.submitter),
    });
  });

  function ensureCsrf(form) {
    // Fragments rendered over the socket carry the CSRF cookie's value; make
    // sure a fallback POST has a token either way.
    if (form.querySelector("input[name=csrfmiddlewaretoken]")?.value) return;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (!match) return;
    let input = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "csrfmiddlewaretoken";
      form.appendChild(input);
    }
    input.value = decodeURIComponent(match[1]);
  }

  // --- connection ---------------------------------------------------------

  function connect() {
    if (finished) return;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setStatus("connecting", attempts ? "Reconnecting…" : "Connecting…");
    socket = new WebSocket(scheme + window.location.host + room.dataset.wsPath);
    socket.addEventListener("open", () => {
      attempts = 0;
      stopPolling();
      setStatus("live", "Live");
      heartbeat = window.setInterval(() => send({ action: "ping" }), HEARTBEAT_MS);
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", (event) => {
      window.clearInterval(heartbeat);
      socket = null;
      for (const id of pending.keys()) unlockForm(id);
      if (FINAL_CODES.has(event.code)) {
        finished = true;
        setStatus("closed", FINAL_MESSAGES[event.code]);
        return;
      }
      setStatus("paused", "Live updates paused — reconnecting. Your changes still save.");
      startPolling();
      attempts += 1;
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempts, 5));
      reconnectTimer = window.setTimeout(connect, delay * (0.75 + Math.random() / 2));
    });
  }

  // Back online: try at once instead of waiting out the backoff.
  window.addEventListener("online", () => {
    if (finished || socket) return;
    window.clearTimeout(reconnectTimer);
    connect();
  });

  function startPolling() {
    if (poller) return;
    poller = window.setInterval(async () => {
      try {
        const response = await fetch(room.dataset.syncUrl, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) return;
        const message = await response.json();
        if (message.seq > lastSeq) {
          lastSeq = message.seq;
          room.dataset.seq = String(lastSeq);
          applyHtml(message.html);
        }
      } catch (error) {
        /* offline: the next tick tries again */
      }
    }, POLL_MS);
  }

  function stopPolling() {
    window.clearInterval(poller);
    poller = null;
  }

  // --- rankings: drag and drop, and keyboard-operable up/down buttons -------

  function initSortables(root) {
    for (const list of root.querySelectorAll("[data-sortable]")) {
      if (list.dataset.sortableReady) continue;
      list.dataset.sortableReady = "1";
      let dragged = null;
      list.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-move]");
        if (!button) return;
        const item = button.closest("li");
        if (button.dataset.move === "up" && item.previousElementSibling) {
          item.parentNode.insertBefore(item, item.previousElementSibling);
        } else if (button.dataset.move === "down" && item.nextElementSibling) {
          item.parentNode.insertBefore(item.nextElementSibling, item);
        }
        button.focus();
        const name = item.querySelector(".issue-name");
        const position = Array.from(list.children).indexOf(item) + 1;
        announce(`${name ? name.textContent : "Item"} is now number ${position}.`);
      });
      list.addEventListener("dragstart", (event) => {
        dragged = event.target.closest("li");
        if (dragged) dragged.classList.add("dragging");
      });
      list.addEventListener("dragend", () => {
        if (dragged) dragged.classList.remove("dragging");
        dragged = null;
      });
      list.addEventListener("dragover", (event) => {
        event.preventDefault();
        const over = event.target.closest("li");
        if (!dragged || !over || over === dragged) return;
        const box = over.getBoundingClientRect();
        const after = event.clientY > box.top + box.height / 2;
        over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
      });
    }
  }

  initSortables(document);
  connect();
})();
