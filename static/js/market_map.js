// The market's map (templates/symbiosis/market.html): the filtered listings from
// /market/map.json (symbiosis/market_map.py), as clustered markers or, when there are
// many, counted by area. Moving or zooming the map puts its area in the filter form's
// "bbox" field and submits the form, so the list (htmx) shows what is in view; each
// new list reloads the map with the same query string.
// Works without tiles (offline): markers on a blank background. Texts from the
// server are put in as text nodes, never as HTML.
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? values[key] : whole;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  function bboxOf(bounds) {
    var r = function (v) { return Math.round(v * 1e5) / 1e5; };
    return [
      r(clamp(bounds.getWest(), -180, 180)), r(clamp(bounds.getSouth(), -90, 90)),
      r(clamp(bounds.getEast(), -180, 180)), r(clamp(bounds.getNorth(), -90, 90)),
    ].join(",");
  }

  function boundsOf(bbox) {
    // [west, south, east, north] -> Leaflet bounds
    return L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]);
  }

  function start() {
    var canvas = document.getElementById("market-map");
    var panel = document.getElementById("market-map-panel");
    var layout = document.getElementById("market-layout");
    var form = document.querySelector("form.filters");
    if (!canvas || !panel || !form || typeof L === "undefined" || !L.markerClusterGroup) return;
    var bboxInput = form.querySelector("[name=bbox]");
    var status = document.getElementById("market-map-status");
    var everywhere = document.getElementById("market-map-everywhere");
    var toggle = layout.querySelector(".market-view-toggle");
    var text = canvas.dataset;
    var lang = document.documentElement.lang || "en";
    var tonnes = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
    panel.hidden = false;
    toggle.hidden = false;

    var map = L.map(canvas, { minZoom: 2, maxZoom: 18 });
    if (text.tiles) {
      var tiles = L.tileLayer(text.tiles, { maxZoom: 18, attribution: text.attribution || "" });
      var warned = false;
      tiles.on("tileerror", function () {
        if (warned) return;
        warned = true;
        var note = el("p", "help map-offline", text.tileError);
        note.setAttribute("role", "status");
        canvas.insertAdjacentElement("afterend", note);
      });
      tiles.addTo(map);
    }
    var clusters = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 }).addTo(map);
    var cells = L.layerGroup().addTo(map);
    var anonymousIcon = new L.Icon.Default({ className: "market-marker-anonymous" });

    // Moves the page makes (fitting the data, showing a hidden map) leave the list
    // alone: the area they end on is remembered and skipped once.
    var ignored = null;
    var placing = false;
    var fitted = false;
    var pendingExtent = null;
    function place(fn) {
      placing = true;
      try { fn(); } finally { placing = false; }
      ignored = bboxOf(map.getBounds());
    }

    function visible() {
      return canvas.clientWidth > 0 && canvas.clientHeight > 0;
    }

    function fitTo(bounds) {
      if (!visible()) { pendingExtent = bounds; return; }
      pendingExtent = null;
      place(function () { map.fitBounds(bounds, { padding: [20, 20], animate: false, maxZoom: 15 }); });
      fitted = true;
    }

    var initial = bboxInput && bboxInput.value ? bboxInput.value.split(",").map(Number) : null;
    if (initial && initial.length === 4 && initial.every(isFinite)) {
      fitTo(boundsOf(initial));
    }
    place(function () {
      if (!fitted) map.setView([43.2389, 76.8897], 11, { animate: false });
    });

    function popup(p) {
      return function () {
        var box = el("div", "market-popup");
        var link = el("a", "listing-material");
        link.href = p.url;
        link.append(el("strong", "", p.title));
        box.append(link);
        box.append(el("p", "", tonnes.format(p.tonnes) + " " + text.textT + " " + p.recurrence));
        box.append(el("p", "", p.district + " · " + (p.owner || text.textAnonymous)));
        if (p.imported_origin) box.append(el("p", "badge imported-origin", text.textImported));
        if (p.hidden) box.append(el("p", "muted", text.textApprox));
        return box;
      };
    }

    function pointMarker(p) {
      var label = p.title + " · " + tonnes.format(p.tonnes) + " " + text.textT +
        " · " + (p.owner || text.textAnonymous);
      var options = { keyboard: true, title: label, alt: label };
      if (p.hidden) options.icon = anonymousIcon;
      var marker = L.marker([p.lat, p.lon], options).bindPopup(popup(p));
      marker.options.listingId = p.kind + "-" + p.id;
      return marker;
    }

    function cellMarker(c) {
      var n = Number(c.n);
      var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
      var inner = el("div");
      inner.append(el("span", "", tonnes.format(n)));
      var label = fill(text.textCell, { n: tonnes.format(n) });
      var marker = L.marker([c.lat, c.lon], {
        keyboard: true, title: label, alt: label,
        icon: L.divIcon({ html: inner, className: "marker-cluster marker-cluster-" + size + " market-cell", iconSize: L.point(40, 40) }),
      });
      // A click, or Enter on the focused cell (Leaflet fires no click from the keyboard).
      marker.on("click keypress", function (event) {
        if (event.type === "keypress" && event.originalEvent.key !== "Enter") return;
        map.fitBounds(boundsOf(c.bounds), { animate: false });
      });
      return marker;
    }

    function show(data) {
      clusters.clearLayers();
      cells.clearLayers();
      if (data.mode === "cells") {
        data.cells.forEach(function (c) { cells.addLayer(cellMarker(c)); });
      } else {
        clusters.addLayers(data.points.map(pointMarker));
      }
      var n = tonnes.format(data.total);
      status.textContent = !data.total ? text.textNone
        : fill(data.mode === "cells" ? text.textCells : text.textPoints, { n: n });
      canvas.dataset.mode = data.mode;
      canvas.dataset.total = data.total;
      if (!fitted && data.extent) fitTo(boundsOf(data.extent));
      canvas.dataset.ready = "true";
    }

    var loaded = null;
    var sequence = 0;
    function query() {
      var params = new URLSearchParams(new FormData(form));
      params.delete("page");
      return params.toString();
    }
    function load() {
      var q = query();
      if (q === loaded) return;
      loaded = q;
      everywhere.hidden = !(bboxInput && bboxInput.value);
      var mine = ++sequence;
      canvas.dataset.ready = "false";
      fetch(text.url + "?" + q, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          if (mine !== sequence) return;
          if (!answer.ok) {
            var errors = answer.body.errors || {};
            var messages = Object.keys(errors).map(function (k) { return errors[k].join(" "); });
            status.textContent = text.textError + " " + messages.join(" ");
            canvas.dataset.ready = "true";
            return;
          }
          canvas.dataset.query = q;
          show(answer.body);
        })
        .catch(function () {
          if (mine !== sequence) return;
          loaded = null;
          status.textContent = text.textError;
        });
    }

    function submit() {
      if (form.requestSubmit) form.requestSubmit();
      else htmx.trigger(form, "submit");
    }

    map.on("moveend", function () {
      if (placing || !bboxInput) return;
      var bbox = bboxOf(map.getBounds());
      if (bbox === ignored) return;
      ignored = null;
      bboxInput.value = bbox;
      submit();
    });

    everywhere.addEventListener("click", function () {
      bboxInput.value = "";
      fitted = false;
      submit();
    });

    function setView(view) {
      layout.dataset.view = view;
      toggle.querySelectorAll("button").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.dataset.marketView === view));
      });
      if (view === "map") {
        place(function () { map.invalidateSize({ pan: false }); });
        if (pendingExtent) fitTo(pendingExtent);
      }
    }
    toggle.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-market-view]");
      if (button) setView(button.dataset.marketView);
    });
    // From narrow to wide the map comes into view without a click.
    function resized() {
      if (visible()) {
        place(function () { map.invalidateSize({ pan: false }); });
        if (pendingExtent) fitTo(pendingExtent);
      }
    }

    current = { load: load, resized: resized };
    load();
  }

  // The page's one map; listeners on the document and window are added once and
  // ask whichever map is current.
  var current = null;

  function init() {
    start();
    // Each new list (filters, the map's area) brings the map's data along; pages
    // of the same list do not (the query string without "page" is the same).
    document.body.addEventListener("htmx:afterSettle", function (event) {
      var target = event.detail && event.detail.target;
      if (current && target && target.id === "market-results") current.load();
    });
    window.addEventListener("resize", function () {
      if (current) current.resized();
    });
    // Back or Forward: market.html keeps htmx from saving copies of this page (they
    // would carry Leaflet's inline styles, which the CSP refuses, and no live map),
    // so htmx would fetch the address and swap it in, copying the old map's style
    // attributes while it settles. Load the address as a page instead, map and all.
    document.body.addEventListener("htmx:historyCacheMiss", function (event) {
      if (!document.getElementById("market-map")) return;
      event.preventDefault();
      window.location.reload();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
