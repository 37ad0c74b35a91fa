// The range the views show: a preset (Period) or a custom inclusive range of UTC days,
// kept in the address (#/overview?preset=LAST_7_DAYS or ?start=...&end=...).

import { h } from "./dom.js";

export const PRESETS = [
  ["LAST_7_DAYS", "7 days"],
  ["LAST_28_DAYS", "28 days"],
  ["LAST_60_DAYS", "60 days"],
  ["LAST_365_DAYS", "365 days"],
];
const DEFAULT = "LAST_28_DAYS";

/** The range named by the address's parameters; ``lifetime`` allows "no range" (videos). */
export function rangeOf(params, { lifetime = false } = {}) {
  const start = params.get("start");
  const end = params.get("end");
  if (start && end) return { custom: { start, end } };
  const preset = params.get("preset");
  if (PRESETS.some(([name]) => name === preset)) return { preset };
  return lifetime ? null : { preset: DEFAULT };
}

export function paramsOf(range) {
  if (range === null) return "";
  if (range.custom) return `start=${range.custom.start}&end=${range.custom.end}`;
  return `preset=${range.preset}`;
}

/** The picker: a button per preset (and "Lifetime" when allowed), and a custom range. */
export function rangePicker(current, onPick, { lifetime = false } = {}) {
  const button = (label, range, testid) =>
    h("button", {
      type: "button",
      testid,
      class: JSON.stringify(range) === JSON.stringify(current) ? "on" : "",
      onclick: () => onPick(range),
    }, label);
  const start = h("input", { type: "date", testid: "range-custom-start", "aria-label": "first day",
    value: current?.custom?.start ?? "" });
  const end = h("input", { type: "date", testid: "range-custom-end", "aria-label": "last day",
    value: current?.custom?.end ?? "" });
  const custom = h("form", {
    class: "custom",
    testid: "range-custom",
    onsubmit: (event) => {
      event.preventDefault();
      if (start.value && end.value) onPick({ custom: { start: start.value, end: end.value } });
    },
  }, start, "–", end, h("button", { type: "submit", testid: "range-custom-apply" }, "Apply"));
  return h("div", { class: "range", testid: "range-picker" },
    lifetime ? button("Lifetime", null, "range-lifetime") : null,
    ...PRESETS.map(([name, label]) => button(label, { preset: name }, `range-preset-${name}`)),
    custom);
}

/** "2026-11-09 – 2026-12-06" with the answered range on data attributes. */
export function rangeLabel(answered) {
  return h("span", { class: "shown", testid: "range-shown",
    dataset: { start: answered.start, end: answered.end } },
    `${answered.start} – ${answered.end} (UTC)`);
}
