/* Parley's live room client.
 *
 * Progressive enhancement: every room form is a plain HTML form that posts to
 * the server. While the websocket is open, this script sends the same form
 * as a JSON frame instead, and applies the HTML fragments the server pushes
 * (htmx out-of-band swaps). It reconnects after ANY unexpected close — not
 * only the codes htmx's ws extension retries — and resyncs from its last seq.
 * While the socket is down, forms fall back to plain POSTs and the room polls
 * a fresh render over HTTP, with a visible "live updates paused" notice.
 * A form sent again unchanged after its send got no answer keeps its
 * client_msg_id, so the server applies it once however often it arrives.
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

  // A draft belongs to one form: its id when it has one (every typed-in room
  // form has), else its action and the objects it is about. Two forms with
  // the same action (the discussion's Send and the coach's "Say it") never
  // share a key, so a draft is never copied from one to the other.
  function formKey(form) {
    if (form.id) return `#${form.id}`;
    const ids = Array.from(form.querySelectorAll("input[type=hidden]"))
      .filter((input) => /_id$/.test(input.name) && input.name !== "client_msg_id")
      .map((input) => `${input.name}=${input.value}`);
    return [form.dataset.action, ...ids].join("|");
  }

  // A form whose submission is in flight is not kept: the update that
  // follows is usually its own result.
  const DIRTY = "form[data-action][data-dirty]:not([aria-busy])";

  function formValues(form) {
    const values = [];
    for (const field of form.elements) {
      if (!field.name || field.name === "csrfmiddlewaretoken" || field.name === "client_msg_id") continue;
      if (field.type === "checkbox" || field.type === "radio") {
        values.push([field.name, field.value, field.checked]);
      } else {
        values.push([field.name, field.value, null]);
      }
    }
    return values;
  }

  function snapshotDirtyForms() {
    const saved = new Map();
    for (const form of document.querySelectorAll(DIRTY)) {
      if (!form.closest("#room-kept-drafts")) saved.set(formKey(form), formValues(form));
    }
    return saved;
  }

  // The form of this key on the page (a draft kept aside is not "on the page").
  function formByKey(key) {
    if (key.startsWith("#")) {
      return Array.from(document.querySelectorAll("form[id]")).find((form) =>
        form.id === key.slice(1) && !form.closest("#room-kept-drafts")) || null;
    }
    return Array.from(document.querySelectorAll("form[data-action]:not([id])"))
      .find((candidate) => formKey(candidate) === key && !candidate.closest("#room-kept-drafts")) || null;
  }

  // Collapsed parts inside a region (a trade's "Counter or decline", "Value
  // it"…) keep their open state across a swap: keyed by the nearest element
  // with an id and their place in it.
  function detailsKey(details) {
    const owner = details.parentElement && details.parentElement.closest("[id]");
    if (!owner) return null;
    const index = Array.from(owner.querySelectorAll("details")).indexOf(details);
    return `${owner.id}|${index}`;
  }

  function snapshotOpenDetails() {
    const open = new Set();
    for (const details of document.querySelectorAll("#room .region details[open]")) {
      const key = detailsKey(details);
      if (key) open.add(key);
    }
    return open;
  }

  function restoreOpenDetails(open) {
    for (const details of document.querySelectorAll("#room .region details:not([open])")) {
      const key = detailsKey(details);
      if (key && open.has(key)) details.open = true;
    }
  }

  // Focus stays where the user was: when a swap replaced the focused control,
  // focus goes to the same control in the new markup (same id, or same form
  // and field), else to the nearest part of the page that is still there.
  function focusTrail() {
    const active = document.activeElement;
    if (!active || active === document.body || !room.contains(active)) return null;
    const trail = { element: active, ids: [] };
    if (active.form && active.form.id) {
      trail.formId = active.form.id;
      trail.name = active.name || "";
      trail.value = active.tagName === "BUTTON" ? active.value : null;
      trail.label = active.textContent;
    }
    for (let node = active; node && node !== room; node = node.parentElement) {
      if (node.id) trail.ids.push(node.id);
    }
    return trail;
  }

  function restoreFocus(trail) {
    if (!trail || document.body.contains(trail.element)) return;
    let target = null;
    if (trail.formId) {
      const form = document.getElementById(trail.formId);
      if (form) {
        target = Array.from(form.elements).find((field) =>
          field.name === trail.name &&
          (trail.value === null || (field.value === trail.value && field.textContent === trail.label)));
      }
    }
    for (const id of trail.ids) {
      if (target) break;
      target = document.getElementById(id);
    }
    if (!target) return;
    if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  }

  function fillForm(form, values) {
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
  }

  function restoreForms(saved) {
    for (const [key, values] of saved) {
      const form = formByKey(key);
      // A form still dirty was not replaced: the user's text is in it as typed.
      if (!form || form.dataset.dirty) continue;
      const version = form.querySelector("input[name=version]");
      const before = values.find(([name]) => name === "version");
      const changedMeanwhile = version && before && version.value !== before[1];
      fillForm(form, values);
      // A draft is never hidden by a swap: open what holds it.
      for (let details = form.closest("details"); details; details = details.parentElement.closest("details")) {
        details.open = true;
      }
      if (changedMeanwhile && !form.querySelector(".changed-meanwhile")) {
        const note = document.createElement("p");
        note.className = "changed-meanwhile help";
        // The change may be this form's own save, whose answer was lost.
        note.textContent = unanswered.has(key)
          ? "The connection dropped before your last save was confirmed, and " +
            "this has changed since, perhaps by that save. Your text is kept " +
            "here; saving it again never applies it twice."
          : "The other side changed this while you were editing. " +
            "Your text is kept here; saving will show you both versions.";
        form.prepend(note);
      }
    }
  }

  // --- drafts whose form left the page ---------------------------------------
  // A stage change renders the room again, and some forms are not in the new
  // stage (the coach's "Say it" lines are the stage's own; the stage may no
  // longer offer a tool). A draft typed into such a form is not dropped: the
  // form itself moves to "Drafts kept for you", where it can still be sent
  // or discarded. Forms about one object (a trade to answer, an entry to
  // value) are not kept: that object was answered or removed meanwhile.
  const keptDrafts = document.getElementById("room-kept-drafts");

  const aboutAnObject = (form) => Array.from(form.querySelectorAll("input[type=hidden]"))
    .some((input) => /_(id|key)$/.test(input.name) && input.name !== "client_msg_id");

  function keepDraft(form) {
    if (!keptDrafts || aboutAnObject(form)) return;
    const item = document.createElement("div");
    item.className = "kept-draft";
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary small";
    discard.textContent = "Discard this draft";
    discard.addEventListener("click", () => dropKeptDraft(form));
    item.append(form, discard);
    keptDrafts.querySelector(".kept-list").append(item);
    keptDrafts.hidden = false;
    for (const details of keptDrafts.querySelectorAll("details")) details.open = true;
  }

  function dropKeptDraft(form) {
    const item = form.closest(".kept-draft");
    if (!item || !keptDrafts) return;
    item.remove();
    if (!keptDrafts.querySelector(".kept-draft")) keptDrafts.hidden = true;
  }

  // A kept draft goes back into its form when a later render brings that
  // form back (the stage moved back, say).
  function returnKeptDrafts() {
    if (!keptDrafts) return;
    for (const kept of keptDrafts.querySelectorAll("form")) {
      const form = formByKey(formKey(kept));
      if (!form || form.dataset.dirty) continue;
      fillForm(form, formValues(kept));
      dropKeptDraft(kept);
    }
  }

  // Ctrl+Enter (or Cmd+Enter) in a text box sends its form; focus stays in
  // the box, ready for the next line.
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!(box instanceof HTMLTextAreaElement) || !box.form || !box.form.dataset.action) return;
    event.preventDefault();
    box.form.requestSubmit();
  });

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

  // The form a notice is about: "Send it anyway" in the notice clears that
  // form's draft once the resend is accepted.
  let noticeOwner = null;

  function noticeNextTo(form) {
    const notice = document.getElementById("room-notice");
    if (!notice || !form || !document.body.contains(form) || notice.contains(form)) return;
    if (!notice.textContent.trim()) return;
    noticeOwner = form;
    const tool = form.closest("details.tool");
    if (tool) tool.open = true;
    form.after(notice);
    const button = notice.querySelector("button");
    const target = button || notice.querySelector("[role=alert]") || notice;
    if (!button && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  }

  function noticeBackHome() {
    const notice = document.getElementById("room-notice");
    if (notice && noticeHome.parentNode && noticeHome.nextSibling !== notice) {
      noticeHome.after(notice);
    }
  }

  function applyHtml(html, keepNotice, announced) {
    if (!html) return;
    if (!keepNotice) noticeBackHome();
    const saved = snapshotDirtyForms();
    const dirtyForms = Array.from(document.querySelectorAll(DIRTY));
    const open = snapshotOpenDetails();
    const trail = focusTrail();
    toolWatcher.takeRecords();
    window.htmx.swap(document.body, html, { swapStyle: "none" });
    const changed = changedTools(toolWatcher.takeRecords());
    restoreForms(saved);
    for (const form of dirtyForms) {
      if (!form.isConnected && !formByKey(formKey(form))) keepDraft(form);
    }
    returnKeptDrafts();
    restoreOpenDetails(open);
    restoreFocus(trail);
    initSortables(document);
    followStage();
    for (const tool of changed) {
      if (announced) latestChange.set(tool.dataset.region, announced);
      if (announced && !tool.open) tool.classList.add("changed");
    }
    refreshTools();
    refreshGlance();
  }

  // --- tools: one open, the others summaries that stay live -----------------

  const tools = () => document.querySelectorAll("details.tool[data-region]");
  const toolWatcher = new MutationObserver(() => {});
  for (const tool of tools()) {
    toolWatcher.observe(tool, { childList: true, subtree: true, characterData: true });
  }
  const latestChange = new Map(); // region -> what the other side last did there

  function changedTools(records) {
    const changed = new Set();
    for (const record of records) {
      const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
      const tool = node && node.closest("details.tool");
      if (tool) changed.add(tool);
    }
    return changed;
  }

  const count = (root, selector) => root.querySelectorAll(selector).length;
  const text = (root, selector) => {
    const found = root.querySelector(selector);
    return found ? found.textContent.replace(/\s+/g, " ").trim() : "";
  };
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  // A list the page shows only the latest of: its total is the rows the
  // server left out (data-older, counted when the list was rendered) plus
  // the rows on the page from its cursor on, which includes rows inserted
  // live since; rows "show earlier" loaded are below the cursor, and counted
  // in data-older already. ``match`` counts a subset (the open trades).
  function listed(root, list, rows, match, olderKey) {
    const holder = root.querySelector(list);
    if (!holder) return 0;
    const cursor = Number(holder.dataset.cursor || 0);
    const onPage = Array.from(holder.querySelectorAll(rows)).filter((row) =>
      Number(row.id.replace(/\D+/g, "")) >= cursor && (!match || row.matches(match)));
    return Number(holder.dataset[olderKey || "older"] || 0) + onPage.length;
  }

  // What each collapsed tool's summary says: a count, and the latest change.
  const TOOL_SUMMARIES = {
    setup: (r) => {
      const last = text(r, ".agenda li:not(.empty):last-child strong");
      return [plural(count(r, ".agenda li:not(.empty)"), "issue", "issues"), last ? `${last} added` : ""];
    },
    positions: (r) => [`${count(r, ".position[data-version]:not([data-version='0'])")} of 2 shared`, ""],
    trades: (r) => {
      const all = listed(r, "#trade-list", ":scope > li.trade[id]");
      const open = listed(r, "#trade-list", ":scope > li.trade[id]", ".trade-open", "olderOpen");
      return [`${plural(all, "trade", "trades")}${open ? `, ${open} open` : ""}`, text(r, ".trade .trade-text")];
    },
    packages: (r) => [plural(listed(r, "#meso-list", ":scope > .meso[id]"), "set", "sets"), text(r, ".meso > p")],
    concessions: (r) => [plural(listed(r, "#concession-rows", ":scope > tr[id]"), "entry", "entries"), text(r, "#concession-rows tr[id]:last-child td:nth-child(2)")],
    terms: (r) => [`${count(r, "tr[id^='term-'] td:first-of-type:not(:has(.muted))")} of ${count(r, "tr[id^='term-']")} set`, ""],
    jointcheck: (r) => [`${count(r, ".consents .badge.ok")} of 2 allowed`, text(r, ".joint-verdict h3")],
    commitments: (r) => [plural(count(r, ".commitment"), "commitment", "commitments"), text(r, ".commitment:last-child strong")],
    agreement: (r) => ["", text(r, "[data-agreement-line]")],
    checkins: (r) => [plural(count(r, "#checkin-list li[id]"), "check-in", "check-ins"), text(r, "#checkin-list li[id] strong")],
  };

  function refreshTools() {
    for (const tool of tools()) {
      const region = tool.querySelector(":scope > .region");
      const summarise = TOOL_SUMMARIES[tool.dataset.region];
      if (!region || !summarise) continue;
      const [counted, latest] = summarise(region);
      const shown = latestChange.get(tool.dataset.region) || latest;
      tool.querySelector(".tool-count").textContent = counted;
      tool.querySelector(".tool-latest").textContent = shown ? `Latest: ${shown}` : "";
    }
  }

  document.addEventListener("toggle", (event) => {
    const tool = event.target;
    if (tool instanceof HTMLDetailsElement && tool.matches("details.tool") && tool.open) {
      tool.classList.remove("changed");
    }
  }, true);

  // A stage change opens the new stage's main tool and closes the last one
  // (unless the user has a draft in it); the order of the tools never changes.
  room.dataset.main = document.getElementById("region-stagebar")?.dataset.main || "";
  function followStage() {
    const main = document.getElementById("region-stagebar")?.dataset.main;
    if (!main || main === room.dataset.main) return;
    const before = document.getElementById(`tool-${room.dataset.main}`);
    if (before && !before.querySelector("form[data-dirty]")) before.open = false;
    const after = document.getElementById(`tool-${main}`);
    if (after) after.open = true;
    room.dataset.main = main;
  }

  // A link to a tool or a region in one opens its tool first.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href^='#']");
    if (!link || !room.contains(link)) return;
    const target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    const tool = target && (target.matches("details.tool") ? target : target.closest("details.tool"));
    if (tool) tool.open = true;
  });

  // The compact term sheet and agreement status, copied from their regions.
  function refreshGlance() {
    const glance = document.getElementById("room-glance");
    const terms = document.getElementById("region-terms");
    if (!glance || !terms) return;
    const list = glance.querySelector("[data-glance-terms]");
    const rows = terms.querySelectorAll("tbody tr[id^='term-']");
    if (rows.length) {
      list.replaceChildren(...Array.from(rows, (row) => {
        const item = document.createElement("div");
        item.className = "glance-term";
        const name = document.createElement("dt");
        name.textContent = row.querySelector("th").textContent.trim();
        const value = document.createElement("dd");
        const cell = row.querySelector("td");
        value.textContent = cell.textContent.trim();
        if (cell.querySelector(".muted")) value.className = "muted";
        item.append(name, value);
        return item;
      }));
    }
    const badge = terms.querySelector("h2 .badge");
    if (badge) glance.querySelector("[data-glance-sheet]").textContent = badge.textContent;
    const line = document.querySelector("#region-agreement [data-agreement-line]");
    if (line) glance.querySelector("[data-glance-agreement]").replaceChildren(...Array.from(line.childNodes, (node) => node.cloneNode(true)));
  }

  // --- remote changes: a short visible notice, as well as the announcement --

  const toasts = document.getElementById("room-toasts");
  function toast(message) {
    if (!toasts || !message) return;
    const item = document.createElement("p");
    item.className = "toast";
    item.textContent = message;
    toasts.appendChild(item);
    while (toasts.children.length > 3) toasts.firstElementChild.remove();
    window.setTimeout(() => item.remove(), 6000);
  }

  // --- a first visit's orientation, hidden for good for this participant ----
  // The server remembers who hid it (any browser of theirs); the page hides
  // it at once and tells the server in the background.

  const orientation = document.getElementById("room-orientation");
  const showOrientation = document.querySelector("[data-show-orientation]");
  if (orientation) {
    if (showOrientation) showOrientation.hidden = false;
    const dismiss = orientation.querySelector("form.orientation-dismiss");
    dismiss?.addEventListener("submit", async (event) => {
      event.preventDefault();
      orientation.hidden = true;
      if (showOrientation) showOrientation.focus();
      try {
        await fetch(dismiss.action, {
          method: "POST",
          body: new FormData(dismiss),
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
        });
      } catch (error) {
        // Not recorded: it shows again on the next visit, nothing is lost.
      }
    });
    if (showOrientation) {
      showOrientation.addEventListener("click", () => {
        orientation.hidden = false;
        const heading = orientation.querySelector("h2");
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      });
    }
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
        applyHtml(message.html, false, message.announce);
        announce(message.announce);
        toast(message.announce);
        break;
      case "sync":
      case "presence":
      case "coach":
      case "scores":
        applyHtml(message.html);
        break;
      case "ack": {
        answered(message.client_msg_id);
        const owner = owners.get(message.client_msg_id);
        owners.delete(message.client_msg_id);
        clearNotice();
        resetForm(message.client_msg_id);
        // "Send it anyway" went through: the held-back text is sent, so its
        // own form is cleared too.
        if (owner) clearDraft(owner);
        break;
      }
      case "error": {
        if (!RETRYABLE.has(message.code)) answered(message.client_msg_id);
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
    noticeOwner = null;
  }

  const pending = new Map(); // client_msg_id -> form
  const owners = new Map(); // client_msg_id of a resend -> the form it resends

  // --- a send that got no answer goes again under the same id ---------------
  // The socket can drop after the server applied a form but before its ack
  // arrived. The same form sent again with the same fields (by the user, over
  // the next socket or as a plain POST) keeps its client_msg_id, and the
  // server acknowledges it without applying it twice. A changed form, or one
  // whose send was answered (an ack, a refusal), is a new action: a new id.
  const unanswered = new Map(); // form key -> { id, fields }
  // Refusals that applied nothing and ask for the same send again later.
  const RETRYABLE = new Set(["try_again", "rate_limited"]);

  function fieldsOf(form, submitter) {
    return JSON.stringify([form.dataset.action, formData(form, submitter)]);
  }

  function earlierId(form, fields) {
    const earlier = unanswered.get(formKey(form));
    return earlier && earlier.fields === fields ? earlier.id : null;
  }

  function answered(id) {
    for (const [key, send] of unanswered) {
      if (send.id === id) unanswered.delete(key);
    }
  }

  function clearDraft(form) {
    const current = document.body.contains(form) ? form : formByKey(formKey(form));
    if (!current) return;
    delete current.dataset.dirty;
    if (!current.hasAttribute("data-keep")) current.reset();
    dropKeptDraft(current);
  }

  function resetForm(id) {
    const form = pending.get(id);
    pending.delete(id);
    if (!form) return;
    form.removeAttribute("aria-busy");
    delete form.dataset.dirty;
    if (document.body.contains(form) && !form.hasAttribute("data-keep")) form.reset();
    dropKeptDraft(form); // a kept draft, sent: nothing left to keep
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
    const fields = fieldsOf(form, event.submitter);
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      ensureCsrf(form);
      const id = earlierId(form, fields);
      if (id) carryId(form, id);
      return; // plain HTTP: the server applies it and renders the room again
    }
    event.preventDefault();
    const id = earlierId(form, fields) || randomId();
    unanswered.set(formKey(form), { id, fields });
    pending.set(id, form);
    const notice = document.getElementById("room-notice");
    if (noticeOwner && notice && notice.contains(form) && noticeOwner !== form) {
      owners.set(id, noticeOwner);
    }
    form.setAttribute("aria-busy", "true");
    send({
      action: form.dataset.action,
      client_msg_id: id,
      data: formData(form, event.submitter),
    });
  });

  // A plain POST carries the form's client_msg_id as a hidden field.
  function carryId(form, id) {
    let input = form.querySelector("input[name=client_msg_id]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "client_msg_id";
      form.appendChild(input);
    }
    input.value = id;
  }

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
        // attention.js makes the room inert and says why, by the close code.
        document.dispatchEvent(new CustomEvent("room:closed", { detail: { code: event.code } }));
        return;
      }
      setStatus("paused", "Live updates paused — reconnecting. Your changes still save.");
      startPolling();
      attempts += 1;
      reconnectTimer = window.setTimeout(connect, reconnectDelay(attempts));
    });
  }

  // The wait before reconnect attempt n (ms). The first comes at any moment
  // within 0.5 s: the sockets of a server that went away spread over that
  // half second instead of all coming back together, and most are back
  // sooner. Then 1, 2, 4, 8 and at most 15 s, each ±25 %.
  function reconnectDelay(n) {
    if (n <= 1) return Math.random() * 500;
    return Math.min(15000, 250 * 2 ** Math.min(n, 6)) * (0.75 + Math.random() / 2);
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
  refreshTools();
  connect();
})();
