// AlloyPref results explorer: filters, sorts and pages the embedded scored candidates and draws one
// candidate's phase fractions against temperature as inline SVG. No network, no library: every string
// from the data reaches the page through textContent or setAttribute, never as markup.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  const COL = {};
  DATA.columns.forEach(function (name, k) { COL[name] = k; });
  const PAGE_SIZE = 50;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLOURS = { BCC: "#4c72b0", B2: "#c44e52", LIQUID: "#8c8c8c", OTHER: "#55a868" };
  const DASHES = ["", "6 3", "2 3", "8 3 2 3"];
  const RULES = [
    ["bcc_b2_exist", "BCC+B2 coexist"],
    ["bcc_forms_first", "BCC forms first"],
    ["b2_room_temp", "B2 at lowest T"],
    ["others_within_10", "others \u2264 10 %"],
    ["all_rules", "all four"],
  ];
  const unit = DATA.mismatch_unit ? " (" + DATA.mismatch_unit + ")" : "";
  // [column, header, kind]: kind num (right-aligned, sorted as numbers), flag (holds/fails/unknown), text
  const SHOWN = [
    ["source", "source", "text"],
    ["candidate_id", "id", "text"],
    ["bcc", "BCC", "text"],
    ["b2", "B2", "text"],
    ["b2_volume_percent", "B2 vol %", "num"],
    ["elements", "elements", "text"],
    ["status", "status", "text"],
    ["database", "database", "text"],
    ["trusted", "trusted", "flag"],
    ["reward", "reward", "num"],
    ["rules", "rules 1-4", "rules"],
    ["all_rules", "all rules", "flag"],
    ["highest_bcc_K", "BCC up to (K)", "num"],
    ["highest_b2_K", "B2 up to (K)", "num"],
    ["min_lattice_mismatch", "mismatch" + unit, "num"],
  ];

  const rows = DATA.rows.map(function (values, index) {
    const row = { index: index, values: values };
    // the four rules as one sortable number: how many hold (null when not scored)
    row.ruleCount = values[COL.bcc_b2_exist] === null ? null : RULES.slice(0, 4).filter(function (rule) {
      return values[COL[rule[0]]];
    }).length;
    row.elementSet = new Set(String(values[COL.elements] || "").split("-").filter(Boolean));
    row.text = [values[COL.candidate_id], values[COL.bcc], values[COL.b2], values[COL.database],
      values[COL.master_composition]].join(" ").toLowerCase();
    return row;
  });
  const state = { sortColumn: "reward", descending: true, page: 0, selected: null, matching: rows };

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attributes, text) {
    const node = document.createElementNS(SVG_NS, tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function value(row, name) { return name === "rules" ? row.ruleCount : row.values[COL[name]]; }
  function formatNumber(x, digits) {
    if (x === null || x === undefined) return "\u2014";
    return Number(x).toFixed(digits);
  }
  function flagCell(x) {
    if (x === null || x === undefined) return el("td", { class: "unknown", title: "not known: the candidate was not scored" }, "\u2014");
    return x ? el("td", { class: "yes" }, "yes") : el("td", { class: "no" }, "no");
  }
  function elementsOf(text) {
    return String(text).split(/[^A-Za-z]+/).filter(Boolean).map(function (symbol) {
      return symbol.charAt(0).toUpperCase() + symbol.slice(1).toLowerCase();
    });
  }

  // ---- filters
  function buildFilters() {
    const sourceBox = document.getElementById("filter-sources");
    DATA.sources.forEach(function (source, k) {
      const label = el("label");
      const box = el("input", { type: "checkbox", id: "filter-source-" + k, "data-source": source.name });
      box.checked = true;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + source.name + " "));
      sourceBox.appendChild(label);
    });
    const databases = Array.from(new Set(rows.map(function (row) { return value(row, "database"); }))).sort();
    const databaseSelect = document.getElementById("filter-database");
    databases.forEach(function (name) {
      databaseSelect.appendChild(el("option", { value: name }, name === "" ? "(none)" : name));
    });
    const ruleBox = document.getElementById("filter-rules");
    RULES.forEach(function (rule) {
      const label = el("label", {}, rule[1] + " ");
      const select = el("select", { id: "filter-rule-" + rule[0], "data-rule": rule[0] });
      [["", "any"], ["yes", "holds"], ["no", "fails"]].forEach(function (option) {
        select.appendChild(el("option", { value: option[0] }, option[1]));
      });
      label.appendChild(select);
      ruleBox.appendChild(label);
    });
    document.getElementById("filters").addEventListener("input", function () { state.page = 0; refresh(); });
    document.getElementById("filters").addEventListener("change", function () { state.page = 0; refresh(); });
    document.getElementById("filter-reset").addEventListener("click", function () {
      document.querySelectorAll("#filters input[type=checkbox]").forEach(function (box) { box.checked = true; });
      document.querySelectorAll("#filters select").forEach(function (select) { select.value = ""; });
      document.querySelectorAll("#filters input[type=number], #filters input[type=text], #filters input[type=search]")
        .forEach(function (input) { input.value = ""; });
      state.page = 0;
      refresh();
    });
  }

  function currentFilter() {
    const sources = new Set();
    document.querySelectorAll("#filter-sources input").forEach(function (box) {
      if (box.checked) sources.add(box.getAttribute("data-source"));
    });
    const rules = [];
    document.querySelectorAll("#filter-rules select").forEach(function (select) {
      if (select.value) rules.push([select.getAttribute("data-rule"), select.value === "yes"]);
    });
    const number = function (id) {
      const text = document.getElementById(id).value;
      return text === "" || isNaN(Number(text)) ? null : Number(text);
    };
    return {
      sources: sources,
      status: document.getElementById("filter-status").value,
      trust: document.getElementById("filter-trust").value,
      database: document.getElementById("filter-database").value,
      databaseAny: document.getElementById("filter-database").selectedIndex === 0,
      rules: rules,
      rewardMin: number("filter-reward-min"),
      rewardMax: number("filter-reward-max"),
      withAll: elementsOf(document.getElementById("filter-elements").value),
      without: elementsOf(document.getElementById("filter-without").value),
      text: document.getElementById("filter-text").value.trim().toLowerCase(),
    };
  }

  function matches(row, f) {
    if (!f.sources.has(value(row, "source"))) return false;
    if (f.status && value(row, "status") !== f.status) return false;
    if (f.trust && value(row, "trusted") !== (f.trust === "yes")) return false;
    if (!f.databaseAny && value(row, "database") !== f.database) return false;
    for (const [name, holds] of f.rules) {
      if (value(row, name) !== holds) return false; // unknown (null) matches neither
    }
    const reward = value(row, "reward");
    if (f.rewardMin !== null && !(reward >= f.rewardMin)) return false;
    if (f.rewardMax !== null && !(reward <= f.rewardMax)) return false;
    if (!f.withAll.every(function (symbol) { return row.elementSet.has(symbol); })) return false;
    if (f.without.some(function (symbol) { return row.elementSet.has(symbol); })) return false;
    if (f.text && row.text.indexOf(f.text) < 0) return false;
    return true;
  }

  // ---- table
  function compare(a, b) {
    const x = value(a, state.sortColumn);
    const y = value(b, state.sortColumn);
    const missingX = x === null || x === undefined;
    const missingY = y === null || y === undefined;
    if (missingX || missingY) return missingX === missingY ? a.index - b.index : missingX ? 1 : -1; // unknown last
    let order = 0;
    if (typeof x === "number" && typeof y === "number") order = x - y;
    else if (typeof x === "boolean") order = (x ? 1 : 0) - (y ? 1 : 0);
    else order = String(x).localeCompare(String(y), undefined, { numeric: true });
    if (order === 0) return a.index - b.index;
    return state.descending ? -order : order;
  }

  function buildHeader() {
    const head = document.querySelector("#rows thead");
    const tr = el("tr");
    SHOWN.forEach(function (column) {
      const th = el("th", { "data-column": column[0], class: column[2] === "num" ? "num" : "" }, column[1]);
      if (column[0] === "rules") {
        th.setAttribute("title", "the reward's four rules, in order: " + RULES.slice(0, 4).map(function (rule) { return rule[1]; }).join(", "));
      }
      th.addEventListener("click", function () {
        if (state.sortColumn === column[0]) state.descending = !state.descending;
        else { state.sortColumn = column[0]; state.descending = column[2] !== "text"; }
        state.page = 0;
        refresh();
      });
      tr.appendChild(th);
    });
    head.appendChild(tr);
  }

  function cell(row, column) {
    const x = value(row, column[0]);
    if (column[2] === "flag") return flagCell(x);
    if (column[2] === "rules") {
      if (x === null) return el("td", { class: "unknown", title: "not known: the candidate was not scored" }, "\u2014");
      const td = el("td", { class: "rules", title: RULES.slice(0, 4).map(function (rule) {
        return rule[1] + ": " + (value(row, rule[0]) ? "holds" : "fails");
      }).join("; ") });
      RULES.slice(0, 4).forEach(function (rule) {
        const holds = value(row, rule[0]);
        td.appendChild(el("span", { class: holds ? "yes" : "no" }, holds ? "\u2713" : "\u2717"));
      });
      return td;
    }
    if (column[2] === "num") {
      const digits = column[0] === "reward" || column[0] === "min_lattice_mismatch" ? 4 : column[0] === "b2_volume_percent" ? 1 : 0;
      return el("td", { class: "num" }, formatNumber(x, digits));
    }
    return el("td", {}, x === "" ? "\u2014" : x);
  }

  function refresh() {
    const f = currentFilter();
    state.matching = rows.filter(function (row) { return matches(row, f); }).sort(compare);
    const pages = Math.max(1, Math.ceil(state.matching.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    document.getElementById("match-count").textContent =
      state.matching.length + " of " + rows.length + " candidates match";
    document.getElementById("page-label").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("page-prev").disabled = state.page === 0;
    document.getElementById("page-next").disabled = state.page >= pages - 1;
    document.querySelectorAll("#rows th").forEach(function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.getAttribute("data-column") === state.sortColumn) th.classList.add(state.descending ? "sorted-desc" : "sorted-asc");
    });
    const body = document.querySelector("#rows tbody");
    body.replaceChildren();
    state.matching.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE).forEach(function (row) {
      const tr = el("tr", { "data-index": row.index });
      if (state.selected === row.index) tr.classList.add("selected");
      SHOWN.forEach(function (column) { tr.appendChild(cell(row, column)); });
      tr.addEventListener("click", function () { select(row); });
      body.appendChild(tr);
    });
  }

  // ---- one candidate
  function select(row) {
    state.selected = row.index;
    document.querySelectorAll("#rows tbody tr").forEach(function (tr) {
      tr.classList.toggle("selected", Number(tr.getAttribute("data-index")) === row.index);
    });
    const detail = document.getElementById("detail");
    detail.replaceChildren();
    detail.appendChild(el("h2", {}, value(row, "bcc") + " + " + value(row, "b2") + " @ " + value(row, "b2_volume_percent") + " % B2"));
    const dl = el("dl");
    const add = function (term, description, cls) {
      dl.appendChild(el("dt", {}, term));
      dl.appendChild(el("dd", cls ? { class: cls } : {}, description));
    };
    add("candidate", value(row, "source") + " / " + value(row, "candidate_id"));
    add("master composition (at.%)", value(row, "master_composition") || "\u2014 (not parsed)");
    add("status", value(row, "status") + (value(row, "reason") ? ": " + value(row, "reason") : ""),
      value(row, "status") === "ok" ? "" : "no");
    add("database", value(row, "database") ? value(row, "database") + " (covers " +
      formatNumber(100 * value(row, "coverage"), 0) + " % of its element pairs)" : "\u2014 (none used)");
    add("trust", value(row, "trusted") ? "trusted" : "not trusted: " + (value(row, "trust_reason") || "no reason recorded"),
      value(row, "trusted") ? "yes" : "no");
    add("reward (Eq. 1)", formatNumber(value(row, "reward"), 4));
    const ruleText = RULES.slice(0, 4).map(function (rule) {
      const x = value(row, rule[0]);
      return rule[1] + ": " + (x === null ? "not known" : x ? "holds" : "fails");
    }).join("; ");
    add("rules", ruleText);
    add("BCC present up to", value(row, "highest_bcc_K") === null ? "never" : formatNumber(value(row, "highest_bcc_K"), 2) + " K");
    add("B2 present up to", value(row, "highest_b2_K") === null ? "never" : formatNumber(value(row, "highest_b2_K"), 2) + " K");
    add("min lattice mismatch", value(row, "min_lattice_mismatch") === null ? "\u2014 (BCC and B2 never coexist)"
      : formatNumber(value(row, "min_lattice_mismatch"), 4) + (DATA.mismatch_unit ? " " + DATA.mismatch_unit : " (relative)"));
    const chart = el("div", { id: "chart" });
    detail.appendChild(chart);
    detail.appendChild(dl);
    const curve = value(row, "curve");
    if (curve === null) {
      chart.appendChild(el("p", { class: "hint" }, "No phase table: the candidate was not computed."));
      return;
    }
    drawChart(chart, DATA.grids[DATA.curves[curve].g], DATA.curves[curve].c);
    // on a narrow screen the panel sits below the table: bring it into view
    if (detail.getBoundingClientRect().top > window.innerHeight) detail.scrollIntoView();
  }

  function niceStep(span, count) {
    const raw = span / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const scaled = raw / power;
    return power * (scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10);
  }

  // Phase fraction (0-1) against temperature (K), one polyline per phase, as in the paper's Fig. 9.
  function drawChart(container, temperatures, curves) {
    const width = 640, height = 380, left = 56, right = 170, top = 14, bottom = 44;
    const plotW = width - left - right, plotH = height - top - bottom;
    let tMin = Math.min.apply(null, temperatures), tMax = Math.max.apply(null, temperatures);
    if (tMax === tMin) { tMin -= 50; tMax += 50; }
    const x = function (t) { return left + (t - tMin) / (tMax - tMin) * plotW; };
    const y = function (f) { return top + (1 - f) * plotH; };
    const root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img",
      "aria-label": "phase fraction against temperature" });
    const grid = svg("g", { class: "grid" }), axis = svg("g", { class: "axis" });
    const step = niceStep(tMax - tMin, 6);
    for (let t = Math.ceil(tMin / step) * step; t <= tMax + 1e-9; t += step) {
      grid.appendChild(svg("line", { x1: x(t), x2: x(t), y1: top, y2: top + plotH }));
      axis.appendChild(svg("text", { x: x(t), y: top + plotH + 16, "text-anchor": "middle" }, Math.round(t)));
    }
    for (let k = 0; k <= 5; k++) {
      const f = k / 5;
      grid.appendChild(svg("line", { x1: left, x2: left + plotW, y1: y(f), y2: y(f) }));
      axis.appendChild(svg("text", { x: left - 6, y: y(f) + 4, "text-anchor": "end" }, f.toFixed(1)));
    }
    axis.appendChild(svg("rect", { x: left, y: top, width: plotW, height: plotH, fill: "none", stroke: "#888" }));
    axis.appendChild(svg("text", { x: left + plotW / 2, y: height - 8, "text-anchor": "middle" }, "temperature (K)"));
    axis.appendChild(svg("text", { x: 14, y: top + plotH / 2, "text-anchor": "middle",
      transform: "rotate(-90 14 " + (top + plotH / 2) + ")" }, "phase fraction (mole fraction)"));
    root.appendChild(grid);
    root.appendChild(axis);
    const legend = svg("g", { class: "legend" });
    const seen = {};
    curves.forEach(function (curve, k) {
      const phase = curve[0], structure = curve[1], fractions = curve[2];
      const n = seen[structure] || 0;
      seen[structure] = n + 1;
      const colour = COLOURS[structure] || "#000";
      const label = phase === structure ? phase : phase + " (" + structure + ")";
      const line = svg("g", { class: "curve", "data-phase": phase, "data-structure": structure });
      line.appendChild(svg("polyline", {
        points: temperatures.map(function (t, i) { return x(t).toFixed(1) + "," + y(fractions[i]).toFixed(1); }).join(" "),
        fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": DASHES[n % DASHES.length],
      }));
      temperatures.forEach(function (t, i) {
        const dot = svg("circle", { cx: x(t).toFixed(1), cy: y(fractions[i]).toFixed(1), r: 2.5, fill: colour });
        dot.appendChild(svg("title", {}, label + ": " + fractions[i].toFixed(4) + " at " + t.toFixed(2) + " K"));
        line.appendChild(dot);
      });
      root.appendChild(line);
      const ly = top + 10 + 18 * k;
      legend.appendChild(svg("line", { x1: left + plotW + 10, x2: left + plotW + 34, y1: ly, y2: ly, stroke: colour,
        "stroke-width": 2, "stroke-dasharray": DASHES[n % DASHES.length] }));
      legend.appendChild(svg("text", { x: left + plotW + 38, y: ly + 4 }, label));
    });
    root.appendChild(legend);
    container.appendChild(root);
    // the numbers behind the chart, as the paper's Fig. 9 lists them
    const details = el("details");
    details.appendChild(el("summary", {}, "phase fractions as a table"));
    const table = el("table");
    const head = el("tr");
    head.appendChild(el("th", { class: "num" }, "T (K)"));
    curves.forEach(function (curve) { head.appendChild(el("th", { class: "num" }, curve[0] === curve[1] ? curve[0] : curve[0] + " (" + curve[1] + ")")); });
    table.appendChild(head);
    temperatures.forEach(function (t, i) {
      const tr = el("tr");
      tr.appendChild(el("td", { class: "num" }, t.toFixed(2)));
      curves.forEach(function (curve) { tr.appendChild(el("td", { class: "num" }, curve[2][i].toFixed(4))); });
      table.appendChild(tr);
    });
    details.appendChild(table);
    container.appendChild(details);
  }

  // ---- page furniture
  function buildSources() {
    const table = document.getElementById("sources");
    const heads = ["source", "candidates", "ok", "invalid", "failed", "trusted", "all four rules", "trusted and all rules", "embedded here"];
    const keys = ["name", "candidates", "ok", "invalid", "failed", "trusted", "all_rules", "trusted_all_rules", "shown"];
    const tr = el("tr");
    heads.forEach(function (head, k) { tr.appendChild(el("th", { class: k ? "num" : "" }, head)); });
    table.appendChild(tr);
    DATA.sources.forEach(function (source) {
      const row = el("tr");
      keys.forEach(function (key, k) { row.appendChild(el("td", { class: k ? "num" : "" }, source[key])); });
      table.appendChild(row);
    });
  }

  document.getElementById("shown-note").textContent = DATA.note;
  document.getElementById("footer-note").textContent = DATA.footer;
  document.getElementById("page-prev").addEventListener("click", function () { state.page -= 1; refresh(); });
  document.getElementById("page-next").addEventListener("click", function () { state.page += 1; refresh(); });
  buildSources();
  buildFilters();
  buildHeader();
  refresh();
})();
