"""The answer cache across replicas: tags are ordered states, and the cache never goes back."""

from __future__ import annotations

from analytics_graph.api.http.cache import AnswerCache, CachedAnswer, not_older, position_of

OLD = "engagement/3@100 entities/1@100"
NEW = "engagement/3@120 entities/1@110"
REBUILT = "engagement/4@90 entities/1@110"


def test_tags_compare_by_version_then_position_of_every_projection() -> None:
    assert not_older(NEW, OLD)
    assert not not_older(OLD, NEW)
    assert not_older(REBUILT, NEW)  # a newer version is a later state
    assert not not_older("engagement/3@120", NEW)  # a projection missing is not "as new"
    assert position_of(NEW) == 110
    assert position_of("") == 0


def test_an_older_state_is_served_the_newer_answer_and_never_replaces_it() -> None:
    cache = AnswerCache()
    cache.put(b"k", CachedAnswer(NEW, 200, b"new"))
    found = cache.get(b"k", OLD)
    assert found is not None
    assert found.body == b"new"
    cache.put(b"k", CachedAnswer(OLD, 200, b"old"))
    assert cache.get(b"k", NEW) == CachedAnswer(NEW, 200, b"new")
    assert cache.get(b"k", "engagement/3@130 entities/1@110") is None  # later state: a miss
    cache.put(b"k", CachedAnswer("engagement/3@130 entities/1@110", 200, b"newer"))
    assert cache.get(b"k", NEW) == CachedAnswer("engagement/3@130 entities/1@110", 200, b"newer")
