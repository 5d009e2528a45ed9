// The voice menu's charts (/dashboard/menu; Apache ECharts served from /static/vendor):
// a funnel, each path's use and where callers hung up. Each bar or band is a link to the
// calls behind it, like the numbers in the tables. SVG, so the labels are text.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("menu-data").textContent);
  var FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, sans-serif";

  function chart(id, option, link) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: "svg" });
    option.title = { text: el.dataset.title, left: "center", textStyle: { fontSize: 14 } };
    option.textStyle = { fontFamily: FONT };
    option.tooltip = option.tooltip || {};
    c.setOption(option);
    c.on("click", function (p) { var to = link(p); if (to) { window.location.href = to; } });
    window.addEventListener("resize", function () { c.resize(); });
  }

  chart("chart-menu-funnel", { series: [{ type: "funnel", top: 40, bottom: 10, sort: "none",
      minSize: "20%", label: { position: "inside", formatter: "{b}：{c}" },
      data: data.funnel.map(function (f) { return { name: f[0], value: f[1] }; }) }] },
    function (p) { return data.funnel[p.dataIndex][2]; });

  chart("chart-menu-paths", { legend: { bottom: 0 }, grid: { top: 40, bottom: 80, left: 40, right: 10 },
      xAxis: { type: "category", data: data.paths.labels, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: "进入", type: "bar", data: data.paths.entered },
               { name: "获得答复", type: "bar", data: data.paths.answered }] },
    function (p) { return data.paths.links[p.dataIndex][p.seriesIndex]; });

  chart("chart-menu-ends", { grid: { top: 40, bottom: 10, left: 130, right: 20 },
      yAxis: { type: "category", inverse: true, data: data.ends.map(function (e) { return e[0]; }) },
      xAxis: { type: "value", minInterval: 1 },
      series: [{ name: "来电", type: "bar", data: data.ends.map(function (e) { return e[1]; }) }] },
    function (p) { return data.ends[p.dataIndex][2]; });
}());
