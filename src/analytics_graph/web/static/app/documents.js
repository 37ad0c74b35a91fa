// Every GraphQL document the page sends: one named query per view, a subscription per
// view that asks for the same fragment (so a live update re-renders exactly what the
// query rendered), and the export links. Fragments name what a view needs; variables
// carry the range and ids (never string-built into the document).

const fragments = {
  AccountHeader: `fragment AccountHeader on Account {
  id
  handle
  displayName
  isPro
  followerCount
}`,
  MetricFields: `fragment MetricFields on Metric {
  total
  previousTotal
  changeRatio
  daily { date value }
}`,
  ShareFields: `fragment ShareFields on Share {
  key
  count
  ratio
}`,
  VideoStatsFields: `fragment VideoStatsFields on VideoStats {
  video { id caption publishedAt }
  views
  likes
  comments
  shares
  viewsGained7d
}`,
  OverviewFields: `fragment OverviewFields on Account {
  ...AccountHeader
  analytics(range: $range) {
    range { start end }
    overview {
      videoViews { ...MetricFields }
      profileViews { ...MetricFields }
      likes { ...MetricFields }
      comments { ...MetricFields }
      shares { ...MetricFields }
      netFollowers { ...MetricFields }
    }
    followers { total }
  }
}`,
  ContentFields: `fragment ContentFields on Account {
  ...AccountHeader
  analytics(range: $range) {
    range { start end }
    content {
      postedVideos { ...VideoStatsFields }
      trendingVideos { ...VideoStatsFields }
    }
  }
}`,
  FollowersFields: `fragment FollowersFields on Account {
  ...AccountHeader
  analytics(range: $range) {
    range { start end }
    followers {
      total
      gained
      lost
      netChange
      growth { date value }
      gender { ...ShareFields }
      ageRanges { ...ShareFields }
      topTerritories(first: 10) { ...ShareFields }
      activeHours { hour value }
      activeDays { weekday value }
    }
  }
}`,
  VideoFields: `fragment VideoFields on Video {
  id
  caption
  durationSeconds
  publishedAt
  account { id handle }
  analytics(range: $range) {
    views
    likes
    comments
    shares
    favorites
    newFollowers
    reachedAudience
    totalPlayTimeSeconds
    averageWatchTimeSeconds
    watchedFullVideoRatio
    trafficSources { ...ShareFields }
    searchQueries(first: 10) { ...ShareFields }
    retention { second ratio }
    daily { date views }
  }
}`,
};

/** The operation followed by every fragment it uses, directly or through another. */
function document(operation) {
  const used = new Set();
  const visit = (text) => {
    for (const [, name] of text.matchAll(/\.\.\.(\w+)/g)) {
      if (!used.has(name)) {
        used.add(name);
        visit(fragments[name]);
      }
    }
  };
  visit(operation);
  return [operation, ...[...used].map((name) => fragments[name])].join("\n\n");
}

export const SignIn = document(`query SignIn {
  me { ...AccountHeader }
}`);

export const OverviewView = document(`query OverviewView($range: DateRangeInput!) {
  me { ...OverviewFields }
}`);

export const OverviewLive = document(`subscription OverviewLive($accountId: ID!, $range: DateRangeInput!) {
  accountMetrics(accountId: $accountId) {
    position
    account { ...OverviewFields }
  }
}`);

export const ContentView = document(`query ContentView($range: DateRangeInput!) {
  me { ...ContentFields }
}`);

export const ContentLive = document(`subscription ContentLive($accountId: ID!, $range: DateRangeInput!) {
  accountMetrics(accountId: $accountId) {
    position
    account { ...ContentFields }
  }
}`);

export const FollowersView = document(`query FollowersView($range: DateRangeInput!) {
  me { ...FollowersFields }
}`);

export const FollowersLive = document(`subscription FollowersLive($accountId: ID!, $range: DateRangeInput!) {
  accountMetrics(accountId: $accountId) {
    position
    account { ...FollowersFields }
  }
}`);

export const VideoView = document(`query VideoView($id: ID!, $range: DateRangeInput) {
  video(id: $id) { ...VideoFields }
}`);

export const VideoLive = document(`subscription VideoLive($id: ID!, $range: DateRangeInput) {
  videoMetrics(videoId: $id) {
    position
    video { ...VideoFields }
  }
}`);

export const AccountExport = document(`query AccountExport($format: ExportFormat!, $range: DateRangeInput!, $section: ExportSection) {
  me { id exportLink(format: $format, range: $range, section: $section) }
}`);

export const VideoExport = document(`query VideoExport($id: ID!, $format: ExportFormat!, $range: DateRangeInput) {
  video(id: $id) { id exportLink(format: $format, range: $range) }
}`);
