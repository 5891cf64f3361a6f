// City Sankey: confirmed tonnes from supplier sector through material to use,
// drawn with the vendored d3-sankey from the aggregates in #sankey-data.
// CSP-safe: no inline code, no style attribute (classes in city.css, sizes as
// SVG attributes).
(function () {
  "use strict";

  var MIN_WIDTH = 600; // narrower than this the chart scrolls inside its box
  var NODE_WIDTH = 14;
  var ROW_HEIGHT = 34; // per node of the fullest column
  var LABEL_GAP = 6;
  var MAX_LABEL_SHARE = 0.3; // of the width, for each outer column's labels
  var SVG_NS = "http://www.w3.org/2000/svg";
  var COLUMNS = ["sector", "material", "use"];
  // Tonnes are weighed to the kilogram: less than half of one counted means no
  // counted CO2e (as COUNTED_T_MIN in dashboard/charts.py).
  var COUNTED_T_MIN = 0.0005;
  // "{t}" stands for the tonnes; the page passes its translation (data-not-counted).
  var notCountedText = "CO2e not counted for {t} t";
  // The unit symbols, translated by the page (data-unit-t, data-unit-t-co2e).
  var unitT = "t";
  var unitTCo2e = "t CO2e";

  function fmt(value) {
    var lang = document.documentElement.lang || undefined;
    return value.toLocaleString(lang, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  }

  // "name: 12.0 t, 3.0 t CO2e", and for tonnes whose current fate has no factor
  // "; current fate's CO2e not counted for 5.0 t": the figure leaves that term out.
  function summary(name, tonnes, kgCo2e, notCounted) {
    var text = name + ": " + fmt(tonnes) + " " + unitT;
    text += ", " + fmt(kgCo2e / 1000) + " " + unitTCo2e;
    if (notCounted >= COUNTED_T_MIN) text += "; " + notCountedText.replace("{t}", fmt(notCounted));
    return text;
  }

  // Nodes per column (ids prefixed by column: a use may share a material's name)
  // and links per (source, target) pair, summing tonnes, kg CO2e and the tonnes
  // whose CO2e is not counted.
  function graph(flows) {
    var nodes = new Map();
    var links = new Map();
    flows.forEach(function (flow) {
      var ids = COLUMNS.map(function (column, depth) {
        var id = depth + ":" + flow[column];
        if (!nodes.has(id)) {
          nodes.set(id, { id: id, name: flow[column], column: depth, kgCo2e: 0, notCounted: 0 });
        }
        nodes.get(id).kgCo2e += flow.kg_co2e;
        nodes.get(id).notCounted += flow.tonnes_co2e_not_counted;
        return id;
      });
      for (var depth = 0; depth < 2; depth++) {
        var key = ids[depth] + "\u0000" + ids[depth + 1];
        if (!links.has(key)) {
          links.set(key, {
            source: ids[depth],
            target: ids[depth + 1],
            value: 0,
            kgCo2e: 0,
            notCounted: 0,
          });
        }
        links.get(key).value += flow.tonnes;
        links.get(key).kgCo2e += flow.kg_co2e;
        links.get(key).notCounted += flow.tonnes_co2e_not_counted;
      }
    });
    return { nodes: Array.from(nodes.values()), links: Array.from(links.values()) };
  }

  // Longest label width in px and a text shortened with an ellipsis to fit.
  function measurer(svg) {
    var probe = document.createElementNS(SVG_NS, "text");
    probe.setAttribute("class", "sankey-label");
    svg.appendChild(probe);
    return {
      width: function (text) {
        probe.textContent = text;
        return probe.getComputedTextLength();
      },
      fit: function (text, maxPx) {
        probe.textContent = text;
        if (probe.getComputedTextLength() <= maxPx) return text;
        var cut = text.length;
        while (cut > 1) {
          cut--;
          probe.textContent = text.slice(0, cut) + "…";
          if (probe.getComputedTextLength() <= maxPx) break;
        }
        return probe.textContent;
      },
      remove: function () {
        svg.removeChild(probe);
      },
    };
  }

  function draw(box, flows) {
    var data = graph(flows);
    var width = Math.max(box.clientWidth, MIN_WIDTH);
    var perColumn = [0, 0, 0];
    data.nodes.forEach(function (n) {
      perColumn[n.column]++;
    });
    var height = Math.max(240, Math.max.apply(null, perColumn) * ROW_HEIGHT + 20);

    d3.select(box).selectAll("svg").remove();
    var svg = d3
      .select(box)
      .append("svg")
      .attr("id", "sankey")
      .attr("class", "sankey")
      .attr("role", "img")
      .attr("aria-label", box.dataset.title || "")
      .attr("width", width)
      .attr("height", height)
      .attr("viewBox", [0, 0, width, height].join(" "));
    svg.append("title").text(box.dataset.title || "");

    // Room for the outer columns' labels, outside the nodes.
    var measure = measurer(svg.node());
    var maxLabel = width * MAX_LABEL_SHARE;
    var outer = [0, 0, 0];
    data.nodes.forEach(function (n) {
      n.label = measure.fit(n.name, maxLabel);
      outer[n.column] = Math.max(outer[n.column], measure.width(n.label));
    });
    measure.remove();
    var left = Math.ceil(outer[0]) + LABEL_GAP + 2;
    var right = Math.ceil(outer[2]) + LABEL_GAP + 2;

    var layout = d3
      .sankey()
      .nodeId(function (n) {
        return n.id;
      })
      .nodeWidth(NODE_WIDTH)
      .nodePadding(12)
      .extent([
        [left, 8],
        [width - right, height - 8],
      ]);
    var result = layout(data);

    svg
      .append("g")
      .attr("class", "sankey-links")
      .selectAll("path")
      .data(result.links)
      .join("path")
      .attr("class", "sankey-link")
      .attr("d", d3.sankeyLinkHorizontal())
      .attr("stroke-width", function (l) {
        return Math.max(1, l.width);
      })
      .attr("data-depth", function (l) {
        return l.source.column;
      })
      .attr("data-tonnes", function (l) {
        return l.value;
      })
      .append("title")
      .text(function (l) {
        return summary(l.source.name + " → " + l.target.name, l.value, l.kgCo2e, l.notCounted);
      });

    var node = svg
      .append("g")
      .attr("class", "sankey-nodes")
      .selectAll("g")
      .data(result.nodes)
      .join("g")
      .attr("class", "sankey-node-group");
    // One tooltip for the bar and its label.
    node.append("title").text(function (n) {
      return summary(n.name, n.value, n.kgCo2e, n.notCounted);
    });
    node
      .append("rect")
      .attr("class", function (n) {
        return "sankey-node column-" + n.column;
      })
      .attr("x", function (n) {
        return n.x0;
      })
      .attr("y", function (n) {
        return n.y0;
      })
      .attr("width", function (n) {
        return n.x1 - n.x0;
      })
      .attr("height", function (n) {
        return Math.max(1, n.y1 - n.y0);
      });
    node
      .append("text")
      .attr("class", "sankey-label")
      .attr("x", function (n) {
        return n.column === 0 ? n.x0 - LABEL_GAP : n.x1 + LABEL_GAP;
      })
      .attr("y", function (n) {
        return (n.y0 + n.y1) / 2;
      })
      .attr("dy", "0.35em")
      .attr("text-anchor", function (n) {
        return n.column === 0 ? "end" : "start";
      })
      .text(function (n) {
        return n.label;
      });
    return width;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("sankey-chart");
    var dataEl = document.getElementById("sankey-data");
    if (!box || !dataEl || typeof d3 === "undefined" || !d3.sankey) return;
    var flows = JSON.parse(dataEl.textContent);
    if (!flows.length) return;
    if (box.dataset.notCounted) notCountedText = box.dataset.notCounted;
    if (box.dataset.unitT) unitT = box.dataset.unitT;
    if (box.dataset.unitTCo2e) unitTCo2e = box.dataset.unitTCo2e;
    var drawnAt = draw(box, flows);
    var pending = false;
    // Redraw when the box changes width (rotation, window resize), once a frame.
    window.addEventListener("resize", function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        if (Math.max(box.clientWidth, MIN_WIDTH) !== drawnAt) drawnAt = draw(box, flows);
      });
    });
  });
})();
