// A video's page: totals of the range (the video's whole life when none is picked),
// daily views, the retention curve, traffic sources and search terms.

import { WIDE, barChart, dailyChart, numericChart } from "../charts.js";
import { VideoLive, VideoView } from "../documents.js";
import { h } from "../dom.js";
import { count, moment, percent, seconds } from "../format.js";
import { rangeOf, rangePicker } from "../range.js";
import { exportButtons, headline, sharesTable } from "../widgets.js";

const SOURCES = {
  FOR_YOU: "For You", FOLLOWING: "Following", PERSONAL_PROFILE: "Profile", SOUND: "Sound",
  SEARCH: "Search", HASHTAG: "Hashtag", OTHER: "Other",
};
const TOTALS = [
  ["views", "Views", count],
  ["likes", "Likes", count],
  ["comments", "Comments", count],
  ["shares", "Shares", count],
  ["favorites", "Favorites", count],
  ["newFollowers", "New followers", count],
  ["reachedAudience", "Reached audience", count],
  ["totalPlayTimeSeconds", "Total play time", seconds],
  ["averageWatchTimeSeconds", "Average watch time", seconds],
  ["watchedFullVideoRatio", "Watched full video", percent],
];

export async function show(ctx, id) {
  const range = rangeOf(ctx.params, { lifetime: true });
  const { video } = await ctx.api.query(VideoView, "VideoView", { id, range });
  if (!video) return ctx.notFound(`no video ${id} for this token`);
  const totals = TOTALS.map(([name, label]) => headline(`video-${name}`, label));
  const daily = dailyChart("video-daily-chart", "Views per day", [], { pick: (d) => d.views, width: WIDE });
  const retention = numericChart("video-retention-chart", "Retention: share still watching at each second",
    [], [], { yRange: [0, 1], width: WIDE });
  const sources = barChart("video-trafficSources-chart", "Traffic sources", []);
  const sourcesTable = sharesTable("video-trafficSources-table", "Traffic sources", []);
  const searches = sharesTable("video-searchQueries-table", "Search terms", []);
  const title = h("h2", { testid: "video-caption" });
  const meta = h("p", { class: "meta", testid: "video-meta" });
  ctx.render(
    h("div", { class: "toolbar" },
      h("a", { href: "#/content", testid: "video-back" }, "← Content"),
      rangePicker(range, (picked) => ctx.go(`video/${id}`, picked), { lifetime: true }),
      exportButtons(ctx.api, () => ({ kind: "video", id, range }), ctx.fail)),
    title, meta,
    h("div", { class: "headlines" }, totals.map((t) => t.element)),
    h("div", { class: "cards" },
      h("section", { class: "card wide" }, daily.element),
      h("section", { class: "card wide" }, retention.element),
      h("section", { class: "card" }, sources.element, sourcesTable.element),
      h("section", { class: "card" }, searches.element)));

  const update = (v) => {
    const a = v.analytics;
    title.textContent = v.caption || "(no caption)";
    meta.textContent = `@${v.account.handle} · published ${moment(v.publishedAt)} · ${v.durationSeconds.toFixed(1)} s`;
    TOTALS.forEach(([name, , format], i) => totals[i].set(format(a[name]), a[name]));
    daily.update(a.daily);
    retention.update(a.retention.map((p) => p.second), a.retention.map((p) => p.ratio));
    sources.update(a.trafficSources.map((s) => ({ label: SOURCES[s.key] ?? s.key, value: s.count })));
    sourcesTable.update(a.trafficSources);
    searches.update(a.searchQueries);
    const days = a.daily;
    ctx.ready(days.length ? { start: days[0].date, end: days[days.length - 1].date } : null);
  };
  update(video);
  ctx.live(VideoLive, "VideoLive", { id, range }, (data) => update(data.videoMetrics.video));
}
