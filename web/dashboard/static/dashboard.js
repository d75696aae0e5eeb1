// Draws the dashboard charts from the JSON the server embedded in the page (see pages.py `series`).
(function () {
  "use strict";

  function draw() {
    var node = document.getElementById("dashboard-data");
    if (!node || typeof Chart === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    var common = {
      responsive: true,
      animation: false,
      spanGaps: true,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
    };
    function line(label, values, color, extra) {
      return Object.assign({ type: "line", label: label, data: values, borderColor: color, backgroundColor: color, tension: 0.2, pointRadius: 2 }, extra || {});
    }
    window.dashboardCharts = {
      volume: new Chart(document.getElementById("chart-volume"), {
        type: "bar",
        data: { labels: data.labels, datasets: [
          { label: "Conversations", data: data.conversations, backgroundColor: "#3e7bfa" },
          { label: "Resolved", data: data.resolved, backgroundColor: "#3ebd93" },
        ] },
        options: common,
      }),
      frt: new Chart(document.getElementById("chart-frt"), {
        type: "line",
        data: { labels: data.labels, datasets: [
          line("Median", data.frt_median, "#3e7bfa"),
          line("90th percentile", data.frt_p90, "#e12d39"),
          line("Median, business hours", data.frt_bh_median, "#8b5cf6", { borderDash: [4, 4] }),
          line("Next response median", data.nrt_median, "#f0b429"),
        ] },
        options: common,
      }),
      resolution: new Chart(document.getElementById("chart-resolution"), {
        type: "line",
        data: { labels: data.labels, datasets: [
          line("Median", data.res_median, "#3e7bfa"),
          line("90th percentile", data.res_p90, "#e12d39"),
          line("Median, business hours", data.res_bh_median, "#8b5cf6", { borderDash: [4, 4] }),
        ] },
        options: common,
      }),
      quality: new Chart(document.getElementById("chart-quality"), {
        type: "line",
        data: { labels: data.labels, datasets: [
          line("SLA compliance %", data.sla, "#3ebd93", { yAxisID: "y" }),
          line("CSAT average", data.csat, "#f0b429", { yAxisID: "y1" }),
        ] },
        options: Object.assign({}, common, { scales: {
          y: { min: 0, max: 100, position: "left" },
          y1: { min: 1, max: 5, position: "right", grid: { drawOnChartArea: false } },
        } }),
      }),
    };
    document.body.dataset.chartsReady = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
