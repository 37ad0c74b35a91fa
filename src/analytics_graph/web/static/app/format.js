// How numbers read on the page. Integers keep every digit (tests read them back).

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export const count = (value) => integer.format(value);
export const percent = (ratio) => `${(ratio * 100).toFixed(1)}%`;
const tenths = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
export const seconds = (value) => `${tenths.format(value)} s`;

/** The previous-period change: "+12.5%", "-3.0%", or "n/a" when the previous total was 0. */
export function change(ratio) {
  if (ratio === null || ratio === undefined) return "n/a";
  const sign = ratio > 0 ? "+" : "";
  return `${sign}${(ratio * 100).toFixed(1)}%`;
}

export const day = (iso) => iso; // dates stay YYYY-MM-DD (UTC calendar days)
export const moment = (iso) => iso.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, " UTC");
