"""What the export tests share: downloads, and the rows an export must hold, built
from a GraphQL answer and, independently, from the oracle (``graphql_expected.py``)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import httpx
import openpyxl
import pytest

from tests.e2e.graphql_expected import Expected
from tests.e2e.graphql_support import Served

OVERVIEW_HEADER = [
    "date", "videoViews", "profileViews", "likes", "comments", "shares", "netFollowers",
    "followerTotal",
]  # fmt: skip
CONTENT_HEADER = [
    "field", "id", "caption", "publishedAt", "views", "likes", "comments", "shares",
    "viewsGained7d",
]  # fmt: skip
PARTS_HEADER = ["field", "key", "value", "ratio"]
METRICS = ("videoViews", "profileViews", "likes", "comments", "shares", "netFollowers")
STATS = ("views", "likes", "comments", "shares", "viewsGained7d")
TOTALS = (
    "views", "likes", "comments", "shares", "favorites", "totalPlayTimeSeconds",
    "averageWatchTimeSeconds", "watchedFullVideoRatio", "newFollowers", "reachedAudience",
)  # fmt: skip
DAILY = ("views", "playTimeSeconds", "likes", "comments", "shares", "newFollowers")

DASHBOARD = """query D($id: ID!, $range: DateRangeInput!) { account(id: $id) { handle
  analytics(range: $range) {
    overview { videoViews { ...M } profileViews { ...M } likes { ...M } comments { ...M }
      shares { ...M } netFollowers { ...M } }
    content { postedVideos { ...S } trendingVideos { ...S } }
    followers { total gained lost netChange growth { date value }
      gender { key count ratio } ageRanges { key count ratio }
      topTerritories(first: 250) { key count ratio }
      activeHours { hour value } activeDays { weekday value } } } } }
fragment M on Metric { daily { date value } }
fragment S on VideoStats { video { id caption publishedAt } views likes comments shares
  viewsGained7d }"""
VIDEO = """query V($id: ID!, $range: DateRangeInput) { video(id: $id) { analytics(range: $range) {
  views likes comments shares favorites totalPlayTimeSeconds averageWatchTimeSeconds
  watchedFullVideoRatio newFollowers reachedAudience
  trafficSources { key count ratio } searchQueries(first: 100) { key count ratio }
  retention { second ratio }
  daily { date views playTimeSeconds likes comments shares newFollowers }
  hourly { hour views } } } }"""

Row = list[Any]


async def download(served: Served, path: str, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return await served.http.get(path, headers=headers)


def csv_rows(response: httpx.Response) -> list[list[str]]:
    """The rows of a CSV answer, parsed as RFC 4180 (the header first)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode(), newline="")))


def workbook(response: httpx.Response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.text
    return openpyxl.load_workbook(io.BytesIO(response.content))


def sheet_rows(book: openpyxl.Workbook, title: str) -> list[Row]:
    """A sheet's values (the header first), its date cells (``yyyy-mm-dd``) as dates."""
    return [[_value(cell) for cell in row] for row in book[title].iter_rows()]


def _value(cell: Any) -> Any:
    if cell.is_date and cell.number_format == "yyyy-mm-dd":
        return cell.value.date()
    return cell.value


def as_text(rows: list[Row]) -> list[list[str]]:
    """Typed rows as the CSV must write them."""
    return [[_text(v) for v in row] for row in rows]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def for_sheet(rows: list[Row]) -> list[Row]:
    """Typed rows as a sheet holds them: times in UTC without their offset, and floats to
    16 significant digits (what XlsxWriter writes; Excel shows 15)."""
    return [[_cell(v) for v in row] for row in rows]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-15, abs=0)
    return value


# ---------------------------------------------------------------- from a GraphQL answer


def overview_rows(analytics: dict[str, Any]) -> list[Row]:
    overview, growth = analytics["overview"], analytics["followers"]["growth"]
    return [
        [date.fromisoformat(day["date"]), *(overview[m]["daily"][i]["value"] for m in METRICS),
         day["value"]]
        for i, day in enumerate(growth)
    ]  # fmt: skip


def content_rows(analytics: dict[str, Any]) -> list[Row]:
    content = analytics["content"]
    return [
        [field, s["video"]["id"], s["video"]["caption"],
         datetime.fromisoformat(s["video"]["publishedAt"]), *(s[k] for k in STATS)]
        for field in ("postedVideos", "trendingVideos")
        for s in content[field]
    ]  # fmt: skip


def follower_rows(analytics: dict[str, Any]) -> list[Row]:
    f = analytics["followers"]
    rows: list[Row] = [[k, None, f[k], None] for k in ("total", "gained", "lost", "netChange")]
    rows += [["growth", date.fromisoformat(d["date"]), d["value"], None] for d in f["growth"]]
    for field in ("gender", "ageRanges", "topTerritories"):
        rows += [[field, s["key"], s["count"], s["ratio"]] for s in f[field]]
    rows += [["activeHours", h["hour"], h["value"], None] for h in f["activeHours"]]
    rows += [["activeDays", d["weekday"], d["value"], None] for d in f["activeDays"]]
    return rows


def video_sheets(analytics: dict[str, Any]) -> dict[str, list[Row]]:
    """The rows of each sheet of a video's workbook (no headers)."""
    a = analytics
    return {
        "Totals": [[k, a[k]] for k in TOTALS],
        "Daily": [[date.fromisoformat(d["date"]), *(d[k] for k in DAILY)] for d in a["daily"]],
        "First 48 hours": [[datetime.fromisoformat(h["hour"]), h["views"]] for h in a["hourly"]],
        "Traffic sources": [[s["key"], s["count"], s["ratio"]] for s in a["trafficSources"]],
        "Search terms": [[s["key"], s["count"], s["ratio"]] for s in a["searchQueries"]],
        "Retention": [[p["second"], p["ratio"]] for p in a["retention"]],
    }


def video_long_rows(analytics: dict[str, Any]) -> list[Row]:
    """The rows of a video's CSV file (no header)."""
    sheets = video_sheets(analytics)
    rows: list[Row] = [[k, None, v, None] for k, v in sheets["Totals"]]
    rows += [["trafficSources", *s] for s in sheets["Traffic sources"]]
    rows += [["searchQueries", *s] for s in sheets["Search terms"]]
    rows += [["retention", s, None, r] for s, r in sheets["Retention"]]
    for i, name in enumerate(DAILY, start=1):
        rows += [[f"daily.{name}", d[0], d[i], None] for d in sheets["Daily"]]
    rows += [["hourly.views", h, v, None] for h, v in sheets["First 48 hours"]]
    return rows


# ---------------------------------------------------------------- from the oracle


def oracle_overview(expected: Expected, account_id: str, start: date, end: date) -> list[Row]:
    overview = expected.overview(account_id, start, end)
    growth = expected.followers(account_id, start, end)["growth"]
    return [
        [date.fromisoformat(day["date"]), *(overview[m]["daily"][i]["value"] for m in METRICS),
         day["value"]]
        for i, day in enumerate(growth)
    ]  # fmt: skip


def oracle_content(expected: Expected, account_id: str, start: date, end: date) -> list[Row]:
    rows = []
    lists = (("postedVideos", expected.posted(account_id, start, end)),
             ("trendingVideos", expected.trending(account_id, end)))  # fmt: skip
    for field, ids in lists:
        for video_id in ids:
            video = expected.videos[video_id].video
            stats = expected.video_stats(video_id, start, end)
            rows.append([field, video_id, video.caption, video.published_at,
                         *(stats[k] for k in STATS)])  # fmt: skip
    return rows


def oracle_followers(expected: Expected, account_id: str, start: date, end: date) -> list[Row]:
    """Followers rows; shares as (field, key, count) sets since ties order by key."""
    f = expected.followers(account_id, start, end)
    rows: list[Row] = [[k, None, f[k], None] for k in ("total", "gained", "lost", "netChange")]
    rows += [["growth", date.fromisoformat(d["date"]), d["value"], None] for d in f["growth"]]
    current = expected.follower_count(account_id)
    people = expected.demographics(account_id)
    for field, name in (("gender", "gender"), ("ageRanges", "ageRanges"),
                        ("topTerritories", "territories")):  # fmt: skip
        ordered = sorted(people[name].items(), key=lambda kc: (-kc[1], kc[0]))
        rows += [[field, k, c, c / current] for k, c in ordered]
    rows += [["activeHours", h["hour"], h["value"], None] for h in f["activeHours"]]
    rows += [["activeDays", d["weekday"], d["value"], None] for d in f["activeDays"]]
    return rows
