// The run's map: one line per proposal coloured by material, and a side list of
// the proposals in view that follows the map as it moves (templates/optimizer/_run_map.html).
// Works without tiles (offline): the lines still show. Names are put in as text nodes.
(function () {
  "use strict";
  // The colours of .run-c0 ... .run-c12 in site.css (the legend's swatches): twelve
  // materials apart, the smaller ones past them in grey (optimizer/run_pages.py).
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#7b4173", "#9e9e9e"];
  var LISTED = 100;

  function asText(value) {
    return function () { return document.createTextNode(value); };
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? values[key] : whole;
    });
  }

  function start() {
    var el = document.getElementById("run-map");
    var dataEl = document.getElementById("run-map-data");
    var list = document.getElementById("run-map-list");
    var count = document.getElementById("run-map-count");
    if (!el || !dataEl || !list || typeof L === "undefined") return;
    var data = JSON.parse(dataEl.textContent);
    // A line comes as [id, material id, tonnes, road km, start end, finish end, status].
    data.lines = data.lines.map(function (r) {
      return { id: r[0], m: r[1], t: r[2], km: r[3], a: r[4], b: r[5], s: r[6] };
    });
    var statuses = data.statuses || {};
    var lang = document.documentElement.lang || "en";
    var t1 = new Intl.NumberFormat(lang, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
    var materials = {};
    data.materials.forEach(function (m) { materials[m.id] = m; });

    var map = L.map(el, { preferCanvas: false });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "© OpenStreetMap" }).addTo(map);
    }
    var maxT = Math.max.apply(null, data.lines.map(function (l) { return l.t; }).concat([1]));
    var bounds = [];
    var byId = {};
    var active = null;

    function itemText(l) {
      var m = materials[l.m] || { name: "", c: 0 };
      return "#" + l.id + " " + m.name + " · " + t1.format(l.t) + " " + el.dataset.textT +
        " · " + t1.format(l.km) + " " + el.dataset.textKm +
        (statuses[l.s] ? " · " + statuses[l.s] : "");
    }

    data.lines.forEach(function (l) {
      var a = data.sites[l.a], b = data.sites[l.b];
      var m = materials[l.m] || { c: 0 };
      l.from = [a.lat, a.lon];
      l.to = [b.lat, b.lon];
      l.bounds = L.latLngBounds([l.from, l.to]);
      l.weight = 2 + 8 * Math.sqrt(l.t / maxT);
      l.layer = L.polyline([l.from, l.to], {
        weight: l.weight, color: COLOURS[m.c % COLOURS.length], opacity: 0.8,
        // Decided proposals are dashed: what is still open stands out.
        dashArray: l.s === "proposed" ? null : "6 6",
        className: "run-map-line run-map-" + l.s,
      }).bindTooltip(asText(itemText(l) + " · " + a.label + " → " + b.label)).addTo(map);
      l.layer.on("click", function () { select(l, true); });
      byId[l.id] = l;
      bounds.push(l.from, l.to);
    });

    function select(l, fromMap) {
      if (active) active.layer.setStyle({ weight: active.weight, opacity: 0.8 });
      active = l;
      l.layer.setStyle({ weight: l.weight + 5, opacity: 1 });
      l.layer.bringToFront();
      Array.prototype.forEach.call(list.querySelectorAll("li"), function (li) {
        li.classList.toggle("active", li.dataset.id === String(l.id));
        if (fromMap && li.dataset.id === String(l.id)) li.scrollIntoView({ block: "nearest" });
      });
      if (!fromMap) l.layer.openTooltip(l.bounds.getCenter());
      // A facilitator's page has a panel for a proposal's CO2e breakdown: fill it.
      var panel = document.getElementById("proposal-detail");
      if (panel && el.dataset.detailUrl && typeof htmx !== "undefined") {
        htmx.ajax("GET", el.dataset.detailUrl.replace("/0/", "/" + l.id + "/"),
                  { target: "#proposal-detail" });
      }
    }

    function render() {
      var view = map.getBounds();
      var inView = data.lines.filter(function (l) { return view.intersects(l.bounds); });
      var shown = inView.slice(0, LISTED);  // the lines come largest first
      var text = fill(el.dataset.textCount, { n: inView.length, total: data.lines.length });
      if (inView.length > shown.length) {
        text += " (" + fill(el.dataset.textCapped, { shown: shown.length }) + ")";
      }
      count.textContent = inView.length ? text : el.dataset.textNone;
      list.replaceChildren();
      shown.forEach(function (l) {
        var m = materials[l.m] || { c: 0 };
        var li = document.createElement("li");
        li.dataset.id = l.id;
        if (active === l) li.classList.add("active");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "run-map-item";
        var swatch = document.createElement("span");
        swatch.className = "run-swatch run-c" + (m.c % COLOURS.length);
        swatch.setAttribute("aria-hidden", "true");
        var ends = document.createElement("span");
        ends.className = "muted";
        ends.textContent = data.sites[l.a].label + " → " + data.sites[l.b].label;
        button.append(swatch, " " + itemText(l), document.createElement("br"), ends);
        button.addEventListener("click", function () { select(l, false); });
        li.append(button);
        list.append(li);
      });
    }

    map.on("moveend", render);
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
    else map.setView([43.238, 76.946], 10);
    render();
    el.dataset.ready = "true";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
