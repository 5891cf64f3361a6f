// City map: one line per exchange (supplier area -> receiver area), thickness by tonnes.
// Works without tiles (offline): the lines still show.
document.addEventListener("DOMContentLoaded", function () {
  // Material names come from the database: Leaflet puts a string tooltip in as
  // HTML, so each one gets a text node built when it opens.
  function asText(value) {
    return function () {
      return document.createTextNode(value);
    };
  }
  var el = document.getElementById("city-map");
  var dataEl = document.getElementById("city-map-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el);
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "© OpenStreetMap" }).addTo(map);
  }
  var maxT = Math.max.apply(null, data.lines.map(function (l) { return l.tonnes; }).concat([1]));
  var bounds = [];
  data.lines.forEach(function (l) {
    L.polyline([l.from, l.to], {
      weight: 2 + 12 * Math.sqrt(l.tonnes / maxT), color: "#2f7d4f", opacity: 0.7,
      className: "exchange-line",
    }).bindTooltip(asText(l.label)).addTo(map);
    L.circleMarker(l.from, { radius: 4, color: "#a0522d" }).addTo(map);
    L.circleMarker(l.to, { radius: 4, color: "#1d2a22" }).addTo(map);
    bounds.push(l.from, l.to);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
  else map.setView([43.238, 76.946], 11);
});
