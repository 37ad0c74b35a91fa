"""The tables of an export: a header of GraphQL field names and typed rows.

Cells are Python values (``date``, ``datetime``, ``int``, ``float``, ``str`` or
``None``), the values GraphQL serves for the same range; the writers
(``csvfile.py``, ``xlsxfile.py``) turn them into text or typed spreadsheet cells.
Rows are produced when the writer asks for them.

An account's tables (one per section):

* ``overview``: ``date,videoViews,profileViews,likes,comments,shares,netFollowers,
  followerTotal``: the daily series of the ``Overview`` metrics and of
  ``followers.growth``, one row per day of the range;
* ``content``: ``field,id,caption,publishedAt,views,likes,comments,shares,
  viewsGained7d``: every ``VideoStats`` of ``postedVideos`` then of
  ``trendingVideos`` (``field`` names the list), in GraphQL's order;
* ``followers``: ``field,key,value,ratio``: ``total``, ``gained``, ``lost``,
  ``netChange``, then ``growth`` (key: date), ``gender``, ``ageRanges``,
  ``topTerritories`` (all territories; key, count as value, ratio),
  ``activeHours`` (key: hour) and ``activeDays`` (key: weekday).

A video's tables: ``totals`` (``field,value``), ``daily``, ``hourly``,
``trafficSources`` and ``searchQueries`` (``key,count,ratio``: all of them) and
``retention`` (``second,ratio``); as one CSV file they are one long table
(:func:`video_long_table`, ``field,key,value,ratio``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain

from analytics_graph.export.reading import AccountNumbers, VideoNumbers
from analytics_graph.export.request import Section
from projections.readmodel import Share

Cell = date | datetime | int | float | str | None
Row = tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its header (a GraphQL field name) and display width in characters."""

    name: str
    width: int = 12


@dataclass(frozen=True, slots=True)
class Table:
    """A named table (a CSV file, or a sheet titled ``title``); ``size`` rows."""

    name: str
    title: str
    columns: Sequence[Column]
    size: int
    rows: Callable[[], Iterator[Row]]


def _columns(*names: str, widths: dict[str, int] | None = None) -> tuple[Column, ...]:
    return tuple(Column(n, (widths or {}).get(n, max(12, len(n) + 2))) for n in names)


# ---------------------------------------------------------------- an account

OVERVIEW = _columns(
    "date", "videoViews", "profileViews", "likes", "comments", "shares", "netFollowers",
    "followerTotal",
)  # fmt: skip
CONTENT = _columns(
    "field", "id", "caption", "publishedAt", "views", "likes", "comments", "shares",
    "viewsGained7d", widths={"field": 16, "id": 38, "caption": 48, "publishedAt": 20},
)  # fmt: skip
PARTS = _columns("field", "key", "value", "ratio", widths={"field": 24, "key": 26})


def account_tables(numbers: AccountNumbers, section: Section | None = None) -> list[Table]:
    """The tables of the sections ``numbers`` holds (``section`` alone when given)."""
    makers = {
        Section.OVERVIEW: _overview,
        Section.CONTENT: _content,
        Section.FOLLOWERS: _followers,
    }
    return [makers[s](numbers) for s in ([section] if section else list(Section))]


def _overview(numbers: AccountNumbers) -> Table:
    overview, section = numbers.overview, numbers.followers
    assert overview is not None and section is not None
    series = (
        overview.video_views, overview.profile_views, overview.likes, overview.comments,
        overview.shares, section.growth.net_followers,
    )  # fmt: skip

    def rows() -> Iterator[Row]:
        dailies = [m.daily for m in series]
        for i, total in enumerate(section.growth.growth):
            yield (total.date, *(d[i].value for d in dailies), total.value)

    return Table("overview", "Overview", OVERVIEW, len(section.growth.growth), rows)


def _content(numbers: AccountNumbers) -> Table:
    section = numbers.content
    assert section is not None
    lists = (("postedVideos", section.posted), ("trendingVideos", section.trending))

    def rows() -> Iterator[Row]:
        for field, videos in lists:
            for video, s in videos:
                yield (
                    field, str(video.id), video.caption, video.published_at,
                    s.views, s.likes, s.comments, s.shares, s.views_gained_7d,
                )  # fmt: skip

    return Table("content", "Content", CONTENT, len(section.posted) + len(section.trending), rows)


def _followers(numbers: AccountNumbers) -> Table:
    section = numbers.followers
    assert section is not None
    growth, people, activity = section.growth, section.demographics, section.activity
    parts: list[Iterable[Row]] = [
        [("total", None, growth.total, None), ("gained", None, growth.gained, None),
         ("lost", None, growth.lost, None), ("netChange", None, growth.net_change, None)],
        (("growth", d.date, d.value, None) for d in growth.growth),
        _shares("gender", people.gender),
        _shares("ageRanges", people.age_ranges),
        _shares("topTerritories", people.territories),
        (("activeHours", h.hour, h.value, None) for h in activity.hours),
        (("activeDays", d.weekday, d.value, None) for d in activity.days),
    ]  # fmt: skip
    size = 4 + len(growth.growth) + len(people.gender) + len(people.age_ranges)
    size += len(people.territories) + len(activity.hours) + len(activity.days)
    return Table("followers", "Followers", PARTS, size, lambda: chain.from_iterable(parts))


def _shares(field: str, shares: Iterable[Share]) -> Iterator[Row]:
    return ((field, s.key, s.count, s.ratio) for s in shares)


# ---------------------------------------------------------------- a video

TOTALS = _columns("field", "value", widths={"field": 26, "value": 16})
DAILY = _columns("date", "views", "playTimeSeconds", "likes", "comments", "shares", "newFollowers")
HOURLY = _columns("hour", "views", widths={"hour": 20})
SHARES = _columns("key", "count", "ratio", widths={"key": 28})
RETENTION = _columns("second", "ratio")
DAILY_FIELDS = ("views", "playTimeSeconds", "likes", "comments", "shares", "newFollowers")


def _totals(numbers: VideoNumbers) -> list[Row]:
    found, totals = numbers.analytics, numbers.analytics.totals
    return [
        ("views", totals.views), ("likes", totals.likes), ("comments", totals.comments),
        ("shares", totals.shares), ("favorites", totals.favorites),
        ("totalPlayTimeSeconds", totals.play_time_seconds),
        ("averageWatchTimeSeconds", found.average_watch_time_seconds),
        ("watchedFullVideoRatio", found.watched_full_video_ratio),
        ("newFollowers", totals.new_followers), ("reachedAudience", found.reached_audience),
    ]  # fmt: skip


def video_tables(numbers: VideoNumbers) -> list[Table]:
    """A video's six tables (the sheets of its workbook)."""
    found = numbers.analytics
    daily = found.daily
    totals = _totals(numbers)

    def days() -> Iterator[Row]:
        for d in daily:
            yield (d.date, d.views, d.play_time_seconds, d.likes, d.comments, d.shares,
                   d.new_followers)  # fmt: skip

    return [
        Table("totals", "Totals", TOTALS, len(totals), lambda: iter(totals)),
        Table("daily", "Daily", DAILY, len(daily), days),
        Table("hourly", "First 48 hours", HOURLY, len(numbers.hours),
              lambda: ((h.hour, h.views) for h in numbers.hours)),
        Table("trafficSources", "Traffic sources", SHARES, len(found.traffic_sources),
              lambda: ((s.key, s.count, s.ratio) for s in found.traffic_sources)),
        Table("searchQueries", "Search terms", SHARES, len(found.search_queries),
              lambda: ((s.key, s.count, s.ratio) for s in found.search_queries)),
        Table("retention", "Retention", RETENTION, len(found.retention),
              lambda: ((p.second, p.ratio) for p in found.retention)),
    ]  # fmt: skip


def video_long_table(numbers: VideoNumbers) -> Table:
    """The video's tables as one (its CSV file): ``field,key,value,ratio``; the daily
    series as ``daily.views`` ... ``daily.newFollowers`` (key: date) and the first
    48 hours as ``hourly.views`` (key: the hour's start)."""
    found = numbers.analytics
    totals = _totals(numbers)
    daily, hours = found.daily, numbers.hours

    def rows() -> Iterator[Row]:
        yield from ((field, None, value, None) for field, value in totals)
        yield from _shares("trafficSources", found.traffic_sources)
        yield from _shares("searchQueries", found.search_queries)
        yield from (("retention", p.second, None, p.ratio) for p in found.retention)
        for field in DAILY_FIELDS:
            name = "daily." + field
            yield from ((name, d.date, getattr(d, _snake(field)), None) for d in daily)
        yield from (("hourly.views", h.hour, h.views, None) for h in hours)

    size = len(totals) + len(found.traffic_sources) + len(found.search_queries)
    size += len(found.retention) + len(DAILY_FIELDS) * len(daily) + len(hours)
    return Table("video", "Video", PARTS, size, rows)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
