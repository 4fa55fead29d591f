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
    charts.stages.data.labels = d.stages.map((s) => s[0]);
    charts.stages.data.datasets[0].data = d.stages.map((s) => s[1]);
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

document.addEventListener("DOMContentLoaded", () => {
  const start = Pages[document.body.dataset.page];
  if (start) start();
});
