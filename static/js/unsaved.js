/* Leaving a page with unsaved edits asks first.
 *
 * Loaded by the private preparation pages. A form in the page's main content
 * becomes "edited" at the first change typed into it, and stops being so
 * when it is submitted (the server then answers with the saved page, or the
 * same form with the typed values and the reason it was refused). While any
 * form is edited, leaving the page (a link, reload, closing the tab) makes
 * the browser ask for confirmation.
 */
(function () {
  "use strict";

  const edited = new Set();
  const guarded = (form) =>
    form instanceof HTMLFormElement &&
    form.method === "post" &&
    form.closest("main") !== null;

  function markEdited(event) {
    const form = event.target.form;
    if (guarded(form)) edited.add(form);
  }

  document.addEventListener("input", markEdited);
  document.addEventListener("change", markEdited);
  document.addEventListener("submit", (event) => edited.delete(event.target));
  window.addEventListener("beforeunload", (event) => {
    if (edited.size === 0) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers need it set to ask
  });
})();
