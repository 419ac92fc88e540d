/* The room's attention box, "while you were away", and the room's end.
 *
 * - The tab title shows how many items wait for this side: "(2) Deal".
 *   The count is the attention box's data-count, which the server renders
 *   again (out of band) whenever an event changes what waits.
 * - "Answer the trade" and the like scroll to their card and focus it.
 * - Cards the other side changed while this person was away are marked
 *   unread (class "unread") until they are looked at or the summary is
 *   dismissed ("Got it", which tells the server).
 * - When the socket closes for good (revoked access, signed out), the
 *   room's controls go inert: nothing on the page pretends to still work.
 */
(function () {
  "use strict";

  const room = document.getElementById("room");
  if (!room) return;

  // --- the tab title -------------------------------------------------------
  const COUNT_PREFIX = /^\(\d+\)\s+/;

  function updateTitle() {
    const box = document.getElementById("room-attention");
    const count = box ? Number(box.dataset.count || 0) : 0;
    const base = document.title.replace(COUNT_PREFIX, "");
    const title = count > 0 ? `(${count}) ${base}` : base;
    if (document.title !== title) document.title = title;
  }

  // --- going to the waiting item -------------------------------------------
  const FOCUSABLE = "button, [href], input:not([type=hidden]), select, textarea";

  function goTo(id) {
    const target = document.getElementById(id);
    if (!target) return false;
    const details = target.closest("details:not([open])");
    if (details) details.open = true;
    target.scrollIntoView({ behavior: "smooth", block: "center" });
    const control = target.querySelector(FOCUSABLE);
    if (control) {
      control.focus({ preventScroll: true });
    } else {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: true });
    }
    return true;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-attention-target]");
    if (!link) return;
    if (goTo(link.dataset.attentionTarget)) event.preventDefault();
  });

  // --- unread cards ----------------------------------------------------------
  const unread = new Set();

  function markUnread() {
    for (const id of unread) {
      const card = document.getElementById(id);
      if (card) card.classList.add("unread");
    }
  }

  function seen(id) {
    unread.delete(id);
    document.getElementById(id)?.classList.remove("unread");
  }

  const away = document.getElementById("room-away");
  if (away) {
    for (const id of (away.dataset.unread || "").split(/\s+/)) if (id) unread.add(id);
    markUnread();
    const form = away.querySelector("form.away-dismiss");
    form?.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const id of Array.from(unread)) seen(id);
      away.remove();
      try {
        await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
        });
      } catch (error) {
        // Not recorded: the summary shows again next time, nothing is lost.
      }
    });
  }

  // Looking at a card (clicking or tabbing into it) marks it seen.
  for (const type of ["click", "focusin"]) {
    document.addEventListener(type, (event) => {
      const card = event.target.closest?.(".unread");
      if (card && card.id) seen(card.id);
    });
  }

  // --- the room's end ----------------------------------------------------------
  const ENDED_TEXT = {
    4401: "You are signed out: this page no longer works. Reload to sign in again.",
    4403: "Your access to this room ended: this page no longer works. Reload to see why.",
    4404: "This room is not available to you any more. Reload to see why.",
  };
  let ended = false;

  function endRoom(code) {
    if (ended) return;
    ended = true;
    room.classList.add("room-ended");
    for (const part of room.children) {
      if (part.id !== "live-status" && !part.contains(document.getElementById("live-status"))) {
        part.inert = true;
      }
    }
    const notice = document.createElement("p");
    notice.className = "alert error room-ended-notice";
    notice.setAttribute("role", "alert");
    notice.textContent = ENDED_TEXT[code] || ENDED_TEXT[4403];
    room.prepend(notice);
  }

  // room.js sets data-live="closed" when the socket closed with a final code
  // (4401, 4403, 4404); a "room:closed" event, if it sends one, says which.
  document.addEventListener("room:closed", (event) => endRoom(event.detail?.code));

  // --- watching the page ---------------------------------------------------------
  const observer = new MutationObserver(() => {
    updateTitle();
    markUnread();
    if (room.dataset.live === "closed") {
      const status = document.getElementById("live-status");
      endRoom(/signed out/i.test(status?.textContent || "") ? 4401 : 4403);
    }
  });
  observer.observe(room, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["data-live", "data-count"],
  });
  updateTitle();
})();
