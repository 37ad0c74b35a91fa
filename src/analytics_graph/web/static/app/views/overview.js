// The Overview: six metrics of the range with the previous period's totals, the change,
// and a chart of each daily series; the follower total at the range's end.

import { dailyChart } from "../charts.js";
import { OverviewLive, OverviewView } from "../documents.js";
import { h } from "../dom.js";
import { count } from "../format.js";
import { rangeLabel, rangeOf, rangePicker } from "../range.js";
import { exportButtons, headline, metricCard } from "../widgets.js";

export const METRICS = [
  ["videoViews", "Video views"],
  ["profileViews", "Profile views"],
  ["likes", "Likes"],
  ["comments", "Comments"],
  ["shares", "Shares"],
  ["netFollowers", "Net followers"],
];

export async function show(ctx) {
  const range = rangeOf(ctx.params);
  const { me } = await ctx.api.query(OverviewView, "OverviewView", { range });
  if (!me) return ctx.notFound("no account for this token");
  const followers = headline("overview-followers-total", "Followers at the range's end");
  const cards = METRICS.map(([name, label]) =>
    metricCard(name, label, dailyChart(`overview-${name}-chart`, label, [])));
  const shown = h("span");
  ctx.render(
    h("div", { class: "toolbar" },
      rangePicker(range, (picked) => ctx.go("overview", picked)),
      shown,
      exportButtons(ctx.api, () => ({ kind: "account", range, section: "OVERVIEW" }), ctx.fail)),
    h("div", { class: "headlines" }, followers.element),
    h("div", { class: "cards" }, cards.map((card) => card.element)));

  const update = (account) => {
    ctx.account(account);
    const { analytics } = account;
    shown.replaceChildren(rangeLabel(analytics.range));
    followers.set(count(analytics.followers.total), analytics.followers.total);
    METRICS.forEach(([name], i) => cards[i].update(analytics.overview[name]));
    ctx.ready(analytics.range);
  };
  update(me);
  ctx.live(OverviewLive, "OverviewLive", { accountId: me.id, range },
    (data) => update(data.accountMetrics.account));
}
