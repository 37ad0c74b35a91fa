// Pieces the views share: headline numbers, share tables, export buttons.

import { AccountExport, VideoExport } from "./documents.js";
import { h } from "./dom.js";
import { change, count, percent } from "./format.js";

/** A headline number: label and value; ``set(text, raw)`` changes it. */
export function headline(testid, label, { className = "" } = {}) {
  const value = h("strong", { testid }, "…");
  const element = h("div", { class: `headline ${className}` }, h("span", {}, label), value);
  return {
    element,
    set(text, raw) {
      value.textContent = text;
      value.dataset.value = String(raw);
    },
  };
}

/** A metric's card: total, previous period, change, and (given) its daily chart. */
export function metricCard(name, label, chart) {
  const total = h("strong", { testid: `overview-${name}-total` });
  const previous = h("span", { testid: `overview-${name}-previous` });
  const ratio = h("span", { testid: `overview-${name}-change`, class: "change" });
  const element = h("section", { class: "card", testid: `overview-${name}` },
    h("h3", {}, label), total,
    h("p", { class: "previous" }, "previous period ", previous, " · ", ratio),
    chart.element);
  return {
    element,
    update(metric) {
      total.textContent = count(metric.total);
      total.dataset.value = String(metric.total);
      previous.textContent = count(metric.previousTotal);
      previous.dataset.value = String(metric.previousTotal);
      ratio.textContent = change(metric.changeRatio);
      ratio.dataset.value = metric.changeRatio === null ? "" : String(metric.changeRatio);
      ratio.className = `change ${metric.changeRatio > 0 ? "up" : metric.changeRatio < 0 ? "down" : ""}`;
      chart.update(metric.daily);
    },
  };
}

/** A table of shares (key, count, ratio), rows marked ``<testid>-row``. */
export function sharesTable(testid, caption, rows, { label = (key) => key } = {}) {
  const body = h("tbody");
  const element = h("table", { testid, class: "shares" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", {}, "key"), h("th", {}, "count"), h("th", {}, "share"))),
    body);
  const fill = (shares) => {
    body.replaceChildren(...shares.map((s) => h("tr", { testid: `${testid}-row`, dataset: { key: s.key } },
      h("td", {}, label(s.key)),
      h("td", { class: "n", dataset: { value: String(s.count) } }, count(s.count)),
      h("td", { class: "n" }, percent(s.ratio)))));
  };
  fill(rows);
  return { element, update: fill };
}

/**
 * CSV and XLSX buttons: each asks GraphQL for a short-lived export link (exportLink on
 * Account or Video) and downloads what it points at. ``target()`` says what to export:
 * {kind: "account", range, section} (CSV: the view's section; XLSX: every section) or
 * {kind: "video", id, range}.
 */
export function exportButtons(api, target, onError) {
  const download = async (format) => {
    const what = target();
    try {
      const url = what.kind === "video"
        ? (await api.query(VideoExport, "VideoExport", { id: what.id, format, range: what.range })).video.exportLink
        : (await api.query(AccountExport, "AccountExport", {
            format,
            range: what.range,
            section: format === "CSV" ? what.section : null, // a workbook holds every section
          })).me.exportLink;
      const link = h("a", { href: url, download: "" });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      onError(error);
    }
  };
  return h("span", { class: "export", testid: "export" },
    h("button", { type: "button", testid: "export-csv", onclick: () => download("CSV") }, "CSV"),
    h("button", { type: "button", testid: "export-xlsx", onclick: () => download("XLSX") }, "XLSX"));
}
