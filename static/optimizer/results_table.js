/* The run results table (templates/optimizer/run_detail.html): keyboard
 * navigation and "select the page". Without this file the table still works:
 * each row is a <details> (Tab reaches it, Enter opens it) and the checkboxes
 * are plain form fields.
 *
 * Keys, outside text fields: j or ArrowDown / k or ArrowUp move between rows,
 * Enter opens or closes the row (the browser's own <summary> behaviour),
 * x selects or unselects the row for the bulk buttons.
 */
(function () {
  "use strict";

  function table() {
    return document.getElementById("proposal-table");
  }

  function rows() {
    var t = table();
    return t ? Array.prototype.slice.call(t.querySelectorAll("details.proposal > summary")) : [];
  }

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable) return true;
    return tag === "INPUT" && el.type !== "checkbox";
  }

  function currentRow(el) {
    return el && el.closest ? el.closest("details.proposal > summary, details.proposal") : null;
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var here = currentRow(document.activeElement);
    if (here && here.tagName === "DETAILS") here = here.querySelector("summary");
    var index = all.indexOf(here);
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : index + step;
    next = Math.max(0, Math.min(all.length - 1, next));
    all[next].focus();
    all[next].scrollIntoView({ block: "nearest" });
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var inTable = table() && table().contains(event.target);
    var key = event.key;
    if (key === "j" || (key === "ArrowDown" && inTable)) {
      move(1);
    } else if (key === "k" || (key === "ArrowUp" && inTable)) {
      move(-1);
    } else if (key === "x" && inTable) {
      var row = currentRow(event.target);
      var box = row && row.querySelector("input[name=ids]");
      if (!box) return;
      box.checked = !box.checked;
    } else {
      return;
    }
    event.preventDefault();
  }

  function start() {
    var t = table();
    if (!t) return;
    var hint = document.getElementById("results-keys");
    if (hint) hint.hidden = false;
    var all = document.getElementById("select-page");
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        t.querySelectorAll("input[name=ids]").forEach(function (box) {
          box.checked = all.checked;
        });
      });
    }
    document.addEventListener("keydown", onKey);
    // A decision swaps its row (htmx): keep the keyboard where it was.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var swapped = event.detail && event.detail.elt;
      var id = swapped && swapped.id;
      var row = id && document.getElementById(id);
      if (!row || !row.matches || !row.matches("details.proposal")) return;
      if (row.contains(document.activeElement)) return;
      // An approval asks first: its confirm button, else the row itself.
      var target = row.querySelector(".confirm button[type=submit]") || row.querySelector("summary");
      target.focus();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
