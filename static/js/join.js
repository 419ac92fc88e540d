/* Opens a share link (/join/#<token>).
 *
 * The token rides in the URL fragment, which browsers never send to the
 * server: it reaches no request line, so no access log (daphne's, nginx's or
 * Django's) can hold it. This script takes it out of the address bar and the
 * history at once, then posts it through the page's link form (with the
 * form's CSRF token); the server exchanges it for a pending invitation and
 * asks for the guest's name. Without JavaScript the guest pastes the link
 * into the same form.
 */
(function () {
  "use strict";

  let token = "";
  try {
    token = decodeURIComponent(window.location.hash.slice(1)).trim();
  } catch (error) {
    token = window.location.hash.slice(1).trim();
  }
  if (!token) return;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  document.documentElement.classList.add("opening-link");

  function post() {
    const form = document.querySelector("form[data-join-link]");
    if (!form) {
      document.documentElement.classList.remove("opening-link");
      return;
    }
    form.elements.link.value = token;
    form.submit();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", post);
  } else {
    post();
  }
})();
