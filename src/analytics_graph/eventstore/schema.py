"""The event store's tables, as versioned migrations.

Each migration runs once, in order, inside one transaction holding an advisory
lock, so ``migrate`` is safe to run twice and from two processes at once: the
second waits for the first, then finds nothing left to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from analytics_graph.database import scratch_database
from analytics_graph.types import Connection

MIGRATION_LOCK = 0x616E616C79746963  # "analytic": one advisory-lock key for all migrations


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


EVENTS_TABLE = """
-- The log. `position` is drawn from an identity sequence with CACHE 1 (the
-- default, and required: the skip-free reader assumes a position is drawn only
-- after its transaction has an xid; a session cache would hand out old values
-- later). See eventstore/reader.py.
CREATE TABLE events (
    position       bigint      GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
    stream_id      text        NOT NULL,
    stream_version bigint,
    type           text        NOT NULL,
    event_id       uuid,
    occurred_at    timestamptz,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    data           jsonb,
    state          bytea,
    CONSTRAINT events_one_payload CHECK ((data IS NULL) <> (state IS NULL)),
    CONSTRAINT events_version_positive CHECK (stream_version IS NULL OR stream_version >= 0)
);
-- Versioned streams (aggregates): one event per (stream, version); a second
-- writer of the same version gets a unique violation = ConcurrencyError.
CREATE UNIQUE INDEX events_stream_version ON events (stream_id, stream_version)
    WHERE stream_version IS NOT NULL;
-- Idempotency of engagement facts: an eventId is stored once.
CREATE UNIQUE INDEX events_event_id ON events (event_id) WHERE event_id IS NOT NULL;

CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER events_append_only_rows BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Positions of processes that follow the log through the eventsourcing API.
CREATE TABLE tracking (
    application_name text   NOT NULL,
    notification_id  bigint NOT NULL,
    PRIMARY KEY (application_name, notification_id)
);
"""

AGGREGATE_ROWS_INDEX = """
-- Aggregate events in log order, without the engagement firehose: what
-- notification readers (eventsourcing API) and entity projections scan.
CREATE INDEX events_aggregate_position ON events (position) WHERE stream_version IS NOT NULL;
"""

AUDIT_TABLES = """
-- The sealed log (audit/tree.py): RFC 6962 tree nodes of complete subtrees, in
-- chunks of 256 consecutive hashes of one level (level 0: the leaf hashes), the
-- positions of the leaves in chunks of 256, the signed heads and the sealer's
-- checkpoint. Chunks are stored out of line, uncompressed (hashes do not
-- compress), so a proof reads 32-byte slices of them.
CREATE TABLE audit_nodes (
    level  smallint NOT NULL,
    chunk  bigint   NOT NULL,
    hashes bytea    NOT NULL,
    PRIMARY KEY (level, chunk)
);
ALTER TABLE audit_nodes ALTER COLUMN hashes SET STORAGE EXTERNAL;
CREATE TABLE audit_leaves (
    chunk          bigint PRIMARY KEY,
    first_position bigint NOT NULL,
    positions      bytea  NOT NULL
);
ALTER TABLE audit_leaves ALTER COLUMN positions SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX audit_leaves_first_position ON audit_leaves (first_position);
CREATE TABLE audit_heads (
    tree_size  bigint      PRIMARY KEY,
    root_hash  bytea       NOT NULL,
    sealed_at  timestamptz NOT NULL,
    signature  bytea       NOT NULL,
    public_key bytea       NOT NULL
);
CREATE FUNCTION audit_heads_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signed tree heads are never rewritten: % on audit_heads is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_heads_refuse_change();
CREATE TABLE audit_checkpoint (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position  bigint  NOT NULL,
    tree_size bigint  NOT NULL
);
INSERT INTO audit_checkpoint (position, tree_size) VALUES (0, 0);
"""

SNAPSHOTS_TABLE = """
-- Snapshots of aggregates for the eventsourcing library (persistence.py), beside
-- the log and not in it: a snapshot is a cache, replaceable and never audited.
CREATE TABLE snapshots (
    stream_id      text   NOT NULL,
    stream_version bigint NOT NULL,
    topic          text   NOT NULL,
    state          bytea  NOT NULL,
    PRIMARY KEY (stream_id, stream_version)
);
"""

WEBHOOK_TABLES = """
-- Webhook endpoints (webhooks/endpoints.py). The secret is kept to sign with; it is
-- shown once, when created, and never read back through the API.
CREATE TABLE webhook_endpoints (
    webhook_id       uuid        PRIMARY KEY,
    account_id       uuid        NOT NULL,
    url              text        NOT NULL,
    topics           text[]      NOT NULL,
    secret           text        NOT NULL,
    enabled          boolean     NOT NULL DEFAULT true,
    disabled_reason  text,
    failing_since    timestamptz,
    created_position bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id);
-- What to send, in order per endpoint (webhooks/deliveries.py); written by the
-- dispatcher in the transaction that advances its checkpoint.
CREATE TABLE webhook_deliveries (
    delivery_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid        NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
    message_id      text        NOT NULL UNIQUE,
    topic           text        NOT NULL,
    position        bigint      NOT NULL,
    body            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    response_status integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    scheduled_at    timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, delivery_id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, delivery_id DESC);
-- How far the webhook dispatcher has followed the log: from the head at this
-- migration (no endpoint exists before it).
CREATE TABLE webhook_checkpoint (
    name     text   PRIMARY KEY,
    position bigint NOT NULL
);
INSERT INTO webhook_checkpoint (name, position)
SELECT 'dispatcher', coalesce(max(position), 0) FROM events;
"""

ALERT_TABLES = """
-- Per-account overrides of the alert rules' defaults (alerts/rules.py).
CREATE TABLE alert_rules (
    account_id uuid        PRIMARY KEY,
    rules      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- How far the alert evaluator has followed the log (alerts/evaluator.py).
CREATE TABLE alert_checkpoint (
    name     text   PRIMARY KEY,
    position bigint NOT NULL
);
INSERT INTO alert_checkpoint (name, position)
SELECT 'evaluator', coalesce(max(position), 0) FROM events;
"""

COMPACT_FORMAT = """
-- Format 2 of engagement facts (eventstore/formats.py): the payload in typed
-- columns, `data` NULL. Nullable columns without a default: adding them rewrites
-- nothing, and the rows stored so far keep format 1 (their JSON) for good.
ALTER TABLE events
    ADD COLUMN format       smallint,
    ADD COLUMN account_id   uuid,
    ADD COLUMN user_id      text,
    ADD COLUMN watched      numeric,
    ADD COLUMN completed    boolean,
    ADD COLUMN source       smallint,
    ADD COLUMN search_term  text,
    ADD COLUMN channel      text,
    ADD COLUMN via_video_id uuid,
    ADD COLUMN country      text,
    ADD COLUMN gender       smallint,
    ADD COLUMN age_range    smallint;
-- One payload per row: JSON, the aggregate's bytes, or format 2's columns. Checked
-- over the stored rows once (a scan under this migration's lock; no rewrite).
ALTER TABLE events DROP CONSTRAINT events_one_payload;
ALTER TABLE events ADD CONSTRAINT events_one_payload
    CHECK (num_nonnulls(data, state, format) = 1);
ALTER TABLE events ADD CONSTRAINT events_known_format CHECK (format IS NULL OR format = 2);
"""

PARTITIONED_LOG = r"""
-- The log partitioned by position range (eventstore/partitions.py). PostgreSQL
-- cannot partition a table in place: the table so far becomes the first partition,
-- `events_0`, attached under a new parent without copying a row (its CHECK
-- constraint, validated by one scan, spares ATTACH a second one; its indexes that
-- match the parent's are adopted as they are).
DO $migration$
DECLARE
    drawn bigint;
BEGIN
    ALTER TABLE events RENAME TO events_0;
    ALTER INDEX events_pkey RENAME TO events_0_pkey;
    ALTER INDEX events_event_id RENAME TO events_0_event_id;
    ALTER INDEX events_aggregate_position RENAME TO events_0_aggregate_position;
    DROP TRIGGER events_append_only_rows ON events_0;  -- the parent's is cloned onto it
    -- The last position drawn (not the largest stored: a rolled-back append drew
    -- one too), so that no position is ever drawn twice.
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
        INTO drawn FROM events_position_seq;
    ALTER TABLE events_0 ALTER COLUMN position DROP IDENTITY;
    EXECUTE format('ALTER TABLE events_0 ADD CONSTRAINT events_0_range CHECK (position < %s)',
                   drawn + 1);
    CREATE TABLE events (
        position       bigint      GENERATED ALWAYS AS IDENTITY (CACHE 1),
        stream_id      text        NOT NULL,
        stream_version bigint,
        type           text        NOT NULL,
        event_id       uuid,
        occurred_at    timestamptz,
        recorded_at    timestamptz NOT NULL DEFAULT now(),
        data           jsonb,
        state          bytea,
        format         smallint,
        account_id     uuid,
        user_id        text,
        watched        numeric,
        completed      boolean,
        source         smallint,
        search_term    text,
        channel        text,
        via_video_id   uuid,
        country        text,
        gender         smallint,
        age_range      smallint,
        PRIMARY KEY (position),
        CONSTRAINT events_one_payload CHECK (num_nonnulls(data, state, format) = 1),
        CONSTRAINT events_known_format CHECK (format IS NULL OR format = 2),
        CONSTRAINT events_version_positive CHECK (stream_version IS NULL OR stream_version >= 0)
    ) PARTITION BY RANGE (position);
    IF drawn > 0 THEN
        PERFORM setval(pg_get_serial_sequence('events', 'position'), drawn);
    END IF;
    CREATE INDEX events_aggregate_position ON events (position) WHERE stream_version IS NOT NULL;
    EXECUTE format('ALTER TABLE events ATTACH PARTITION events_0'
                   ' FOR VALUES FROM (MINVALUE) TO (%s)', drawn + 1);
    -- Read a stream by version (a partial index: built over the aggregate rows only).
    CREATE INDEX events_stream ON events (stream_id, stream_version)
        WHERE stream_version IS NOT NULL;
END
$migration$;

CREATE TRIGGER events_append_only_rows BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- One event per (stream, version) across all partitions (a unique index of a
-- partitioned table must hold the partition key): every version is also written
-- here, by the trigger, and a second writer of a version gets the unique
-- violation `events_stream_version`, as before (= ConcurrencyError).
DROP INDEX events_stream_version;
CREATE TABLE event_stream_versions (
    stream_id      text   NOT NULL,
    stream_version bigint NOT NULL,
    CONSTRAINT events_stream_version PRIMARY KEY (stream_id, stream_version)
);
INSERT INTO event_stream_versions
SELECT stream_id, stream_version FROM events WHERE stream_version IS NOT NULL;
CREATE FUNCTION events_claim_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_stream_versions VALUES (NEW.stream_id, NEW.stream_version);
    RETURN NULL;
END
$$;
-- AFTER, not BEFORE: a BEFORE row trigger would make COPY insert row by row.
CREATE TRIGGER events_claim_version AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.stream_version IS NOT NULL) EXECUTE FUNCTION events_claim_version();

-- The partitions' ranges: [lower, upper) of each attached one, in order.
CREATE FUNCTION events_partitions()
RETURNS TABLE (name text, lower bigint, upper bigint) LANGUAGE sql STABLE AS $$
    SELECT c.relname::text,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''?(-?\d+)')::bigint,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''?(-?\d+)')::bigint
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events'::regclass
    ORDER BY 3
$$;
-- Adds the partition [end of the last one, + size): its own unique index of event
-- ids (the deduplication window's index) and its own TRUNCATE guard (row triggers
-- are cloned from the parent; statement triggers are not).
CREATE FUNCTION events_add_partition(size bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lower bigint := (SELECT max(upper) FROM events_partitions());
    name text := format('events_%s', lower);
BEGIN
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%s) TO (%s)',
                   name, lower, lower + size);
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (event_id) WHERE event_id IS NOT NULL',
                   name || '_event_id', name);
    EXECUTE format('CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON %I'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()', name);
    RETURN name;
END
$$;
SELECT events_add_partition(100000000);
SELECT events_add_partition(100000000);

-- Partitions exported (with their proofs) and detached: their positions are sealed,
-- and no longer in the log (audit/verify.py takes their sealed leaves as they are).
CREATE TABLE event_partitions_detached (
    name        text        PRIMARY KEY,
    lower       bigint      NOT NULL,
    upper       bigint      NOT NULL,
    events      bigint      NOT NULL,
    exported_to text        NOT NULL,
    detached_at timestamptz NOT NULL DEFAULT now()
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event log", EVENTS_TABLE),
    Migration(2, "aggregate events by position", AGGREGATE_ROWS_INDEX),
    Migration(3, "sealed log: tree nodes, leaf positions, signed heads", AUDIT_TABLES),
    Migration(4, "aggregate snapshots", SNAPSHOTS_TABLE),
    Migration(5, "webhooks", WEBHOOK_TABLES),
    Migration(6, "alerts", ALERT_TABLES),
    Migration(7, "compact format of engagement facts", COMPACT_FORMAT),
    Migration(8, "the log partitioned by position range", PARTITIONED_LOG),
)


async def migrate(conn: Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Applies the migrations not yet applied; returns the versions it applied.

    Serialised by a transaction-scoped advisory lock: concurrent callers wait,
    then see the other's work and apply nothing twice.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
        return applied


@contextlib.asynccontextmanager
async def migrated_scratch(server_url: str, prefix: str) -> AsyncIterator[str]:
    """:func:`~analytics_graph.database.scratch_database`, migrated: an empty log."""
    async with scratch_database(server_url, prefix) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield url


async def pending(conn: Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """The versions of ``migrations`` not applied yet (all of them on an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = set()
    if exists:
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    return sorted(m.version for m in migrations if m.version not in done)
