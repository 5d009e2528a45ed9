// The dashboard's charts (Apache ECharts, served from /static/vendor). The figures come
// from the page's JSON block: the console's CSP allows no inline script. SVG, so the
// labels are text a screen reader (and the browser test) can read.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
  var FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, sans-serif";

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: "svg" });
    option.title = { text: el.dataset.title, left: "center", textStyle: { fontSize: 14 } };
    option.textStyle = { fontFamily: FONT };
    option.tooltip = option.tooltip || {};
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }

  function pie(id, pairs) {
    chart(id, { series: [{ type: "pie", radius: "55%", top: 30,
      data: pairs.map(function (p) { return { name: p[0], value: p[1] }; }) }] });
  }

  function bars(id, pairs) {
    chart(id, { grid: { top: 40, bottom: 60, left: 40, right: 10 },
      xAxis: { type: "category", data: pairs.map(function (p) { return p[0]; }),
               axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: pairs.map(function (p) { return p[1]; }) }] });
  }

  pie("chart-outcome", data.outcome);
  bars("chart-abandon", data.abandon);
  bars("chart-types", data.types);
  pie("chart-sources", data.sources);
  chart("chart-trend", { legend: { bottom: 0 }, grid: { top: 40, bottom: 50 },
    xAxis: { type: "category", data: data.trend.labels }, yAxis: { type: "value", minInterval: 1 },
    series: [{ name: "来电总量", type: "bar", data: data.trend.received },
             { name: "人工接通", type: "bar", data: data.trend.answered }] });

  var cells = [], max = 0;
  data.heat.forEach(function (hours, day) {
    hours.forEach(function (n, hour) { cells.push([hour, day, n]); max = Math.max(max, n); });
  });
  chart("chart-heat", { grid: { top: 40, bottom: 60, left: 50 },
    xAxis: { type: "category", data: Array.from({ length: 24 }, function (_, h) { return h + "时"; }) },
    yAxis: { type: "category", data: WEEKDAYS },
    visualMap: { min: 0, max: Math.max(max, 1), orient: "horizontal", left: "center", bottom: 0,
                 calculable: true },
    series: [{ name: "来电", type: "heatmap", data: cells }] });
}());
