/* Copy buttons: <button data-copy="ID"> copies the value of the field #ID.
 *
 * Through the clipboard API where the browser allows it; otherwise (an older
 * browser, a page not served over HTTPS, a refused permission) the field's
 * text is selected so the person copies it with their keyboard. Either way the
 * status next to it (#ID-copied, a live region) says which happened. Buttons
 * stay hidden without JavaScript: the field can always be selected by hand.
 */
(function () {
  "use strict";

  function say(field, words) {
    const status = document.getElementById(field.id + "-copied");
    if (status) status.textContent = words;
  }

  function select(field) {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    say(field, "The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.");
  }

  function copy(button) {
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    if (!navigator.clipboard || !window.isSecureContext) {
      select(field);
      return;
    }
    navigator.clipboard.writeText(field.value).then(
      () => say(field, "Copied. Paste it into your message to the person it is for."),
      () => select(field)
    );
  }

  function enhance() {
    for (const button of document.querySelectorAll("button[data-copy]")) {
      button.hidden = false;
      button.addEventListener("click", () => copy(button));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
