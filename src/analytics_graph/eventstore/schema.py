"""The event store's tables, as versioned migrations.

Each migration runs once, in order, inside one transaction holding an advisory
lock, so ``migrate`` is safe to run twice and from two processes at once: the
second waits for the first, then finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass

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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event log", EVENTS_TABLE),
    Migration(2, "aggregate events by position", AGGREGATE_ROWS_INDEX),
    Migration(3, "sealed log: tree nodes, leaf positions, signed heads", AUDIT_TABLES),
    Migration(4, "aggregate snapshots", SNAPSHOTS_TABLE),
    Migration(5, "webhooks", WEBHOOK_TABLES),
    Migration(6, "alerts", ALERT_TABLES),
    Migration(7, "compact format of engagement facts", COMPACT_FORMAT),
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


async def pending(conn: Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """The versions of ``migrations`` not applied yet (all of them on an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = set()
    if exists:
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    return sorted(m.version for m in migrations if m.version not in done)
