"""Part (d) of bench/projections.py: read-model layouts for ranged reach and retention.

On a database whose read models have caught up, each layout is folded alone from
position 0 into a schema of its own, in batches like the runner's, on one
connection (fold time), then read for 28-day ranges of many videos (query time):

* reach, exact (``projections.audience``, what ``video_reach`` keeps): viewer days
  and per-day gap histograms; a range reads O(days x distinct gaps) rows;
* reach, HyperLogLog (2^14 registers, 0.8% standard error; sparse: one row per
  (video, day, register) set): a range merges its days' registers (max) and
  estimates; also its error against the exact count;
* retention per (video, day, second) rows (what ``video_reach`` keeps), against
  one array per (video, day) added element-wise.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder would come first on sys.path, where
# bench/projections.py would pass for the `projections` package: the root instead.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from analytics_graph.eventstore import EventStore  # noqa: E402
from analytics_graph.eventstore.formats import VIEWER_ID, WATCHED_SECONDS  # noqa: E402
from analytics_graph.types import Connection  # noqa: E402
from projections import audience  # noqa: E402

BATCH = 100_000
REGISTERS_LOG2 = 14
REGISTERS = 1 << REGISTERS_LOG2

VIEWS = f"""
WITH e AS MATERIALIZED (
    SELECT stream_id::uuid AS k, ({VIEWER_ID}) COLLATE "C" AS member,
           (occurred_at AT TIME ZONE 'UTC')::date AS day,
           floor({WATCHED_SECONDS})::integer AS second
    FROM events WHERE position > $1 AND position <= $2 AND type = 'view'
)"""

V1_DDL = """
CREATE TABLE {schema}.video_viewers (
    video_id uuid NOT NULL, viewer_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (video_id, viewer_id)
);"""
# video_reach version 1 (lifetime pairs, no count table): the fold before issue 14.
V1 = f"""
WITH pairs AS (
    SELECT DISTINCT stream_id::uuid AS vid, ({VIEWER_ID}) COLLATE "C" AS viewer
    FROM events WHERE position > $1 AND position <= $2 AND type = 'view'
)
INSERT INTO {{schema}}.video_viewers (video_id, viewer_id)
SELECT vid, viewer FROM pairs p WHERE NOT EXISTS (
    SELECT 1 FROM {{schema}}.video_viewers w WHERE w.video_id = p.vid AND w.viewer_id = p.viewer
)
"""

EXACT_DDL = audience.ddl("video_viewer", "video_id")
EXACT = f"""{VIEWS}{audience.fold_ctes("video_viewer", "video_id", "e")}
SELECT count(*) FROM video_viewer_moves"""

HLL_DDL = """
CREATE TABLE {schema}.hll (
    video_id uuid NOT NULL, day date NOT NULL, reg integer NOT NULL, rho integer NOT NULL,
    PRIMARY KEY (video_id, day, reg)
);"""
# register: the hash's low bits; rho: 1 + trailing zeros of the next 50 bits.
HLL = f"""{VIEWS},
h AS (
    SELECT k, day, hashtextextended(member, 0) AS h FROM e
),
r AS (
    SELECT k, day, (h & {REGISTERS - 1})::integer AS reg,
           ((h >> {REGISTERS_LOG2}) & ((1::bigint << 50) - 1)) AS w
    FROM h
)
INSERT INTO {{schema}}.hll AS t (video_id, day, reg, rho)
SELECT k, day, reg,
       max(CASE WHEN w = 0 THEN 51 ELSE round(ln((w & -w)::float8) / ln(2.0))::integer + 1 END)
FROM r GROUP BY 1, 2, 3
ON CONFLICT (video_id, day, reg) DO UPDATE SET rho = greatest(t.rho, EXCLUDED.rho)
"""

ROWS_DDL = """
CREATE TABLE {schema}.retention (
    video_id uuid NOT NULL, day date NOT NULL, second integer NOT NULL, views bigint NOT NULL,
    PRIMARY KEY (video_id, day, second)
);"""
ROWS = f"""{VIEWS}
INSERT INTO {{schema}}.retention AS t (video_id, day, second, views)
SELECT v.video_id, g.day, least(g.second, floor(v.duration_seconds)::integer), sum(g.views)
FROM (SELECT k, day, second, count(*) AS views FROM e GROUP BY 1, 2, 3) g
JOIN rm_video_reach.videos v ON v.video_id = g.k
GROUP BY 1, 2, 3
ON CONFLICT (video_id, day, second) DO UPDATE SET views = t.views + EXCLUDED.views
"""

ARRAYS_DDL = """
CREATE TABLE {schema}.retention (
    video_id uuid NOT NULL, day date NOT NULL, views bigint[] NOT NULL,
    PRIMARY KEY (video_id, day)
);"""
ARRAYS = f"""{VIEWS},
g AS (
    SELECT v.video_id AS k, e.day, least(e.second, floor(v.duration_seconds)::integer) AS s,
           count(*) AS n
    FROM e JOIN rm_video_reach.videos v ON v.video_id = e.k GROUP BY 1, 2, 3
),
dense AS (
    -- zeros for the seconds without views, added as rows (no join)
    SELECT k, day, array_agg(n ORDER BY s) AS views FROM (
        SELECT k, day, s, sum(n) AS n FROM (
            SELECT k, day, s, n FROM g
            UNION ALL
            SELECT m.k, m.day, i, 0
            FROM (SELECT k, day, max(s) AS top FROM g GROUP BY 1, 2) m,
                 generate_series(0, m.top) i
        ) x GROUP BY 1, 2, 3
    ) y GROUP BY 1, 2
)
INSERT INTO {{schema}}.retention AS t (video_id, day, views)
SELECT k, day, views FROM dense
ON CONFLICT (video_id, day) DO UPDATE SET views = (
    SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY i)
    FROM unnest(t.views, EXCLUDED.views) WITH ORDINALITY AS u(a, b, i)
)
"""

READ_EXACT = """
SELECT coalesce(sum(members), 0) FROM {schema}.video_viewer_gaps
WHERE video_id = $1 AND day BETWEEN $2 AND $3 AND (gap = 0 OR gap > day - $2)
"""
READ_HLL = """
SELECT count(*) AS filled, coalesce(sum(power(2.0, -rho)), 0) AS z FROM (
    SELECT reg, max(rho) AS rho FROM {schema}.hll
    WHERE video_id = $1 AND day BETWEEN $2 AND $3 GROUP BY reg
) r
"""
READ_ROWS = """
SELECT second, sum(views) FROM {schema}.retention
WHERE video_id = $1 AND day BETWEEN $2 AND $3 GROUP BY second
"""
READ_ARRAYS = """
SELECT views FROM {schema}.retention WHERE video_id = $1 AND day BETWEEN $2 AND $3
"""


def estimate(filled: int, z: float) -> float:
    """HyperLogLog's estimate from the merged registers (empty ones add 2^0 each)."""
    m = REGISTERS
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / (float(z) + (m - filled))
    zeros = m - filled
    if raw <= 2.5 * m and zeros:
        return m * math.log(m / zeros)  # linear counting while most registers are empty
    return raw


async def fold(conn: Connection, name: str, ddl: str, sql: str, head: int) -> float:
    """Folds the log into layout ``name`` from scratch; seconds taken."""
    schema = f"layout_{name}"
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    await conn.execute(ddl.replace("{schema}", schema))
    statement = sql.replace("{schema}", schema)
    started = time.perf_counter()
    for after in range(0, head, BATCH):
        async with conn.transaction():
            await conn.execute(audience.BATCH_SETTINGS)
            await conn.execute(statement, after, min(head, after + BATCH))
    seconds = time.perf_counter() - started
    for table in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
        await conn.execute(f"VACUUM ANALYZE {schema}.{table[0]}")
    return seconds


async def timed(
    cases: list[tuple[Any, date, date]], read: Callable[[Any, date, date], Awaitable[object]]
) -> tuple[float, list[object]]:
    """Microseconds per read (median of three passes), and the answers."""
    passes, answers = [], []
    for _ in range(3):
        started = time.perf_counter()
        answers = [await read(*case) for case in cases]
        passes.append((time.perf_counter() - started) / len(cases) * 1e6)
    return statistics.median(passes), answers


async def compare(store: EventStore) -> None:
    head = await store.last_position()
    async with store.pool.acquire() as conn:
        print("(d) layouts, each folded alone from position 0 in 100k batches:")
        folds = {
            "v1": (V1_DDL, V1, "reach, lifetime pairs (version 1, before)"),
            "exact": (EXACT_DDL, EXACT, "reach, exact (viewer days + gap histograms)"),
            "hll": (HLL_DDL, HLL, "reach, HyperLogLog 2^14 sparse registers"),
            "rows": (ROWS_DDL, ROWS, "retention, (video, day, second) rows"),
            "arrays": (ARRAYS_DDL, ARRAYS, "retention, one array per (video, day)"),
        }
        for name, (ddl, sql, label) in folds.items():
            seconds = await fold(conn, name, ddl, sql, head)
            size = await conn.fetchval(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = $1 AND c.relkind = 'r'",
                f"layout_{name}",
            )
            print(f"    {label:<46} {seconds:6.2f} s  {size / 2**20:7.1f} MiB")
        await read_cases(conn)


async def read_cases(conn: Connection) -> None:
    rows = await conn.fetch(
        "SELECT video_id, max(day) AS last FROM layout_rows.retention GROUP BY 1 ORDER BY 1"
    )
    rng = random.Random(5)
    cases = []
    for _ in range(300):
        row = rng.choice(rows)
        end = row["last"] - timedelta(days=rng.randrange(0, 14))
        cases.append((row["video_id"], end - timedelta(days=27), end))

    async def exact(v: Any, s: date, e: date) -> object:
        return await conn.fetchval(READ_EXACT.replace("{schema}", "layout_exact"), v, s, e)

    async def hll(v: Any, s: date, e: date) -> object:
        r = await conn.fetchrow(READ_HLL.replace("{schema}", "layout_hll"), v, s, e)
        assert r is not None
        return estimate(r["filled"], r["z"])

    async def rows_(v: Any, s: date, e: date) -> object:
        found = await conn.fetch(READ_ROWS.replace("{schema}", "layout_rows"), v, s, e)
        return {r[0]: r[1] for r in found}

    async def arrays(v: Any, s: date, e: date) -> object:
        found = await conn.fetch(READ_ARRAYS.replace("{schema}", "layout_arrays"), v, s, e)
        total: list[int] = []
        for r in found:
            for i, n in enumerate(r["views"]):
                total.extend([0] * (i + 1 - len(total)))
                total[i] += n
        return {i: n for i, n in enumerate(total) if n}

    exact_us, exact_answers = await timed(cases, exact)
    hll_us, hll_answers = await timed(cases, hll)
    errors = [
        abs(float(h) - float(x)) / float(x)  # type: ignore[arg-type]
        for h, x in zip(hll_answers, exact_answers, strict=True)
        if x
    ]
    rows_us, rows_answers = await timed(cases, rows_)
    arrays_us, arrays_answers = await timed(cases, arrays)
    assert rows_answers == arrays_answers
    sizes = sorted(int(x) for x in exact_answers)  # type: ignore[call-overload]
    print(
        f"    28-day reach of {len(cases)} videos (viewers: median {sizes[len(sizes) // 2]:,},"
        f" max {sizes[-1]:,}):"
    )
    print(f"      exact {exact_us:7.0f} us/query;  HyperLogLog {hll_us:7.0f} us/query,"
          f" error mean {statistics.mean(errors):.2%}, max {max(errors):.2%}")  # fmt: skip
    print(f"    28-day retention: rows {rows_us:7.0f} us/query;  arrays {arrays_us:7.0f} us/query")


async def main(url: str) -> None:
    """Part (d) alone, on a database whose read models have caught up."""
    from analytics_graph.database import create_pool

    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        await compare(EventStore(pool))
    finally:
        await pool.close()


if __name__ == "__main__":
    import asyncio

    asyncio.run(main(sys.argv[1]))
