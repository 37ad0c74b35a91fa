// The Content section: the videos posted in the range (newest first) and the nine
// trending ones (views in the 7 days ending at the range's end), each linking to its page.

import { barChart } from "../charts.js";
import { ContentLive, ContentView } from "../documents.js";
import { h } from "../dom.js";
import { count, moment } from "../format.js";
import { paramsOf, rangeLabel, rangeOf, rangePicker } from "../range.js";
import { exportButtons } from "../widgets.js";

const COLUMNS = [
  ["views", "Views"],
  ["likes", "Likes"],
  ["comments", "Comments"],
  ["shares", "Shares"],
  ["viewsGained7d", "Views, last 7 days"],
];

function statsTable(testid, caption, range) {
  const body = h("tbody");
  const element = h("table", { testid, class: "videos" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", {}, "Video"), h("th", {}, "Published"),
      ...COLUMNS.map(([, label]) => h("th", {}, label)))),
    body);
  const empty = () => h("tr", { class: "empty" },
    h("td", { colspan: String(COLUMNS.length + 2) }, "No videos in this range."));
  const fill = (rows) => body.replaceChildren(...(rows.length ? [] : [empty()]), ...rows.map((stats) =>
    h("tr", { testid: `${testid.replace(/-table$/, "")}-row`, dataset: { videoId: stats.video.id } },
      h("td", {}, h("a", { href: `#/video/${stats.video.id}?${paramsOf(range)}` },
        stats.video.caption || "(no caption)")),
      h("td", {}, moment(stats.video.publishedAt)),
      ...COLUMNS.map(([field]) => h("td", { class: "n", dataset: { field, value: String(stats[field]) } },
        count(stats[field]))))));
  return { element, update: fill };
}

export async function show(ctx) {
  const range = rangeOf(ctx.params);
  const { me } = await ctx.api.query(ContentView, "ContentView", { range });
  if (!me) return ctx.notFound("no account for this token");
  const posted = statsTable("content-posted-table", "Posted in the range, newest first", range);
  const trending = statsTable("content-trending-table", "Trending: views in the 7 days ending at the range's end", range);
  const chart = barChart("content-trending-chart", "Trending videos: views in the last 7 days", []);
  const shown = h("span");
  ctx.render(
    h("div", { class: "toolbar" },
      rangePicker(range, (picked) => ctx.go("content", picked)),
      shown,
      exportButtons(ctx.api, () => ({ kind: "account", range, section: "CONTENT" }), ctx.fail)),
    h("div", { class: "cards" },
      h("section", { class: "card wide" }, posted.element),
      h("section", { class: "card wide" }, trending.element),
      h("section", { class: "card" }, chart.element)));

  const update = (account) => {
    ctx.account(account);
    const { range: answered, content } = account.analytics;
    shown.replaceChildren(rangeLabel(answered));
    posted.update(content.postedVideos);
    trending.update(content.trendingVideos);
    chart.update(content.trendingVideos.map((s, i) => ({ label: `#${i + 1}`, value: s.viewsGained7d })));
    ctx.ready(answered);
  };
  update(me);
  ctx.live(ContentLive, "ContentLive", { accountId: me.id, range },
    (data) => update(data.accountMetrics.account));
}
