// Material chooser: Enter in its search box narrows the list instead of
// submitting the listing form half-filled. A static file, not an hx-on
// attribute: the Content-Security-Policy allows no inline handlers or eval.
// Delegated from the document, so forms htmx swaps in are covered too.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("input.chooser-search")) {
      event.preventDefault();
    }
  });
})();
