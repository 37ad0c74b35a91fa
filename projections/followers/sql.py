"""The tables of ``followers`` and the statement that applies a batch to them.

Follower state changes must be taken in log order: a ``follow`` counts as gained
only when the user was not following at that point, an ``unfollow`` as lost only
when they were. Within a batch, window functions over ``(account, user)`` ordered
by position give each event the state before it (the previous event's, or, for
the first, the ``followers`` table as it stood before the batch).
"""

from __future__ import annotations

from analytics_graph.eventstore import formats

DDL = """
CREATE TABLE {schema}.followers (
    account_id  uuid NOT NULL,
    follower_id text COLLATE "C" NOT NULL,
    gender      text NOT NULL,
    age_range   text NOT NULL,
    country     text NOT NULL,
    PRIMARY KEY (account_id, follower_id)
);
CREATE TABLE {schema}.follower_totals (
    account_id uuid   PRIMARY KEY,
    followers  bigint NOT NULL
);
CREATE TABLE {schema}.follower_days (
    account_id uuid   NOT NULL,
    day        date   NOT NULL,
    gained     bigint NOT NULL,
    lost       bigint NOT NULL,
    PRIMARY KEY (account_id, day)
);
CREATE TABLE {schema}.follower_demographics (
    account_id uuid   NOT NULL,
    dimension  text   NOT NULL CHECK (dimension IN ('gender', 'age_range', 'country')),
    key        text   NOT NULL,
    followers  bigint NOT NULL,
    PRIMARY KEY (account_id, dimension, key)
);
CREATE TABLE {schema}.video_follow_hours (
    video_id      uuid        NOT NULL,
    hour          timestamptz NOT NULL,
    new_followers bigint      NOT NULL,
    PRIMARY KEY (video_id, hour)
);
CREATE TABLE {schema}.follower_activity (
    account_id uuid     NOT NULL,
    day        date     NOT NULL,
    hour       smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    views      bigint   NOT NULL,
    PRIMARY KEY (account_id, day, hour)
);
"""

# One read of the batch's rows: views (for activity) and follow/unfollow events.
_BATCH = f"""
b AS MATERIALIZED (
    SELECT position, type, occurred_at,
           {formats.ACCOUNT_UUID} AS account,
           (CASE WHEN type = 'view' THEN {formats.VIEWER_ID} ELSE {formats.FOLLOWER_ID} END)
               COLLATE "C" AS user_id,
           CASE WHEN type = 'follow' THEN {formats.payload()} END AS follow
    FROM events
    WHERE position > $1 AND position <= $2 AND type IN ('view', 'follow', 'unfollow')
),
f AS MATERIALIZED (
    SELECT position, occurred_at, account AS account_id, user_id,
           type = 'follow' AS following,
           (follow->>'viaVideoId')::uuid AS via,
           coalesce(follow->'follower'->>'gender', 'UNKNOWN') AS gender,
           coalesce(follow->'follower'->>'ageRange', 'UNKNOWN') AS age_range,
           coalesce(follow->'follower'->>'country', 'UNKNOWN') AS country
    FROM b WHERE type <> 'view'
)"""

# Views of the account's videos by users following it at that point of the log, per
# (account, day, hour), against the followers as they stood before the batch. Views
# whose (account, viewer) has no follow event in the batch just look the viewer up;
# the others take the state of the latest follow event before them: `grp` counts
# follow events so far, and the group's one event gives it. (The CTEs' sizes are
# unknown to the planner: the statement is written so that no plan can put a CTE
# on the inner side of a nested loop.)
_ACTIVITY = """
keys AS MATERIALIZED (SELECT DISTINCT account_id, user_id FROM f),
vv AS MATERIALIZED (
    -- The batch's views. In the select list, IN stays a hashed subplan: no join order
    -- to get wrong.
    SELECT position, occurred_at, account_id, user_id,
           (account_id, user_id) IN (SELECT account_id, user_id FROM keys) AS mixed
    FROM (SELECT position, occurred_at, account AS account_id, user_id
          FROM b WHERE type = 'view') v
),
plain AS (
    SELECT account_id, occurred_at FROM vv
    WHERE NOT mixed AND EXISTS (
        SELECT 1 FROM {schema}.followers fo
        WHERE fo.account_id = vv.account_id AND fo.follower_id = vv.user_id
    )
),
u AS (
    SELECT position, account_id, user_id, following, NULL::timestamptz AS occurred_at FROM f
    UNION ALL
    SELECT position, account_id, user_id, NULL, occurred_at FROM vv WHERE mixed
),
g AS (
    SELECT u.*, count(following) OVER (PARTITION BY account_id, user_id ORDER BY position) AS grp
    FROM u
),
h AS (
    SELECT g.*, bool_or(following) OVER (PARTITION BY account_id, user_id, grp) AS state FROM g
),
mixed AS (
    SELECT h.account_id, h.occurred_at FROM h
    WHERE h.following IS NULL AND coalesce(h.state, EXISTS (
        SELECT 1 FROM {schema}.followers fo
        WHERE fo.account_id = h.account_id AND fo.follower_id = h.user_id
    ))
),
active AS (
    INSERT INTO {schema}.follower_activity AS t (account_id, day, hour, views)
    SELECT account_id, (occurred_at AT TIME ZONE 'UTC')::date,
           extract(hour FROM occurred_at AT TIME ZONE 'UTC')::smallint, count(*)
    FROM (SELECT * FROM plain UNION ALL SELECT * FROM mixed) x
    GROUP BY 1, 2, 3
    ON CONFLICT (account_id, day, hour) DO UPDATE SET views = t.views + EXCLUDED.views
    RETURNING account_id
)"""

_ATTRIBUTES = "('gender', {p}gender), ('age_range', {p}age_range), ('country', {p}country)"

# Gains and losses per day, new followers per video and hour, totals, demographics
# (minus each changed follower's old attributes, plus their new ones) and the
# followers themselves (with the attributes of their latest follow).
_FOLLOWS = f"""
s AS MATERIALIZED (
    SELECT f.*,
           fo.follower_id IS NOT NULL AS followed_before,
           fo.gender AS old_gender, fo.age_range AS old_age_range, fo.country AS old_country,
           coalesce(lag(f.following) OVER w, fo.follower_id IS NOT NULL) AS was_following,
           row_number() OVER (
               PARTITION BY f.account_id, f.user_id ORDER BY f.position DESC
           ) AS from_last
    FROM f
    LEFT JOIN LATERAL (  -- LIMIT keeps it a per-row index probe
        SELECT * FROM {{schema}}.followers fo
        WHERE fo.account_id = f.account_id AND fo.follower_id = f.user_id LIMIT 1
    ) fo ON true
    WINDOW w AS (PARTITION BY f.account_id, f.user_id ORDER BY f.position)
),
changed AS MATERIALIZED (SELECT * FROM s WHERE following <> was_following),
last AS MATERIALIZED (SELECT * FROM s WHERE from_last = 1),
days AS (
    INSERT INTO {{schema}}.follower_days AS t (account_id, day, gained, lost)
    SELECT account_id, (occurred_at AT TIME ZONE 'UTC')::date,
           count(*) FILTER (WHERE following), count(*) FILTER (WHERE NOT following)
    FROM changed GROUP BY 1, 2
    ON CONFLICT (account_id, day) DO UPDATE
    SET gained = t.gained + EXCLUDED.gained, lost = t.lost + EXCLUDED.lost
),
via AS (
    INSERT INTO {{schema}}.video_follow_hours AS t (video_id, hour, new_followers)
    SELECT via, date_trunc('hour', occurred_at, 'UTC'), count(*)
    FROM changed WHERE following AND via IS NOT NULL GROUP BY 1, 2
    ON CONFLICT (video_id, hour) DO UPDATE
    SET new_followers = t.new_followers + EXCLUDED.new_followers
    RETURNING video_id
),
totals AS (
    INSERT INTO {{schema}}.follower_totals AS t (account_id, followers)
    SELECT account_id, sum(CASE WHEN following THEN 1 ELSE -1 END) FROM changed GROUP BY 1
    ON CONFLICT (account_id) DO UPDATE SET followers = t.followers + EXCLUDED.followers
),
demographics AS (
    INSERT INTO {{schema}}.follower_demographics AS t (account_id, dimension, key, followers)
    SELECT account_id, dimension, key, sum(delta) FROM (
        SELECT account_id, a.dimension, a.key, 1 AS delta
        FROM last CROSS JOIN LATERAL (VALUES {_ATTRIBUTES.format(p="")}) a(dimension, key)
        WHERE following
        UNION ALL
        SELECT account_id, a.dimension, a.key, -1
        FROM last CROSS JOIN LATERAL (VALUES {_ATTRIBUTES.format(p="old_")}) a(dimension, key)
        WHERE followed_before
    ) d
    GROUP BY 1, 2, 3 HAVING sum(delta) <> 0
    ON CONFLICT (account_id, dimension, key) DO UPDATE
    SET followers = t.followers + EXCLUDED.followers
),
gone AS (
    DELETE FROM {{schema}}.followers fo USING last
    WHERE NOT last.following AND last.followed_before
      AND fo.account_id = last.account_id AND fo.follower_id = last.user_id
),
kept AS (
    INSERT INTO {{schema}}.followers AS t (account_id, follower_id, gender, age_range, country)
    SELECT account_id, user_id, gender, age_range, country FROM last WHERE following
    ON CONFLICT (account_id, follower_id) DO UPDATE
    SET gender = EXCLUDED.gender, age_range = EXCLUDED.age_range, country = EXCLUDED.country
)"""

# The whole batch in one statement: every part sees the tables as they stood before
# it (one snapshot), which is what both the activity and the state changes need.
APPLY = f"""
WITH {_BATCH},
{_ACTIVITY},
{_FOLLOWS}
SELECT DISTINCT account_id, NULL::uuid AS video_id FROM f
UNION ALL
SELECT DISTINCT account_id, NULL::uuid FROM active
UNION ALL
SELECT DISTINCT NULL::uuid, video_id FROM via
"""
