// The step-through page. The model (lograd.lectures.page.StepThrough.to_json) is in the JSON
// script element; every number arrives as text already (exact JSON and short), so this script
// formats nothing: it draws the graph, moves between steps and fills in what each step reached.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLUMN = 200, ROW = 96, BOX_W = 168, BOX_H = 74, MARGIN = 16, MAX_TEXT = 22;
  var model = JSON.parse(document.getElementById("lograd-model").textContent);
  var nodes = {};
  model.nodes.forEach(function (n) { nodes[n.name] = n; });
  var users = {};  // name -> names of the nodes computed from it
  model.nodes.forEach(function (n) {
    users[n.name] = users[n.name] || [];
    n.inputs.forEach(function (p) { (users[p] = users[p] || []).push(n.name); });
  });
  var steps = model.steps;
  var updated = {};  // parameter name -> its update
  model.updates.forEach(function (u) { updated[u.name] = u; });
  var current = 0;
  var boxes = {}, edges = [];

  function el(tag, attrs, children, ns) {
    var node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function svg(tag, attrs, children) { return el(tag, attrs, children, SVG); }
  function fit(text) {
    return text.length <= MAX_TEXT ? text : text.slice(0, MAX_TEXT - 1) + "\u2026";
  }
  function boxText(numbers) {  // a number, a short vector, or its shape
    if (!numbers) return "";
    if (!numbers.shape.length || numbers.size <= 3) return numbers.short;
    return "(" + numbers.shape.join(", ") + ") " + numbers.items[0] + ", \u2026";
  }

  // -- the graph --------------------------------------------------------------------------------
  function drawGraph() {
    var graph = document.getElementById("graph");
    var heights = [], columns = [];
    model.nodes.forEach(function (n) { columns.push(n.position[0]); heights.push(n.position[1]); });
    model.edges.forEach(function (e) {
      e.points.forEach(function (p) { columns.push(p[0]); heights.push(p[1]); });
    });
    var top = Math.max.apply(null, heights), bottom = Math.min.apply(null, heights);
    var width = 2 * MARGIN + (Math.max.apply(null, columns) + 1) * COLUMN;
    var height = 2 * MARGIN + (top - bottom + 1) * ROW;
    graph.setAttribute("viewBox", "0 0 " + width + " " + height);
    graph.style.width = "100%";
    graph.style.maxWidth = width + "px";  // scaled down to fit, never up
    function center(p) { return [MARGIN + (p[0] + 0.5) * COLUMN, MARGIN + (top - p[1] + 0.5) * ROW]; }
    var defs = svg("defs", {}, [svg("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7",
      markerHeight: "7", orient: "auto-start-reverse"
    }, [svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6c757d" })])]);
    graph.appendChild(defs);
    model.edges.forEach(function (e) {
      var pts = e.points.map(center);
      var d = "M " + (pts[0][0] + BOX_W / 2) + " " + pts[0][1];
      for (var i = 1; i < pts.length - 1; i++) {
        d += " L " + (pts[i][0] - BOX_W / 2) + " " + pts[i][1] + " L " + (pts[i][0] + BOX_W / 2) +
          " " + pts[i][1];
      }
      var last = pts[pts.length - 1];
      d += " L " + (last[0] - BOX_W / 2) + " " + last[1];
      var path = svg("path", { "class": "edge", d: d, "marker-end": "url(#arrow)",
                               "data-from": e.from, "data-to": e.to });
      graph.appendChild(path);
      edges.push({ from: e.from, to: e.to, path: path });
    });
    model.nodes.forEach(function (n) {
      var c = center(n.position);
      var texts = {
        name: svg("text", { "class": "name", x: 8, y: 17 }, [fit(n.name)]),
        formula: svg("text", { x: 8, y: 33 }, [fit(n.inputs.length ? n.formula : n.kind)]),
        value: svg("text", { "class": "pending", x: 8, y: 50 }, ["value"]),
        grad: svg("text", { "class": "pending", x: 8, y: 66 }, [n.grad ? "grad" : "no grad"])
      };
      var title = svg("title", {}, [n.formula]);
      var g = svg("g", { "class": "node " + n.kind, "data-node": n.name,
                         transform: "translate(" + (c[0] - BOX_W / 2) + "," + (c[1] - BOX_H / 2) + ")" },
                  [title, svg("rect", { width: BOX_W, height: BOX_H, rx: 7 }),
                   texts.name, texts.formula, texts.value, texts.grad]);
      g.addEventListener("click", function () { goTo(firstStepOf(n.name)); });
      graph.appendChild(g);
      boxes[n.name] = { g: g, texts: texts };
    });
  }

  function firstStepOf(name) {
    for (var i = 0; i < steps.length; i++) {
      if (steps[i].nodes.indexOf(name) >= 0) return i;
    }
    return current;
  }

  // -- what a step has reached -----------------------------------------------------------------
  function reached(index) {
    var values = {}, grads = {};
    for (var i = 0; i <= index; i++) {
      steps[i].nodes.forEach(function (name) {
        if (steps[i].kind === "forward") values[name] = true;
        if (steps[i].kind === "backward") grads[name] = true;
      });
    }
    return { values: values, grads: grads };
  }

  function paintGraph(step, state) {
    model.nodes.forEach(function (n) {
      var box = boxes[n.name];
      var hasValue = !!state.values[n.name], hasGrad = !!state.grads[n.name];
      if (hasValue) {
        box.g.setAttribute("data-value", n.value.exact);
        var moved = step.kind === "update" && updated[n.name];
        box.texts.value.textContent = fit("value " + boxText(n.value) +
                                          (moved ? " \u2192 " + updated[n.name].after.short : ""));
        box.texts.value.setAttribute("class", "value");
      } else {
        box.g.removeAttribute("data-value");
        box.texts.value.textContent = "value ?";
        box.texts.value.setAttribute("class", "pending");
      }
      if (hasGrad) {
        box.g.setAttribute("data-grad", n.grad.exact);
        box.texts.grad.textContent = fit("grad " + boxText(n.grad));
        box.texts.grad.setAttribute("class", "grad");
      } else {
        box.g.removeAttribute("data-grad");
        box.texts.grad.textContent = n.grad ? "grad ?" : "no grad";
        box.texts.grad.setAttribute("class", "pending");
      }
      var isCurrent = step.nodes.indexOf(n.name) >= 0;
      box.g.setAttribute("class", "node " + n.kind + (isCurrent ? " current " + step.kind : ""));
    });
    edges.forEach(function (e) {
      var cls = "edge";
      if (step.kind === "forward" && step.nodes.length === 1 && e.to === step.nodes[0]) cls += " forward";
      if (step.kind === "backward" && e.from === step.nodes[0] && nodes[e.to].grad) cls += " backward";
      e.path.setAttribute("class", cls);
    });
  }

  // -- the step's explanation ------------------------------------------------------------------
  function eq(text) { return el("span", { "class": "eq" }, [text]); }
  function p(children) { return el("p", {}, children); }
  function isVector(numbers) { return numbers && numbers.shape.length > 0; }
  function agreement(node) {
    if (node.agrees === true) return el("span", { "class": "ok" }, ["agrees \u2713"]);
    if (node.agrees === false) return el("span", { "class": "bad" }, ["DIFFERS \u2717"]);
    return el("span", { "class": "na" }, ["not checkable (not finite)"]);
  }
  function table(header, columns, index, size) {  // columns: arrays of strings, one per header
    var rows = [el("tr", {}, header.map(function (h) { return el("th", {}, [h]); }))];
    for (var i = 0; i < index.length; i++) {
      rows.push(el("tr", {}, [el("td", {}, [index[i]])].concat(columns.map(function (c) {
        return el("td", {}, [c ? (c.length > 1 ? c[i] : c[0]) : ""]);
      }))));
    }
    var parts = [el("table", {}, [el("thead", {}, [rows[0]]), el("tbody", {}, rows.slice(1))])];
    if (size > index.length) {
      parts.push(p(["\u2026 " + (size - index.length) + " more (data-value and data-grad hold every one)"]));
    }
    return el("div", {}, parts);
  }
  function cells(numbers) { return !numbers ? null : (numbers.items || [numbers.short]); }
  function indexHeader(numbers) {  // how the per-element tables number their rows
    return numbers.shape.length > 1 ? "(row, column)" : "example";
  }
  function sameShape(a, b) { return a.shape.join(",") === b.shape.join(","); }
  function grid(label, numbers) {  // a matrix (or a vector, as one row) as a table of its values
    var columns = numbers.shape.length > 1 ? numbers.shape[numbers.shape.length - 1] : numbers.size;
    var rows = [el("tr", {}, [el("th", {}, [label])].concat(
      Array.from({ length: Math.min(columns, numbers.items.length) }, function (_, j) {
        return el("th", {}, [String(j + 1)]);
      })))];
    for (var start = 0; start < numbers.items.length; start += columns) {
      var row = numbers.items.slice(start, start + columns);
      if (row.length < columns) row.push("\u2026");
      rows.push(el("tr", {}, [el("th", {}, [String(start / columns + 1)])].concat(
        row.map(function (c) { return el("td", {}, [c]); }))));
    }
    var parts = [el("table", { "class": "grid" }, [el("thead", {}, [rows[0]]),
                                                   el("tbody", {}, rows.slice(1))])];
    if (numbers.size > numbers.items.length) {
      parts.push(p(["\u2026 " + (numbers.size - numbers.items.length) +
                    " more (data-value and data-grad hold every one)"]));
    }
    return el("div", {}, parts);
  }
  function arrays(box, names, numbersOf, intro) {  // named arrays: one table if alike, else grids
    if (!names.length) return;
    var first = numbersOf(names[0]);
    if (names.every(function (name) { return sameShape(numbersOf(name), first); })) {
      if (intro) box.appendChild(p([intro]));
      box.appendChild(table([indexHeader(first)].concat(names), names.map(function (name) {
        return cells(numbersOf(name));
      }), first.index, first.size));
      return;
    }
    names.forEach(function (name) {
      var numbers = numbersOf(name);
      box.appendChild(p([name + ", shape (" + numbers.shape.join(", ") + "):"]));
      box.appendChild(grid(name, numbers));
    });
  }
  function valueOf(name) { return nodes[name].value; }

  function explainForward(step, box) {
    if (step.nodes.length > 1 || !nodes[step.nodes[0]].inputs.length) {
      box.appendChild(p(["The leaves: data (given) and parameters (what gradient descent changes)."]));
      var vector = step.nodes.filter(function (name) { return isVector(nodes[name].value); });
      step.nodes.forEach(function (name) {
        var n = nodes[name];
        if (!isVector(n.value)) box.appendChild(eq(name + " = " + n.value.short + "   (" + n.kind + ")"));
      });
      arrays(box, vector, valueOf, "One value per example:");
      return;
    }
    var n = nodes[step.nodes[0]];
    box.appendChild(eq(n.formula));
    var scalars = n.inputs.filter(function (name) { return !isVector(nodes[name].value); });
    var vectors = n.inputs.filter(function (name) { return isVector(nodes[name].value); });
    if (scalars.length) {
      box.appendChild(p(["with " + scalars.map(function (name) {
        return name + " = " + nodes[name].value.short;
      }).join(", ")]));
    }
    if (isVector(n.value)) {
      arrays(box, vectors.concat([n.name]), valueOf, "");
    } else {
      box.appendChild(eq(n.name + " = " + n.value.short));
    }
  }

  function explainBackward(step, box) {
    var n = nodes[step.nodes[0]];
    var order = model.steps.filter(function (s) { return s.kind === "backward"; })
      .map(function (s) { return s.nodes[0]; });
    var tables = [];  // example by example, after the results
    box.appendChild(p(["The engine's backward() reaches " + n.name + " now (its order: " +
                       order.join(", ") + "): its gradient is the upstream gradient times the " +
                       "local derivative."]));
    if (n.seed) box.appendChild(eq(n.seed));
    n.terms.forEach(function (t) {
      var upstreamLabel = nodes[t.user].grad_label;
      var vector = isVector(t.upstream) || isVector(t.local);
      var prefix = t.combine ? t.combine + " " : "";
      var where = !vector ? ":" : t.products ? ", example by example (table below):" :
        ", a matrix product (the matrices below):";
      box.appendChild(p(["from " + t.user + where]));
      box.appendChild(eq(n.grad_label + " = " + prefix + upstreamLabel + " \u00d7 " + t.local_label +
                         ",   " + t.local_label + " = " + t.local_formula));
      if (vector && t.products) {  // elementwise: example by example
        var shaped = isVector(t.upstream) ? t.upstream : t.local;
        tables.push(p(["from " + t.user + ":"]));
        tables.push(table([indexHeader(shaped), "upstream " + upstreamLabel, "local " + t.local_label,
                           "upstream \u00d7 local"],
                          [cells(t.upstream), cells(t.local), cells(t.products)],
                          shaped.index, shaped.size));
        if (t.combine) box.appendChild(eq(prefix + "the products = " + t.value.short));
      } else if (vector) {  // a matrix product: the three matrices
        var parts = { "upstream ": t.upstream, "local ": t.local, "term ": t.value };
        tables.push(p(["from " + t.user + ", as matrices:"]));
        Object.keys(parts).forEach(function (what) {
          var label = what === "upstream " ? upstreamLabel : what === "local " ? t.local_label : n.grad_label;
          tables.push(p([what + label + ", shape (" + parts[what].shape.join(", ") + "):"]));
          tables.push(isVector(parts[what]) ? grid(label, parts[what]) : eq(parts[what].short));
        });
      } else {
        box.appendChild(eq(" ".repeat(n.grad_label.length) + " = " + t.upstream.short + " \u00d7 " +
                           t.local.short + " = " + t.value.short));
      }
    });
    if (n.terms.length > 1) {
      box.appendChild(p(["sum of the " + n.terms.length + " terms: " + n.terms.map(function (t) {
        return t.value.short;
      }).join(" + ")]));
    }
    box.appendChild(eq("engine: " + n.grad_label + " = " + n.grad.short));
    if (n.closed_formula) {
      box.appendChild(eq("lecture: " + n.closed_formula + " = " + n.closed.short));
      box.appendChild(p(["|engine \u2212 closed form| = " + n.abs_diff + "  ", agreement(n)]));
      if (isVector(n.grad)) {
        tables.push(p(["engine and closed form:"]));
        tables.push(table([indexHeader(n.grad), "engine", "closed form"], [cells(n.grad), cells(n.closed)],
                          n.grad.index, n.grad.size));
      }
    }
    tables.forEach(function (t) { box.appendChild(t); });
  }

  function explainUpdate(box) {
    box.appendChild(p(["Each parameter moves against its gradient: p := p \u2212 \u03b1\u00b7dp, " +
                       "\u03b1 = " + model.alpha.short + "."]));
    var rows = model.updates.map(function (u) {
      return el("tr", { "data-parameter": u.name, "data-after": u.after.exact }, [
        el("td", {}, [u.name]), el("td", {}, [u.before.short]), el("td", {}, [u.grad.short]),
        el("td", {}, [u.after.short])]);
    });
    box.appendChild(el("table", {}, [el("thead", {}, [el("tr", {}, [
      el("th", {}, ["parameter"]), el("th", {}, ["before"]), el("th", {}, ["gradient"]),
      el("th", {}, ["after"])])]), el("tbody", {}, rows)]));
    box.appendChild(el("p", { id: "loss-step", "data-before": model.loss_before.exact,
                              "data-after": model.loss_after.exact }, [
      model.loss_name + " before the step: " + model.loss_before.short + ", after: " +
      model.loss_after.short + " (change " + model.loss_change.short + ")"]));
  }

  function render() {
    var step = steps[current];
    paintGraph(step, reached(current));
    document.getElementById("counter").textContent =
      "step " + current + " of " + (steps.length - 1) + ": " + step.title;
    var box = document.getElementById("detail");
    box.textContent = "";
    box.setAttribute("class", step.kind);
    box.setAttribute("data-step", String(current));
    box.appendChild(el("h2", {}, [step.title]));
    if (step.kind === "start") {
      box.appendChild(p(["Forward: each node's value from its inputs, left to right. Backward: " +
                         "each node's gradient, upstream \u00d7 local, in the order the engine's " +
                         "backward() visits them, beside the lecture's closed form. Then one step " +
                         "of gradient descent."]));
      box.appendChild(p(["Press \u2192 (or \u25b6) to start; \u2190 goes back, Home and End jump. " +
                         "Click a node to jump to it."]));
    } else if (step.kind === "forward") {
      explainForward(step, box);
    } else if (step.kind === "backward") {
      explainBackward(step, box);
    } else {
      explainUpdate(box);
    }
  }

  function goTo(index) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    render();
  }

  // -- the timeline ----------------------------------------------------------------------------
  var CHART_W = 520, CHART_H = 240, PAD = 44;
  var COLORS = ["#0d6efd", "#d63384", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"];

  function chart(target, series, label) {
    target.setAttribute("width", CHART_W);
    target.setAttribute("height", CHART_H);
    target.setAttribute("class", "chart");
    function flat(v) { return Array.isArray(v) ? [].concat.apply([], v.map(flat)) : [v]; }
    var tracks = [];  // one line per number: a matrix-valued series has one per element
    series.forEach(function (s, k) {
      var steps = s.values.map(flat);
      steps[0].forEach(function (_, j) {
        tracks.push({ series: k, values: steps.map(function (v) { return v[j]; }) });
      });
    });
    var all = [];
    // a non-finite number arrives tagged ({"__float__": "inf"}): not drawn
    tracks.forEach(function (t) { t.values.forEach(function (v) { if (typeof v === "number") all.push(v); }); });
    target.appendChild(svg("text", { x: CHART_W / 2, y: 12, "text-anchor": "middle" }, [label]));
    if (!all.length) {  // e.g. a loss of inf from the start: nothing to draw
      target.appendChild(svg("text", { x: CHART_W / 2, y: CHART_H / 2, "text-anchor": "middle" },
                             ["no finite values to plot (see the note below)"]));
      return function () {};
    }
    var low = Math.min.apply(null, all), high = Math.max.apply(null, all);
    if (!(high > low)) { high = low + 1; low = low - 1; }
    var count = series[0].values.length;
    function x(i) { return PAD + (CHART_W - PAD - 12) * (count > 1 ? i / (count - 1) : 0); }
    function y(v) { return CHART_H - 28 - (CHART_H - 46) * (v - low) / (high - low); }
    target.appendChild(svg("line", { "class": "axis", x1: PAD, y1: CHART_H - 28, x2: CHART_W - 12, y2: CHART_H - 28 }));
    target.appendChild(svg("line", { "class": "axis", x1: PAD, y1: 14, x2: PAD, y2: CHART_H - 28 }));
    target.appendChild(svg("text", { x: PAD, y: CHART_H - 10 }, ["step 0"]));
    target.appendChild(svg("text", { x: CHART_W - 12, y: CHART_H - 10, "text-anchor": "end" }, ["step " + (count - 1)]));
    target.appendChild(svg("text", { x: 4, y: 18 }, [String(+high.toPrecision(3))]));
    target.appendChild(svg("text", { x: 4, y: CHART_H - 30 }, [String(+low.toPrecision(3))]));
    tracks.forEach(function (t) {
      var points = [];
      t.values.forEach(function (v, i) { if (typeof v === "number") points.push(x(i) + "," + y(v)); });
      target.appendChild(svg("polyline", { "class": "curve", points: points.join(" "),
                                           stroke: COLORS[t.series % COLORS.length] }));
    });
    if (series.length > 1) {
      series.forEach(function (s, k) {
        target.appendChild(svg("text", { x: CHART_W - 14, y: 26 + 13 * k, "text-anchor": "end",
                                         fill: COLORS[k % COLORS.length] }, [s.name]));
      });
    }
    var marker = svg("line", { "class": "marker", x1: PAD, y1: 14, x2: PAD, y2: CHART_H - 28 });
    target.appendChild(marker);
    return function (i) { marker.setAttribute("x1", x(i)); marker.setAttribute("x2", x(i)); };
  }

  function setUpTimeline() {
    var timeline = model.timeline;
    if (!timeline) return;
    var section = document.getElementById("timeline");
    section.hidden = false;
    var slider = document.getElementById("slider");
    var last = timeline.loss.length - 1;
    slider.max = String(last);
    var moveLoss = chart(document.getElementById("loss-chart"),
                         [{ name: model.loss_name, values: timeline.loss }], model.loss_name + " after each step");
    var moveParams = chart(document.getElementById("param-chart"), timeline.parameters, "parameters after each step");
    function show() {
      var k = Number(slider.value);
      document.getElementById("slider-value").textContent = String(k) + " of " + last;
      var readout = document.getElementById("readout");
      var exact = {};
      timeline.parameters.forEach(function (p) { exact[p.name] = JSON.parse(p.exact[k]); });
      readout.setAttribute("data-step", String(k));
      readout.setAttribute("data-loss", timeline.loss_exact[k]);
      readout.setAttribute("data-parameters", JSON.stringify(exact));
      readout.textContent = model.loss_name + " = " + timeline.loss_short[k] + "   " +
        timeline.parameters.map(function (p) { return p.name + " = " + p.short[k]; }).join("   ");
      moveLoss(k);
      moveParams(k);
    }
    slider.addEventListener("input", show);
    show();
  }

  // -- start ------------------------------------------------------------------------------------
  document.getElementById("summary").textContent = model.summary.join("\n");
  var footer = document.getElementById("verdict");
  model.notes.concat([model.verdict]).forEach(function (text) { footer.appendChild(p([text])); });
  drawGraph();
  setUpTimeline();
  document.getElementById("first").addEventListener("click", function () { goTo(0); });
  document.getElementById("prev").addEventListener("click", function () { goTo(current - 1); });
  document.getElementById("next").addEventListener("click", function () { goTo(current + 1); });
  document.getElementById("last").addEventListener("click", function () { goTo(steps.length - 1); });
  document.addEventListener("keydown", function (event) {
    if (event.target && event.target.tagName === "INPUT") return;  // the slider has its own keys
    var moves = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: steps.length - 1 };
    if (!(event.key in moves) || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    goTo(moves[event.key]);
  });
  render();
})();
