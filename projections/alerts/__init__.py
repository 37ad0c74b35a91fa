"""Alerts: what the alert rules need beyond the other read models, and the alerts raised.

Tables (in ``rm_alerts``):

* ``video_hours`` (video, UTC clock hour): views, over the video's whole life (the
  ``engagement`` model keeps hours only for the first 48): the hourly spike rule
  compares an hour with the same hour of the 7 days before;
* ``raised``: each ``AlertRaised`` event of the log (``alerts/events.py``), what
  ``AccountAnalytics.alerts`` reads.
"""

from __future__ import annotations

from analytics_graph.eventstore import formats
from analytics_graph.projection import Batch, Changes, Projection
from analytics_graph.projection.tables import qualify
from analytics_graph.types import Connection

NAME = "alerts"
ALERT_RAISED = "AlertRaised"
HANDLES = frozenset(("view", ALERT_RAISED))

DDL = """
CREATE TABLE {schema}.video_hours (
    video_id   uuid        NOT NULL,
    hour       timestamptz NOT NULL,
    account_id uuid        NOT NULL,
    views      bigint      NOT NULL,
    PRIMARY KEY (video_id, hour)
);
CREATE TABLE {schema}.raised (
    event_id     uuid        PRIMARY KEY,
    position     bigint      NOT NULL,
    account_id   uuid        NOT NULL,
    rule         text        NOT NULL,
    subject_id   uuid        NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    value        bigint      NOT NULL,
    baseline     float8      NOT NULL,
    threshold    float8      NOT NULL,
    raised_at    timestamptz NOT NULL
);
CREATE INDEX raised_by_account ON {schema}.raised (account_id, window_start);
"""

# One read of the batch's rows for both tables (views are most of a batch; alerts
# few): the views counted per video and hour, and the alerts raised recorded. The
# views are grouped by their video's id as stored (text), cast once per group, and
# by `date_bin` (arithmetic) rather than a truncation in UTC and back: measured
# 1.95 s -> 1.24 s for the ten batches of 1M events.
APPLY = f"""
WITH b AS MATERIALIZED (
    SELECT type, event_id, position, stream_id, occurred_at,
           CASE WHEN type = 'view' THEN {formats.ACCOUNT_UUID} END AS account,
           CASE WHEN type <> 'view' THEN data END AS data
    FROM events WHERE position > $1 AND position <= $2 AND type IN ('view', $3)
),
hours AS (
    INSERT INTO {{schema}}.video_hours AS t (video_id, hour, account_id, views)
    SELECT stream_id::uuid, hour, account, views FROM (
        SELECT stream_id, date_bin('1 hour', occurred_at, {formats.EPOCH}) AS hour, account,
               count(*) AS views
        FROM b WHERE type = 'view'
        GROUP BY 1, 2, 3
    ) g
    ON CONFLICT (video_id, hour) DO UPDATE SET views = t.views + EXCLUDED.views
)
INSERT INTO {{schema}}.raised (event_id, position, account_id, rule, subject_id, window_start,
                               window_end, value, baseline, threshold, raised_at)
SELECT event_id, position, (data->>'accountId')::uuid, data->>'rule',
       (data->>'subjectId')::uuid, (data->>'windowStart')::timestamptz,
       (data->>'windowEnd')::timestamptz, (data->>'value')::bigint,
       (data->>'baseline')::float8, (data->>'threshold')::float8, occurred_at
FROM b WHERE type = $3
ON CONFLICT (event_id) DO NOTHING
RETURNING account_id
"""


async def apply(conn: Connection, batch: Batch) -> Changes:
    """Counts the batch's views per video and hour; records its alerts."""
    rows = await conn.fetch(qualify(APPLY, batch.schema), batch.after, batch.upto, ALERT_RAISED)
    return Changes().add(accounts=(r[0] for r in rows))


PROJECTION = Projection(
    name=NAME,
    version=1,
    handles=HANDLES,
    ddl=DDL,
    apply=apply,
    description="per video and hour: views (all hours); the alerts raised",
)
