// The Followers section: growth, gained and lost, gender, age, territories (shown from
// 100 followers on), and when followers are active (hours and weekdays, UTC).

import { WIDE, barChart, dailyChart } from "../charts.js";
import { FollowersLive, FollowersView } from "../documents.js";
import { h } from "../dom.js";
import { count } from "../format.js";
import { rangeLabel, rangeOf, rangePicker } from "../range.js";
import { exportButtons, headline, sharesTable } from "../widgets.js";

const WEEKDAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const AGE = (key) => key.replace(/^AGE_/, "").replace("_PLUS", "+").replace("_", "–");
const HEADLINES = [
  ["total", "Followers"],
  ["gained", "Gained"],
  ["lost", "Lost"],
  ["netChange", "Net change"],
];

export async function show(ctx) {
  const range = rangeOf(ctx.params);
  const { me } = await ctx.api.query(FollowersView, "FollowersView", { range });
  if (!me) return ctx.notFound("no account for this token");
  const numbers = HEADLINES.map(([name, label]) => headline(`followers-${name}`, label));
  const growth = dailyChart("followers-growth-chart", "Followers at the end of each day", [], { width: WIDE });
  const gender = barChart("followers-gender-chart", "Gender", []);
  const ages = barChart("followers-ageRanges-chart", "Age", []);
  const territories = barChart("followers-territories-chart", "Top territories", []);
  const hours = barChart("followers-activeHours-chart", "Active hours (UTC)", []);
  const days = barChart("followers-activeDays-chart", "Active days", []);
  const territoryTable = sharesTable("followers-territories-table", "Top territories", []);
  const note = h("p", { class: "note", testid: "followers-demographics-note", hidden: true },
    "Gender, age and territories are shown from 100 followers on.");
  const shown = h("span");
  ctx.render(
    h("div", { class: "toolbar" },
      rangePicker(range, (picked) => ctx.go("followers", picked)),
      shown,
      exportButtons(ctx.api, () => ({ kind: "account", range, section: "FOLLOWERS" }), ctx.fail)),
    h("div", { class: "headlines" }, numbers.map((n) => n.element)),
    h("div", { class: "cards" },
      h("section", { class: "card wide" }, growth.element),
      h("section", { class: "card" }, hours.element),
      h("section", { class: "card" }, days.element),
      h("section", { class: "card" }, note, gender.element),
      h("section", { class: "card" }, ages.element),
      h("section", { class: "card" }, territories.element),
      h("section", { class: "card" }, territoryTable.element)));

  const update = (account) => {
    ctx.account(account);
    const { range: answered, followers } = account.analytics;
    shown.replaceChildren(rangeLabel(answered));
    HEADLINES.forEach(([name], i) => numbers[i].set(count(followers[name]), followers[name]));
    growth.update(followers.growth);
    const shares = (list, label = (k) => k) => list.map((s) => ({ label: label(s.key), value: s.count }));
    gender.update(shares(followers.gender));
    ages.update(shares(followers.ageRanges, AGE));
    territories.update(shares(followers.topTerritories));
    territoryTable.update(followers.topTerritories);
    hours.update(followers.activeHours.map((x) => ({ label: String(x.hour), value: x.value })));
    days.update(followers.activeDays.map((x) => ({ label: WEEKDAYS[x.weekday], value: x.value })));
    note.hidden = followers.gender.length > 0;
    ctx.ready(answered);
  };
  update(me);
  ctx.live(FollowersLive, "FollowersLive", { accountId: me.id, range },
    (data) => update(data.accountMetrics.account));
}
