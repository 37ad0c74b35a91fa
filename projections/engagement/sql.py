"""The tables of ``engagement`` and the statement that applies a batch to them."""

from __future__ import annotations

from analytics_graph.eventstore import formats

ENGAGEMENT_TYPES = frozenset(
    ("view", "like", "unlike", "comment", "share", "favorite", "profileView")
)

_COUNTS = """
    views      bigint  NOT NULL,
    play_time  numeric NOT NULL,
    completed  bigint  NOT NULL,
    likes      bigint  NOT NULL,
    comments   bigint  NOT NULL,
    shares     bigint  NOT NULL,
    favorites  bigint  NOT NULL,
"""

DDL = f"""
CREATE TABLE {{schema}}.account_days (
    account_id    uuid   NOT NULL,
    day           date   NOT NULL,
    video_views   bigint NOT NULL,
    profile_views bigint NOT NULL,
    likes         bigint NOT NULL,
    comments      bigint NOT NULL,
    shares        bigint NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE TABLE {{schema}}.videos (
    video_id         uuid        PRIMARY KEY,
    account_id       uuid        NOT NULL,
    duration_seconds float8      NOT NULL,
    published_at     timestamptz NOT NULL
);
CREATE TABLE {{schema}}.video_days (
    video_id   uuid    NOT NULL,
    day        date    NOT NULL,
    account_id uuid    NOT NULL,{_COUNTS}
    PRIMARY KEY (video_id, day)
);
CREATE INDEX video_days_by_account ON {{schema}}.video_days (account_id, day);
CREATE TABLE {{schema}}.video_hours (
    video_id   uuid        NOT NULL,
    hour       timestamptz NOT NULL,{_COUNTS}
    PRIMARY KEY (video_id, hour)
);
CREATE TABLE {{schema}}.video_sources (
    video_id uuid   NOT NULL,
    day      date   NOT NULL,
    source   text   NOT NULL,
    views    bigint NOT NULL,
    PRIMARY KEY (video_id, day, source)
);
CREATE TABLE {{schema}}.video_search_terms (
    video_id uuid   NOT NULL,
    day      date   NOT NULL,
    term     text   NOT NULL,
    views    bigint NOT NULL,
    PRIMARY KEY (video_id, day, term)
);
CREATE TABLE {{schema}}.video_retention (
    video_id uuid    NOT NULL,
    second   integer NOT NULL,
    views    bigint  NOT NULL,
    PRIMARY KEY (video_id, second)
);
"""

_SUMS = """
       count(*) FILTER (WHERE type = 'view'),
       coalesce(sum(watched), 0),
       count(*) FILTER (WHERE completed),
       count(*) FILTER (WHERE type = 'like') - count(*) FILTER (WHERE type = 'unlike'),
       count(*) FILTER (WHERE type = 'comment'),
       count(*) FILTER (WHERE type = 'share'),
       count(*) FILTER (WHERE type = 'favorite')"""

_TOTALS = """
       sum(views), sum(play_time), sum(completed), sum(likes), sum(comments), sum(shares),
       sum(favorites)"""

_ADD = """
    views = t.views + EXCLUDED.views,
    play_time = t.play_time + EXCLUDED.play_time,
    completed = t.completed + EXCLUDED.completed,
    likes = t.likes + EXCLUDED.likes,
    comments = t.comments + EXCLUDED.comments,
    shares = t.shares + EXCLUDED.shares,
    favorites = t.favorites + EXCLUDED.favorites"""

_COLUMNS = "views, play_time, completed, likes, comments, shares, favorites"

# $1, $2: the range; $3: ENGAGEMENT_TYPES. One read of the batch's rows (`e`), then
# every rollup from it; per-event work is kept to extracting fields, and joins with
# `videos` happen after grouping. Data-modifying CTEs all run, referenced or not,
# against the statement's snapshot (`videos` as before this statement: the batch's
# new videos were inserted by an earlier one). Engagement rows always follow their
# video's publication in the log (ingest checks it), so inner joins with `videos`
# lose nothing.
ENGAGEMENT = f"""
WITH e AS MATERIALIZED (
    SELECT type,
           stream_id COLLATE "C" AS vid,
           occurred_at AT TIME ZONE 'UTC' AS utc,
           {formats.WATCHED_SECONDS} AS watched,
           {formats.COMPLETED} AS completed,
           ({formats.SOURCE}) COLLATE "C" AS source,
           ({formats.SEARCH_TERM}) COLLATE "C" AS term
    FROM events
    WHERE position > $1 AND position <= $2 AND type = ANY($3::text[])
),
per_hour AS MATERIALIZED (
    SELECT v.video_id, v.account_id, g.*,
           g.hour >= date_trunc('hour', v.published_at AT TIME ZONE 'UTC')
           AND g.hour < date_trunc('hour', v.published_at AT TIME ZONE 'UTC')
                        + interval '48 hours' AS first_48h
    FROM (
        SELECT vid, date_trunc('hour', utc) AS hour, {_SUMS}
        FROM e WHERE type <> 'profileView' GROUP BY 1, 2
    ) g (vid, hour, {_COLUMNS})
    JOIN {{schema}}.videos v ON v.video_id = g.vid::uuid
),
days AS (
    INSERT INTO {{schema}}.video_days AS t (video_id, day, account_id, {_COLUMNS})
    SELECT video_id, hour::date, account_id, {_TOTALS}
    FROM per_hour GROUP BY 1, 2, 3
    ON CONFLICT (video_id, day) DO UPDATE SET {_ADD}
),
accounts AS (
    -- Video engagement from the per-hour groups; profile views (whose stream is the
    -- account) straight from the batch.
    INSERT INTO {{schema}}.account_days AS t
        (account_id, day, video_views, profile_views, likes, comments, shares)
    SELECT account_id, day, sum(views), sum(profile_views), sum(likes), sum(comments),
           sum(shares)
    FROM (
        SELECT account_id, hour::date AS day, views, 0 AS profile_views, likes, comments, shares
        FROM per_hour
        UNION ALL
        SELECT vid::uuid, day, 0, profile_views, 0, 0, 0 FROM (
            SELECT vid, utc::date AS day, count(*) AS profile_views
            FROM e WHERE type = 'profileView' GROUP BY 1, 2
        ) p
    ) a
    GROUP BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE SET
        video_views = t.video_views + EXCLUDED.video_views,
        profile_views = t.profile_views + EXCLUDED.profile_views,
        likes = t.likes + EXCLUDED.likes,
        comments = t.comments + EXCLUDED.comments,
        shares = t.shares + EXCLUDED.shares
    RETURNING account_id
),
hours AS (
    INSERT INTO {{schema}}.video_hours AS t (video_id, hour, {_COLUMNS})
    SELECT video_id, hour AT TIME ZONE 'UTC', {_COLUMNS} FROM per_hour WHERE first_48h
    ON CONFLICT (video_id, hour) DO UPDATE SET {_ADD}
),
sources AS (
    INSERT INTO {{schema}}.video_sources AS t (video_id, day, source, views)
    SELECT vid::uuid, day, source, views FROM (
        SELECT vid, utc::date AS day, source, count(*) AS views
        FROM e WHERE type = 'view' GROUP BY 1, 2, 3
    ) g
    ON CONFLICT (video_id, day, source) DO UPDATE SET views = t.views + EXCLUDED.views
),
terms AS (
    INSERT INTO {{schema}}.video_search_terms AS t (video_id, day, term, views)
    SELECT vid::uuid, day, term, views FROM (
        SELECT vid, utc::date AS day, term, count(*) AS views
        FROM e WHERE type = 'view' AND term IS NOT NULL GROUP BY 1, 2, 3
    ) g
    ON CONFLICT (video_id, day, term) DO UPDATE SET views = t.views + EXCLUDED.views
),
retention AS (
    -- floor(min(w, d)) = min(floor(w), floor(d)): bucket first, cap after the join.
    INSERT INTO {{schema}}.video_retention AS t (video_id, second, views)
    SELECT v.video_id, least(g.second, floor(v.duration_seconds)::integer), sum(g.views)
    FROM (
        SELECT vid, floor(watched)::integer AS second, count(*) AS views
        FROM e WHERE type = 'view' GROUP BY 1, 2
    ) g
    JOIN {{schema}}.videos v ON v.video_id = g.vid::uuid
    GROUP BY 1, 2
    ON CONFLICT (video_id, second) DO UPDATE SET views = t.views + EXCLUDED.views
)
SELECT DISTINCT video_id, account_id FROM per_hour
UNION
SELECT NULL, account_id FROM accounts
"""
