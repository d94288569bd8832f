// The set-password page: the one-time link's token is in the address's fragment, which
// no server sees. It goes into the form, and out of the address bar and the history.
(function () {
  "use strict";
  var field = document.querySelector('[data-testid="set-token"]');
  if (!field) return;
  var fromLink = location.hash.slice(1);
  if (fromLink) {
    field.value = decodeURIComponent(fromLink);
    history.replaceState(null, "", location.pathname);
  }
  if (!field.value) {
    document.querySelector('[data-testid="set-password-incomplete"]').hidden = false;
  }
})();
