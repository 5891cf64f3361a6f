// Results map: one line per proposal (thickness by tonnes), sites as markers.
// Works without tiles (offline): the lines and markers still show.
document.addEventListener("DOMContentLoaded", function () {
  // Tooltips name companies and sites, as their users typed them: Leaflet puts a
  // string tooltip in as HTML, so each one gets a text node built when it opens.
  function asText(value) {
    return function () {
      return document.createTextNode(value);
    };
  }
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || typeof L === "undefined") return;
  var data = JSON.parse(dataEl.textContent);
  var map = L.map(el);
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: "© OpenStreetMap" }).addTo(map);
  }
  var maxT = Math.max.apply(null, data.lines.map(function (l) { return l.tonnes; }).concat([1]));
  var bounds = [];
  data.sites.forEach(function (s) {
    L.circleMarker([s.lat, s.lon], { radius: 5, color: "#1d2a22" })
      .bindTooltip(asText(s.name))
      .addTo(map);
    bounds.push([s.lat, s.lon]);
  });
  data.lines.forEach(function (l) {
    var colour = l.status === "approved" ? "#2f7d4f" : l.status === "rejected" ? "#999" : "#d2691e";
    var line = L.polyline([l.from, l.to], {
      weight: 2 + 10 * Math.sqrt(l.tonnes / maxT), color: colour, opacity: 0.8,
      className: "proposal-line",
    }).bindTooltip(asText(l.label)).addTo(map);
    line.on("click", function () {
      htmx.ajax("GET", "/review/proposals/" + l.id + "/", { target: "#proposal-detail" });
    });
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
  else map.setView([43.238, 76.946], 10);
});
