// The dashboard's own script: each page's charts, graph and forms, started by the page's
// data-page attribute. Data comes in the page (#page-data) or from /app/api/*.
"use strict";

const Juncture = (() => {
  const palette = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#475569"];

  function pageData() {
    const el = document.getElementById("page-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function stamp(iso) {
    // "03-02 14:10" in UTC: buckets are whole minutes, quarters or hours.
    return iso.slice(5, 16).replace("T", " ");
  }

  function fmt(n, places) {
    if (n === null || n === undefined) return "-";
    return Number(n).toLocaleString("en-US", { minimumFractionDigits: places || 0, maximumFractionDigits: places || 0 });
  }

  async function send(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    const answer = await r.json();
    return { ok: r.ok, status: r.status, body: answer };
  }

  return { palette, pageData, stamp, fmt, send };
})();

const Pages = {};

Pages.overview = () => {
  const data = Juncture.pageData();
  const charts = {};
  const line = (id, datasets, stacked, extra) =>
    new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: [], datasets },
      options: Object.assign({
        animation: false, maintainAspectRatio: false,
        scales: { x: { stacked }, y: { stacked, beginAtZero: true } },
        plugins: { legend: { position: "bottom" } },
      }, extra || {}),
    });
  charts.events = line("chart-events", [
    { type: "line", label: "Client events / min", data: [], borderColor: Juncture.palette[0], backgroundColor: Juncture.palette[0], pointRadius: 0, tension: 0.2 },
    { type: "line", label: "Signals / min", data: [], borderColor: Juncture.palette[2], backgroundColor: Juncture.palette[2], pointRadius: 0, tension: 0.2 },
  ], false);
  charts.orders = line("chart-orders", [
    { label: "Orders", data: [], backgroundColor: Juncture.palette[1], yAxisID: "y" },
    { type: "line", label: "Revenue", data: [], borderColor: Juncture.palette[3], backgroundColor: Juncture.palette[3], pointRadius: 0, yAxisID: "revenue" },
  ], false, {
    animation: false, maintainAspectRatio: false,
    scales: { y: { beginAtZero: true, position: "left" }, revenue: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } },
    plugins: { legend: { position: "bottom" } },
  });
  charts.messages = line("chart-messages", [], true);
  charts.lag = line("chart-lag", [
    { type: "line", label: "Events behind", data: [], borderColor: Juncture.palette[4], backgroundColor: Juncture.palette[4], pointRadius: 0, spanGaps: false, yAxisID: "y" },
    { type: "line", label: "Seconds behind", data: [], borderColor: Juncture.palette[7], backgroundColor: Juncture.palette[7], pointRadius: 0, spanGaps: false, yAxisID: "seconds" },
  ], false, {
    animation: false, maintainAspectRatio: false,
    scales: { y: { beginAtZero: true, position: "left" }, seconds: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } },
    plugins: { legend: { position: "bottom" } },
  });
  charts.stages = line("chart-stages", [{ label: "Customers", data: [], backgroundColor: Juncture.palette.slice(0, 4) }], false, {
    animation: false, maintainAspectRatio: false, indexAxis: "y", plugins: { legend: { display: false } },
  });

  function show(d) {
    const labels = d.activity.labels.map(Juncture.stamp);
    charts.events.data.labels = labels;
    charts.events.data.datasets[0].data = d.activity.events;
    charts.events.data.datasets[1].data = d.activity.derived;
    charts.orders.data.labels = labels;
    charts.orders.data.datasets[0].data = d.activity.orders;
    charts.orders.data.datasets[1].data = d.activity.revenue;
    charts.messages.data.labels = d.messages.channels;
    charts.messages.data.datasets = Object.entries(d.messages.statuses).map(([status, counts], i) => ({
      label: status, data: counts, backgroundColor: Juncture.palette[i % Juncture.palette.length],
    }));
    charts.lag.data.labels = d.lag.labels.map(Juncture.stamp);
    charts.lag.data.datasets[0].data = d.lag.events;
    charts.lag.data.datasets[1].data = d.lag.seconds;
    if (d.stages) {  // null while the first count over every profile is made
      charts.stages.data.labels = d.stages.map((s) => s[0]);
      charts.stages.data.datasets[0].data = d.stages.map((s) => s[1]);
    }
    Object.values(charts).forEach((c) => c.update());
    for (const el of document.querySelectorAll("#tiles [data-key]")) {
      const key = el.dataset.key;
      el.textContent = Juncture.fmt(d.totals[key], key === "revenue" || key === "aov" ? 2 : 0);
    }
    document.getElementById("lag").textContent =
      `${Juncture.fmt(d.engine.lagEvents)} events, ${Juncture.fmt(d.engine.lagSeconds, 1)} s behind`;
  }

  show(data);
  document.getElementById("period").addEventListener("change", (e) => e.target.form.submit());
  setInterval(async () => {
    const r = await fetch(`/app/api/overview?period=${encodeURIComponent(data.period)}`, { credentials: "same-origin" });
    if (r.status === 401) { window.location.reload(); return; }
    if (r.ok) show(await r.json());
  }, 15000);
};

// -- journeys: the graph (Cytoscape.js, laid out by dagre) ---------------------------------
const Graph = (() => {
  const colours = { trigger: "#2563eb", wait: "#ca8a04", condition: "#9333ea", split: "#ea580c",
    send: "#16a34a", exit: "#475569" };

  function label(d) {
    const lines = [d.id, d.what];
    const c = d.counts;
    if (c) {
      const exited = Object.values(c.exited).reduce((a, b) => a + b, 0);
      lines.push(`in ${Juncture.fmt(c.entered)} · waiting ${Juncture.fmt(c.waiting)} · out ${Juncture.fmt(exited)}`);
      lines.push(`goal ${Juncture.fmt(c.goalReached)}${c.sent ? ` · sent ${Juncture.fmt(c.sent)}` : ""}`);
    }
    return lines.join("\n");
  }

  function withLabels(elements) {
    return elements.map((e) => (e.group === "nodes" ? { group: "nodes", data: Object.assign({}, e.data, { label: label(e.data) }) } : e));
  }

  function draw(container, elements) {
    return cytoscape({
      container,
      elements: withLabels(elements),
      wheelSensitivity: 0.3,
      layout: { name: "dagre", rankDir: "TB", nodeSep: 30, rankSep: 40 },
      style: [
        { selector: "node", style: {
          shape: "round-rectangle", label: "data(label)", "text-wrap": "wrap", "text-valign": "center",
          "font-size": 10, width: 190, height: 62, "background-color": "#fff", "border-width": 2,
          "border-color": (n) => colours[n.data("kind")] || "#64748b", color: "#1e293b" } },
        { selector: "edge", style: {
          width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#94a3b8",
          "target-arrow-color": "#94a3b8", label: "data(label)", "font-size": 9, "text-background-color": "#f8fafc",
          "text-background-opacity": 1 } },
      ],
    });
  }

  function redraw(cy, elements) {
    cy.elements().remove();
    cy.add(withLabels(elements));
    cy.layout({ name: "dagre", rankDir: "TB", nodeSep: 30, rankSep: 40 }).run();
  }

  function recount(cy, elements) {
    for (const e of elements) {
      if (e.group === "nodes") cy.getElementById(e.data.id).data("label", label(e.data));
    }
  }

  return { draw, redraw, recount };
})();

Pages.journey = () => {
  const data = Juncture.pageData();
  const cy = Graph.draw(document.getElementById("graph"), data.elements);
  window.journeyGraph = cy;
  const said = document.getElementById("action-result");
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      if (action === "archive" && !window.confirm("Archive this journey? Its customers leave it.")) return;
      const r = await Juncture.send(`/app/api/journeys/${encodeURIComponent(data.id)}/${action}`);
      if (!r.ok) { said.textContent = r.body.message; said.className = "error"; return; }
      window.location.reload();
    });
  }
  setInterval(async () => {
    const r = await fetch(`/app/api/journeys/${encodeURIComponent(data.id)}`, { credentials: "same-origin" });
    if (r.status === 401) { window.location.reload(); return; }
    if (!r.ok) return;
    const d = await r.json();
    Graph.recount(cy, d.elements);
    for (const el of document.querySelectorAll("#totals [data-key]")) el.textContent = Juncture.fmt(d.totals[el.dataset.key]);
  }, 10000);
};

// -- the journey editor: validation as you type, the graph from the draft, apply ----------
Pages.editor = () => {
  const source = document.getElementById("source");
  const problems = document.getElementById("problems");
  const verdict = document.getElementById("verdict");
  // a role that may not write has no Apply button: a stand-in keeps the checks below simple
  const apply = document.getElementById("apply") || { disabled: true, addEventListener() {} };
  const cy = Graph.draw(document.getElementById("graph"), []);
  window.journeyGraph = cy;
  let timer = null;
  let asked = 0;

  function goToLine(line) {
    const lines = source.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    source.focus();
    source.setSelectionRange(start, start + (lines[line - 1] || "").length);
    source.scrollTop = Math.max(0, (line - 5) * 17);
  }

  function showProblems(list) {
    problems.replaceChildren(...list.map((p) => {
      const li = document.createElement("li");
      if (p.line) {
        const b = document.createElement("button");
        b.type = "button"; b.className = "secondary"; b.textContent = `line ${p.line}`;
        b.addEventListener("click", () => goToLine(p.line));
        li.append(b, " ");
      }
      li.append(`${p.path ? p.path + ": " : ""}${p.message}`);
      li.dataset.line = p.line;
      return li;
    }));
    source.setAttribute("aria-invalid", list.length ? "true" : "false");
  }

  async function check() {
    const mine = ++asked;
    const r = await Juncture.send("/app/api/journeys/draft", { text: source.value });
    if (mine !== asked) return;  // a newer draft was sent meanwhile
    if (!r.ok) { showProblems([{ line: 0, path: "", message: r.body.message }]); apply.disabled = true; return; }
    if (r.body.valid) {
      showProblems([]);
      verdict.textContent = `valid: ${r.body.journey}`; verdict.className = "ok";
      Graph.redraw(cy, r.body.elements);
      apply.disabled = false;
      dryRun.disabled = false;
    } else {
      showProblems(r.body.problems);
      verdict.textContent = `${r.body.problems.length} problem(s)`; verdict.className = "error";
      apply.disabled = true;
      dryRun.disabled = true;
    }
  }

  const dryRun = document.getElementById("dry-run");
  dryRun.addEventListener("click", async () => {
    dryRun.disabled = true;
    const summary = document.getElementById("rehearsal-summary");
    document.getElementById("rehearsal").hidden = false;
    summary.textContent = "Replaying the last 30 days ...";
    summary.className = "note";
    const r = await Juncture.send("/app/api/journeys/dry-run", { text: source.value });
    dryRun.disabled = false;
    if (!r.ok) {
      summary.textContent = r.body.message; summary.className = "error";
      if (r.body.problems) showProblems(r.body.problems);
      return;
    }
    const d = r.body;
    summary.className = "ok";
    summary.textContent = `${d.since.slice(0, 10)} to ${d.until.slice(0, 10)}: ${Juncture.fmt(d.replayed)} events replayed; ` +
      `${Juncture.fmt(d.entered)} would have entered (${Juncture.fmt(d.held_out)} held out), ` +
      `${Juncture.fmt(d.messaged)} messages sent, ${Juncture.fmt(d.suppressed)} suppressed.`;
    document.querySelector("#rehearsal-nodes tbody").replaceChildren(...d.per_node.map((n) => {
      const tr = document.createElement("tr");
      const reasons = Object.entries(n.suppressed_by_reason).map(([k, v]) => `${k} ${v}`).join(", ");
      for (const [text, cls] of [[n.node_id, ""], [n.channel, ""], [Juncture.fmt(n.messaged), "num"], [Juncture.fmt(n.suppressed), "num"], [reasons, ""]]) {
        const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.append(td);
      }
      return tr;
    }));
  });

  source.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 300); });
  source.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey) { e.preventDefault(); source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end"); }
  });
  apply.addEventListener("click", async () => {
    apply.disabled = true;
    const r = await Juncture.send("/app/api/journeys/apply", { text: source.value });
    if (!r.ok) {
      showProblems(r.body.problems || [{ line: 0, path: "", message: r.body.message }]);
      verdict.textContent = "not applied"; verdict.className = "error";
      return;
    }
    window.location.assign(`/app/journeys/${encodeURIComponent(r.body.journey)}`);
  });
  check();
};

// -- segments: a draft counted as you type; a segment's size over time -------------------
Pages.segments = () => {
  const draft = document.getElementById("draft");
  const result = document.getElementById("draft-result");
  const problems = document.getElementById("problems");
  let timer = null;
  let asked = 0;
  async function count() {
    const mine = ++asked;
    const r = await Juncture.send("/app/api/segments/preview", { text: draft.value });
    if (mine !== asked) return;
    const found = r.ok && r.body.valid;
    const list = r.ok ? (r.body.problems || []) : [{ line: 0, path: "", message: r.body.message }];
    result.textContent = found ? `${r.body.id}: ${Juncture.fmt(r.body.size)} customers now` : `${list.length} problem(s)`;
    result.className = found ? "ok" : "error";
    save.disabled = !found;
    problems.replaceChildren(...list.map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.line ? `line ${p.line}: ` : ""}${p.path ? p.path + ": " : ""}${p.message}`;
      return li;
    }));
  }
  const save = document.getElementById("save-segment") || { disabled: true, addEventListener() {} };
  save.addEventListener("click", async () => {
    save.disabled = true;
    const r = await Juncture.send("/app/api/segments/apply", { text: draft.value });
    if (!r.ok) { result.textContent = r.body.message; result.className = "error"; return; }
    window.location.assign(`/app/segments/${encodeURIComponent(r.body.id)}`);
  });
  draft.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(count, 300); });
  count();
};

Pages.segment = () => {
  const { history, moves } = Juncture.pageData();
  new Chart(document.getElementById("chart-moves"), {
    type: "bar",
    data: {
      labels: moves.map((m) => m.day),
      datasets: [
        { label: "Entered", data: moves.map((m) => m.entered), backgroundColor: Juncture.palette[1] },
        { label: "Exited", data: moves.map((m) => -m.exited), backgroundColor: Juncture.palette[4] },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { x: { stacked: true } }, plugins: { legend: { position: "bottom" } } },
  });
  new Chart(document.getElementById("chart-history"), {
    type: "bar",
    data: {
      labels: history.map((h) => Juncture.stamp(h.at)),
      datasets: [
        { type: "line", label: "Size", data: history.map((h) => h.size), borderColor: Juncture.palette[0], backgroundColor: Juncture.palette[0], yAxisID: "y" },
        { label: "Entered", data: history.map((h) => h.entered), backgroundColor: Juncture.palette[1], yAxisID: "y" },
        { label: "Exited", data: history.map((h) => -h.exited), backgroundColor: Juncture.palette[4], yAxisID: "y" },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "bottom" } } },
  });
};

// -- data quality and deliveries: replay the quarantine, retry dead letters ---------------
Pages.data = () => {
  const said = document.getElementById("action-result");
  // The rows an action dealt with leave their table; the counts catch up on the next visit.
  async function act(url, which, table, done, gone) {
    const body = which === "all" ? {} : { ids: [Number(which)] };
    const r = await Juncture.send(url, body);
    said.className = r.ok ? "ok" : "error";
    said.textContent = r.ok ? done(r.body) : r.body.message;
    if (!r.ok) return;
    for (const row of document.querySelectorAll(`#${table} tbody tr[data-id]`)) {
      if (gone(r.body, Number(row.dataset.id))) row.remove();
    }
  }
  for (const b of document.querySelectorAll("[data-replay]")) {
    b.addEventListener("click", () => act("/app/api/quarantine/replay", b.dataset.replay, "quarantine", (a) =>
      `replayed ${a.replayed.length}; still failing ${a.stillFailing.length}` +
      a.stillFailing.map((f) => ` (#${f.id}: ${f.reason})`).join(""),
    (a, id) => a.replayed.includes(id)));
  }
  for (const b of document.querySelectorAll("[data-retry]")) {
    b.addEventListener("click", () => act("/app/api/deliveries/retry", b.dataset.retry, "dead",
      (a) => `${a.retried} queued again`,
      (a, id) => a.retried > 0 && (b.dataset.retry === "all" || Number(b.dataset.retry) === id)));
  }
};

// -- funnels and paths: the funnel's bars and the paths' Sankey (chartjs-chart-sankey) ----
Pages.funnels = () => {
  const data = Juncture.pageData();
  if (!data) return;  // the figures are being computed: the page reloads itself
  new Chart(document.getElementById("chart-funnel"), {
    type: "bar",
    data: {
      labels: data.funnel.map((s) => s.event),
      datasets: [{ label: "Customers", data: data.funnel.map((s) => s.profiles), backgroundColor: Juncture.palette[0] }],
    },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } },
  });
  const labels = Object.fromEntries(data.paths.nodes.map((n) => [n.id, `${n.event} (${Juncture.fmt(n.profiles)})`]));
  new Chart(document.getElementById("chart-paths"), {
    type: "sankey",
    data: {
      datasets: [{
        data: data.paths.links.map((l) => ({ from: l.source, to: l.target, flow: l.profiles })),
        labels,
        column: Object.fromEntries(data.paths.nodes.map((n) => [n.id, n.step])),  // a step per column
        colorFrom: () => Juncture.palette[0],
        colorTo: (c) => (String(c.dataset.data[c.dataIndex].to).endsWith("(exit)") ? "#94a3b8" : Juncture.palette[1]),
        size: "max",
      }],
    },
    options: { animation: false, maintainAspectRatio: false },
  });
};

// -- Customer 360: erasure, after the profile id is typed back -----------------------------
Pages.customer = () => {
  const button = document.getElementById("erase");
  const said = document.getElementById("action-result");
  if (!button) return;  // a role without the privacy scope sees no erasure
  button.addEventListener("click", async () => {
    const id = button.dataset.profile;
    const typed = window.prompt(`Erase this person and every row about them, for good? Type ${id} to confirm.`);
    if (typed !== id) { said.textContent = "Not erased."; said.className = "note"; return; }
    const reference = window.prompt("The request's reference, kept in the erasure record (optional):") || "";
    const r = await Juncture.send(`/app/api/customers/${encodeURIComponent(id)}/erase`, { text: reference });
    if (!r.ok) { said.textContent = r.body.message; said.className = "error"; return; }
    window.location.assign(`/app/customers?erased=${encodeURIComponent(id)}`);
  });
};

// -- reports: a chart per KPI report (the tables are rendered by the server) --------------
Pages.reports = () => {
  for (const el of document.querySelectorAll("#choose select")) {
    el.addEventListener("change", (e) => e.target.form.submit());
  }
  const data = Juncture.pageData();
  if (!data) return;  // the figures are being computed: the page reloads itself
  const r = data.reports;
  const colour = (i) => Juncture.palette[i % Juncture.palette.length];
  const periods = (rows) => [...new Set(rows.map((x) => x.period))].sort();
  const pct = (v) => (v === null || v === undefined ? null : Math.round(1000 * v) / 10);
  // one value per period: the sum of `key` over the rows of that period that `keep` keeps
  const perPeriod = (rows, labels, key, keep) => labels.map((p) =>
    rows.filter((x) => x.period === p && (!keep || keep(x))).reduce((n, x) => n + (x[key] || 0), 0));
  const options = (extra) => Object.assign({
    animation: false, maintainAspectRatio: false,
    plugins: { legend: { position: "bottom" } },
    scales: { y: { beginAtZero: true } },
  }, extra || {});
  const draw = (report, type, labels, datasets, extra) =>
    new Chart(document.getElementById(`chart-${report}`), { type, data: { labels, datasets }, options: options(extra) });
  const bars = (labels, rows, keys) => keys.map(([key, label], i) =>
    ({ label, data: perPeriod(rows, labels, key), backgroundColor: colour(i) }));
  // one dataset per group of rows (a journey, a journey and arm, a move), summing `key`
  const grouped = (rows, labels, name, key, stacked) => {
    const names = [...new Set(rows.map(name))].sort();
    return names.map((n, i) => ({
      label: n, data: perPeriod(rows, labels, key, (x) => name(x) === n), backgroundColor: colour(i),
      stack: stacked ? "all" : undefined,
    }));
  };
  const stackedScales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true } };
  const journeyOf = (x) => x.journey_id || "(no journey)";

  let labels = periods(r.commerce);
  draw("commerce", "bar", labels, [
    { label: "Orders", data: perPeriod(r.commerce, labels, "orders"), backgroundColor: colour(1), yAxisID: "y" },
    { type: "line", label: "Revenue", data: perPeriod(r.commerce, labels, "revenue"), borderColor: colour(3), backgroundColor: colour(3), yAxisID: "revenue" },
  ], { scales: { y: { beginAtZero: true, position: "left" }, revenue: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } });

  labels = periods(r.carts);
  draw("carts", "bar", labels, bars(labels, r.carts, [
    ["cart_abandoned", "Carts abandoned"], ["cart_recovered", "Carts recovered"],
    ["checkout_abandoned", "Checkouts abandoned"], ["checkout_recovered", "Checkouts recovered"]]));

  labels = periods(r.customers);
  draw("customers", "bar", labels, bars(labels, r.customers, [
    ["customers", "Customers"], ["repeat_customers", "Repeat customers"]]));

  const cohorts = [...new Set(r.retention.map((x) => x.cohort))].sort();
  const months = Math.max(-1, ...r.retention.map((x) => x.month)) + 1;
  draw("retention", "line", [...Array(months).keys()].map((m) => `Month ${m}`), cohorts.map((c, i) => ({
    label: c, borderColor: colour(i), backgroundColor: colour(i),
    data: [...Array(months).keys()].map((m) => pct((r.retention.find((x) => x.cohort === c && x.month === m) || {}).rate)),
  })), { scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: "% of the cohort ordering" } } } });

  draw("stages", "bar", r.stages.map((x) => x.stage), [
    { label: "Customers", data: r.stages.map((x) => x.profiles), backgroundColor: Juncture.palette.slice(0, 4) },
  ], { indexAxis: "y", plugins: { legend: { display: false } } });

  labels = periods(r["stage-moves"]);
  draw("stage-moves", "bar", labels, grouped(r["stage-moves"], labels, (x) => `${x.from} → ${x.to}`, "moves", true),
    { scales: stackedScales });

  labels = periods(r.journeys);
  draw("journeys", "bar", labels, grouped(r.journeys, labels, (x) => `${x.journey_id} (${x.arm})`, "converted", false),
    { plugins: { legend: { position: "bottom" }, title: { display: true, text: "Customers converted, per period of entry" } } });

  labels = periods(r.attribution);
  draw("attribution", "bar", labels, grouped(r.attribution, labels, journeyOf, "revenue", true),
    { scales: stackedScales, plugins: { legend: { position: "bottom" }, title: { display: true, text: "Revenue credited by last touch" } } });

  labels = periods(r.messages);
  draw("messages", "bar", labels, bars(labels, r.messages, [
    ["delivered", "Delivered"], ["suppressed", "Suppressed"], ["failed", "Failed"], ["pending", "Pending"]]),
  { scales: stackedScales });

  // each survey's score per period (and group) with its 95% interval as a floating bar
  const surveys = r.surveys;
  const place = (x) => (x.group === "all" ? x.period : `${x.period} ${x.group}`);
  labels = [...new Set(surveys.map(place))].sort();
  const scaled = (x, v) => (v === null || v === undefined ? null : x.survey === "csat" ? pct(v) : v);
  const series = (survey) => labels.map((l) => surveys.find((x) => x.survey === survey && place(x) === l) || null);
  const sets = [];
  [["nps", "NPS", "nps"], ["csat", "CSAT % satisfied", "csat"]].forEach(([survey, name, axis], i) => {
    const found = series(survey);
    sets.push({ type: "bar", label: `${name}: 95% interval`, yAxisID: axis, backgroundColor: `${colour(i)}55`,
      data: found.map((x) => (x && x.low !== null ? [scaled(x, x.low), scaled(x, x.high)] : null)) });
    sets.push({ type: "line", label: name, yAxisID: axis, showLine: false, pointRadius: 5, borderColor: colour(i), backgroundColor: colour(i),
      data: found.map((x) => (x ? scaled(x, x.score) : null)) });
  });
  draw("surveys", "bar", labels, sets, { scales: {
    nps: { position: "left", min: -100, max: 100, title: { display: true, text: "NPS" } },
    csat: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "CSAT %" } },
  } });

  const arms = r["follow-up"];
  draw("follow-up", "bar", arms.map((x) => x.arm), [
    { label: "Purchase rate %", data: arms.map((x) => pct(x.purchase_rate)), backgroundColor: colour(0) },
  ], { plugins: { legend: { display: false } } });
};

document.addEventListener("DOMContentLoaded", () => {
  const start = Pages[document.body.dataset.page];
  if (start) start();
});
