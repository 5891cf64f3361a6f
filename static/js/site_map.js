// Map picker of the site form: a click or a dragged marker fills latitude and
// longitude; typed coordinates move the marker. Without Leaflet or tiles the
// typed fields alone still work.
(function () {
  "use strict";

  function fixed(value) {
    return (Math.round(value * 1e6) / 1e6).toFixed(6);
  }

  function init(el) {
    if (!el || el.dataset.ready || typeof L === "undefined") return;
    el.dataset.ready = "1";
    var form = el.closest("form");
    var lat = form.querySelector("[name=latitude]");
    var lon = form.querySelector("[name=longitude]");
    var typed = function () {
      var a = parseFloat(String(lat.value).replace(",", "."));
      var b = parseFloat(String(lon.value).replace(",", "."));
      return isFinite(a) && isFinite(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180 ? [a, b] : null;
    };
    var start = typed();
    var centre = start || [parseFloat(el.dataset.centreLat), parseFloat(el.dataset.centreLon)];
    var map = L.map(el).setView(centre, start ? 15 : 11);
    if (el.dataset.tiles) {
      var tiles = L.tileLayer(el.dataset.tiles, {
        maxZoom: 19,
        attribution: el.dataset.attribution || "",
      }).addTo(map);
      var warned = false;
      tiles.on("tileerror", function () {
        if (warned) return;
        warned = true;
        var note = document.createElement("p");
        note.className = "help map-offline";
        note.setAttribute("role", "status");
        note.textContent = el.dataset.tileError;
        el.insertAdjacentElement("afterend", note);
      });
    }
    var marker = null;
    function place(latlng, fill) {
      if (!marker) {
        marker = L.marker(latlng, { draggable: true, keyboard: true }).addTo(map);
        marker.on("dragend", function () {
          place(marker.getLatLng(), true);
        });
      } else {
        marker.setLatLng(latlng);
      }
      if (fill) {
        lat.value = fixed(latlng.lat);
        lon.value = fixed(latlng.lng);
        lat.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    if (start) place(start, false);
    map.on("click", function (event) {
      place(event.latlng, true);
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () {
        var point = typed();
        if (point) {
          place(point, false);
          map.panTo(point);
        }
      });
    });
  }

  function scan(root) {
    (root || document).querySelectorAll("[data-site-map]").forEach(init);
  }

  if (window.htmx) {
    // Also after htmx swaps the form back in with errors.
    htmx.onLoad(function (content) {
      scan(content.matches && content.matches("[data-site-map]") ? content.parentNode : content);
    });
  } else {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  }
})();
