"""Viewers and ranged reach over years, through the real app: a viewer returning after
366 days is new again, after 365 is not; late events (occurredAt in the past) change
who was new; re-delivered eventIds count once; a deleted video's viewers still count.

The expected numbers come from the events as sent (sets of days per viewer), not
from the code under test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from analytics_graph.auth import Role
from tests.e2e.graphql_support import Served, serve, token
from tests.e2e.test_graphql_mutations import DELETE, PUBLISH, RECORD, TO_PRO, register

ADMIN, INGEST = token(Role.ADMIN), token(Role.INGEST)
VIEWERS = """query W($range: DateRangeInput!) { me { analytics(range: $range) {
  viewers { total new returning daily { date total new } } } } }"""
REACH = """query R($id: ID!, $range: DateRangeInput) { video(id: $id) {
  analytics(range: $range) { views reachedAudience retention { second ratio } } } }"""


@pytest.fixture(scope="module")
async def app(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serve(server_url, tmp_path_factory.mktemp("audience")) as served:
        yield served


def _view(video: str, viewer: str, at: datetime, watched: float = 3.0) -> dict[str, Any]:
    return {"view": {"eventId": str(uuid.uuid4()), "occurredAt": at.isoformat(),
                     "videoId": video, "viewerId": viewer, "watchedSeconds": watched,
                     "source": "FOR_YOU"}}  # fmt: skip


class Oracle:
    """The views sent, deduplicated by eventId: what every number is computed from."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.views: list[tuple[str, str, date, float]] = []  # video, viewer, day, watched

    def add(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            v = event["view"]
            if v["eventId"] not in self.seen:
                self.seen.add(v["eventId"])
                day = datetime.fromisoformat(v["occurredAt"]).astimezone(UTC).date()
                self.views.append((v["videoId"], v["viewerId"], day, v["watchedSeconds"]))

    def days_of(self, viewer: str) -> set[date]:
        return {d for _, who, d, _ in self.views if who == viewer}

    def viewers(self, start: date, end: date) -> dict[str, Any]:
        people = {who for _, who, _, _ in self.views}

        def new_on(who: str, day: date) -> bool:
            return not any(day - timedelta(days=365) <= d < day for d in self.days_of(who))

        inside = {w: min(d for d in self.days_of(w) if start <= d <= end) for w in people
                  if any(start <= d <= end for d in self.days_of(w))}  # fmt: skip
        new = sum(new_on(w, first) for w, first in inside.items())
        daily = []
        for i in range((end - start).days + 1):
            day = start + timedelta(days=i)
            present = [w for w in people if day in self.days_of(w)]
            daily.append({"date": day.isoformat(), "total": len(present),
                          "new": sum(new_on(w, day) for w in present)})  # fmt: skip
        return {"total": len(inside), "new": new, "returning": len(inside) - new, "daily": daily}

    def reach(self, video: str, start: date, end: date) -> tuple[int, int]:
        inside = [(who, w) for v, who, d, w in self.views if v == video and start <= d <= end]
        return len(inside), len({who for who, _ in inside})


def _range(start: date, end: date) -> dict[str, Any]:
    return {"custom": {"start": start.isoformat(), "end": end.isoformat()}}


async def test_new_and_returning_viewers_over_years(app: Served) -> None:
    account = await register(app, "years")
    await app.data(TO_PRO, {"id": account["id"], "type": "CREATOR"}, token=ADMIN)
    creator = token(Role.CREATOR, account["id"])
    published = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    published -= timedelta(days=800)
    videos = []
    for caption in ("first", "second"):
        made = await app.data(
            PUBLISH,
            {"input": {"accountId": account["id"], "caption": caption, "durationSeconds": 9.5,
                       "publishedAt": published.isoformat()}},
            token=creator,
        )  # fmt: skip
        videos.append(made["publishVideo"]["id"])
    first, second = videos
    p = published.date()

    def at(days: int, hour: int = 1) -> datetime:
        return published + timedelta(days=days, hours=hour)

    oracle = Oracle()
    batch = [
        _view(first, "ann", at(10)), _view(first, "ann", at(376)),  # 366 days: new again
        _view(first, "ann", at(741)),  # 365 days after: returning
        _view(first, "bob", at(10)), _view(second, "bob", at(375)),  # 365 days: returning
        _view(first, "cyd", at(400), 9.9), _view(second, "dan", at(400), 20.0),
        _view(second, "eve", at(3)), _view(second, "eve", at(3, 5)),
        _view(first, "fay", at(10)), _view(first, "fay", at(376)),
    ]  # fmt: skip
    late = [_view(first, "cyd", at(100)), _view(second, "ann", at(200), 1.0)]  # occurred earlier
    resent = [batch[0], batch[5]]
    for events in (batch, late, resent):
        answer = await app.data(RECORD, {"events": events}, token=INGEST)
        assert answer["recordEngagement"]["__typename"] == "IngestResult"
        oracle.add(events)
    assert (await app.data(RECORD, {"events": resent}, token=INGEST))["recordEngagement"] == {
        "__typename": "IngestResult", "accepted": 0, "duplicates": 2}  # fmt: skip
    deleted = await app.data(DELETE, {"id": second}, token=creator)
    assert deleted["deleteVideo"]["deleted"] is True
    await app.caught_up()

    day = timedelta(days=1)
    ranges = [
        (p, p + timedelta(days=730)),  # the longest range: two years
        (p + timedelta(days=370), p + timedelta(days=380)),
        (p + timedelta(days=376), p + timedelta(days=376)),
        (p + timedelta(days=375), p + timedelta(days=375)),
        (p + timedelta(days=395), p + timedelta(days=745)),
        (p + timedelta(days=100), p + timedelta(days=400)),
        (p - 30 * day, p - day),  # before publication
    ]
    for start, end in ranges:
        shown = await app.data(VIEWERS, {"range": _range(start, end)}, token=creator)
        assert shown["me"]["analytics"]["viewers"] == oracle.viewers(start, end), (start, end)
    # what the events were chosen to show: fay is new again 366 days after her last view;
    # ann would be too, but her late view of day 200 makes her returning; bob returns
    # after 365 days; cyd's late view of day 100 makes her day 400 returning
    on_376 = oracle.viewers(p + timedelta(days=376), p + timedelta(days=376))
    assert (on_376["total"], on_376["new"]) == (2, 1)
    on_375 = oracle.viewers(p + timedelta(days=375), p + timedelta(days=375))
    assert (on_375["total"], on_375["new"]) == (1, 0)
    on_400 = oracle.viewers(p + timedelta(days=400), p + timedelta(days=400))
    assert (on_400["total"], on_400["new"]) == (2, 1)

    for video in videos:
        for start, end in [*ranges, (p + timedelta(days=3), p + timedelta(days=3))]:
            shown = await app.data(REACH, {"id": video, "range": _range(start, end)}, token=creator)
            analytics = shown["video"]["analytics"]
            assert (analytics["views"], analytics["reachedAudience"]) == oracle.reach(
                video, start, end
            ), (video, start, end)
        lifetime = (await app.data(REACH, {"id": video}, token=creator))["video"]["analytics"]
        assert lifetime["reachedAudience"] == oracle.reach(video, p, p + timedelta(days=800))[1]
