// Charts on uPlot. Each chart's container carries data-testid, and after every draw
// data-points (the points of its first series) and data-series (series drawn), so
// tests and other teams can tell that a series was drawn without reading pixels.

import uPlot from "/static/vendor/uplot/uPlot.esm.js";
import { h } from "./dom.js";

const WIDTH = 520;
export const WIDE = 1120;
const HEIGHT = 200;
const COLOURS = ["#2563eb", "#db2777", "#059669", "#d97706"];

function container(testid, title) {
  const plot = h("div", { class: "plot" });
  const box = h("figure", { class: "chart", testid, dataset: { points: "0", series: "0" } },
    h("figcaption", {}, title), plot);
  return { box, plot };
}

function drawnHook(box) {
  return (u) => {
    box.dataset.points = String(u.data[1]?.length ?? 0);
    box.dataset.series = String(u.series.length - 1);
  };
}

function make(box, plot, { legend = false, width = WIDTH, ...options }, data) {
  const chart = new uPlot(
    { height: HEIGHT, ...options, legend: { show: legend }, width,
      hooks: { draw: [drawnHook(box)] } },
    data,
    plot,
  );
  return chart;
}

const utcSeconds = (isoDate) => Date.parse(`${isoDate}T00:00:00Z`) / 1000;

/** A line chart of daily values ({date, value}[]); ``update(points)`` redraws it. */
export function dailyChart(testid, title, points, { pick = (p) => p.value, width } = {}) {
  const { box, plot } = container(testid, title);
  const data = (ps) => [ps.map((p) => utcSeconds(p.date)), ps.map(pick)];
  const chart = make(box, plot, {
    width,
    legend: true, // the hovered day and its value
    scales: { x: { time: true } },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    series: [{ label: "Day (UTC)", value: (u, ts) => (ts == null ? "–" : new Date(ts * 1000).toISOString().slice(0, 10)) },
      { label: title, stroke: COLOURS[0], width: 2, fill: "rgba(37,99,235,0.08)",
      points: { show: points.length <= 31 } }],
  }, data(points));
  return { element: box, update: (ps) => chart.setData(data(ps)) };
}

/** A line chart over plain numbers (x) such as seconds of a video. */
export function numericChart(testid, title, xs, ys, { yRange, width } = {}) {
  const { box, plot } = container(testid, title);
  const chart = make(box, plot, {
    width,
    legend: true,
    scales: { x: { time: false }, y: yRange ? { range: yRange } : {} },
    series: [{ label: "Second" }, { label: "Share", stroke: COLOURS[1], width: 2 }],
  }, [xs, ys]);
  return { element: box, update: (x, y) => chart.setData([x, y]) };
}

/** A bar chart of labelled counts ({label, value}[]). */
export function barChart(testid, title, bars) {
  const { box, plot } = container(testid, title);
  let labels = bars.map((b) => b.label);
  const data = (bs) => [bs.map((_, i) => i), bs.map((b) => b.value)];
  const chart = make(box, plot, {
    scales: {
      x: { time: false, range: (u, min, max) => [min - 0.6, max + 0.6] },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    axes: [{ values: (u, ticks) => ticks.map((t) => labels[t] ?? ""), incrs: [1], space: 8, gap: 4,
      font: "11px system-ui, sans-serif" }, {}],
    series: [{}, { label: title, fill: "rgba(5,150,105,0.55)", stroke: COLOURS[2],
      paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }],
  }, data(bars));
  return {
    element: box,
    update: (bs) => {
      labels = bs.map((b) => b.label);
      chart.setData(data(bs));
    },
  };
}
