"""The SQLite store's schema: the contract between the gateway (writer) and the dashboard (reader).

``docs/storage.md`` describes every table and column; this module is the executable form. The dashboard
imports the constants below instead of repeating table names. Bump :data:`SCHEMA_VERSION` on any change that
breaks a reader; additive changes (new tables, new nullable columns) keep it.

Conventions
-----------
- ``node`` is the protocol node id (unsigned integer). ``ts_ns`` is UTC nanoseconds since the Unix epoch,
  derived deterministically from the node's clock: ``boot_epoch_ns + node_time``, where ``boot_epoch_ns`` is
  fixed once per node boot and journaled, so a replayed message gets the same key and is ignored.
- Every fact table has a primary key ``(node, ts_ns, ...)`` and is ``WITHOUT ROWID``, so range scans for one
  node over a time window read one contiguous B-tree slice.
- ``scores_1m`` is a per-minute rollup maintained by a trigger on ``scores`` (it fires only for rows actually
  inserted, so replays never double count). Dashboards read it for windows longer than a few hours.
- Non-finite floats a node sends (NaN, inf) are stored as NULL; rows with a NULL score stay out of the rollup.
"""

from __future__ import annotations

#: Stored in ``meta`` under key ``schema_version``.
SCHEMA_VERSION = 1

#: Where the gateway keeps its SQLite store unless told otherwise, and the dashboard looks for it.
DEFAULT_PATH = ".vibsentry/data/vibsentry.sqlite"
DEFAULT_STORE = f"sqlite:{DEFAULT_PATH}"

#: Rollup bucket of ``scores_1m`` in nanoseconds.
ROLLUP_NS = 60_000_000_000

T_META = "meta"
T_NODES = "nodes"
T_SCORES = "scores"
T_SCORES_1M = "scores_1m"
T_ALARMS = "alarms"
T_STATUS = "status"
T_FEATURES = "features"
T_RAW = "raw_chunks"
T_DIAGNOSES = "diagnoses"

#: Alarm events as stored in ``alarms.event`` (same codes as ``vibsentry.runtime.alarm``: 1 raise, 2 clear).
EVENT_RAISE = 1
EVENT_CLEAR = 2

#: ``scores.alarm_state``: 0 OK, 1 ALARM (the node's alarm-rule state after this score).
STATE_OK = 0
STATE_ALARM = 1

DDL: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {T_META} (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    # One row per node; updated from HELLO/STATUS and from every delivered message (last_seen_ns).
    f"""CREATE TABLE IF NOT EXISTS {T_NODES} (
        node          INTEGER PRIMARY KEY,
        machine       TEXT,
        port          TEXT,
        fw_version    TEXT,
        feature_hash  TEXT,
        model_hash    TEXT,
        hash_mismatch INTEGER NOT NULL DEFAULT 0,
        boot_epoch_ns INTEGER,
        first_seen_ns INTEGER NOT NULL,
        last_seen_ns  INTEGER NOT NULL,
        last_status_ns INTEGER,
        last_score_ns INTEGER,
        last_score    REAL,
        last_threshold REAL,
        last_alarm_state INTEGER,
        last_velocity_rms REAL,
        site          TEXT,
        gateway       TEXT,
        sample_rate_hz REAL,
        sample_rate_ns INTEGER
    )""",
    f"""CREATE TABLE IF NOT EXISTS {T_SCORES} (
        node          INTEGER NOT NULL,
        ts_ns         INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        score         REAL,
        threshold     REAL,
        alarm_state   INTEGER NOT NULL DEFAULT 0,
        class         INTEGER,
        rms           REAL,
        peak          REAL,
        velocity_rms  REAL,
        hash_mismatch INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (node, ts_ns)
    ) WITHOUT ROWID""",
    f"""CREATE TABLE IF NOT EXISTS {T_SCORES_1M} (
        node          INTEGER NOT NULL,
        bucket_ns     INTEGER NOT NULL,
        n             INTEGER NOT NULL,
        score_sum     REAL NOT NULL,
        score_min     REAL NOT NULL,
        score_max     REAL NOT NULL,
        threshold     REAL,
        alarm_max     INTEGER NOT NULL,
        rms_max       REAL,
        velocity_sum  REAL,
        velocity_max  REAL,
        PRIMARY KEY (node, bucket_ns)
    ) WITHOUT ROWID""",
    f"""CREATE TRIGGER IF NOT EXISTS scores_rollup AFTER INSERT ON {T_SCORES} WHEN NEW.score IS NOT NULL BEGIN
        INSERT INTO {T_SCORES_1M} (node, bucket_ns, n, score_sum, score_min, score_max, threshold, alarm_max,
                                   rms_max, velocity_sum, velocity_max)
        VALUES (NEW.node, NEW.ts_ns - (NEW.ts_ns % {ROLLUP_NS}), 1, NEW.score, NEW.score, NEW.score,
                NEW.threshold, NEW.alarm_state, NEW.rms, NEW.velocity_rms, NEW.velocity_rms)
        ON CONFLICT (node, bucket_ns) DO UPDATE SET
            n = n + 1,
            score_sum = score_sum + excluded.score_sum,
            score_min = min(score_min, excluded.score_min),
            score_max = max(score_max, excluded.score_max),
            threshold = coalesce(excluded.threshold, threshold),
            alarm_max = max(alarm_max, excluded.alarm_max),
            rms_max = max(coalesce(rms_max, excluded.rms_max), coalesce(excluded.rms_max, rms_max)),
            velocity_sum = coalesce(velocity_sum, 0) + coalesce(excluded.velocity_sum, 0),
            velocity_max = max(coalesce(velocity_max, excluded.velocity_max),
                               coalesce(excluded.velocity_max, velocity_max));
    END""",
    # event: 1 raise, 2 clear. ack_* are written by the dashboard (the only columns it writes).
    f"""CREATE TABLE IF NOT EXISTS {T_ALARMS} (
        node          INTEGER NOT NULL,
        ts_ns         INTEGER NOT NULL,
        event         INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        score         REAL,
        threshold     REAL,
        hash_mismatch INTEGER NOT NULL DEFAULT 0,
        ack_ns        INTEGER,
        ack_note      TEXT,
        PRIMARY KEY (node, ts_ns, event)
    ) WITHOUT ROWID""",
    f"CREATE INDEX IF NOT EXISTS alarms_by_time ON {T_ALARMS} (ts_ns)",
    # HELLO and STATUS both land here (kind 'hello' / 'status'); counters is a JSON object.
    f"""CREATE TABLE IF NOT EXISTS {T_STATUS} (
        node          INTEGER NOT NULL,
        ts_ns         INTEGER NOT NULL,
        kind          TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        uptime_ms     INTEGER,
        fw_version    TEXT,
        feature_hash  TEXT,
        model_hash    TEXT,
        hash_mismatch INTEGER NOT NULL DEFAULT 0,
        counters      TEXT,
        PRIMARY KEY (node, ts_ns, kind)
    ) WITHOUT ROWID""",
    # vals: little-endian float32 array of n values (numpy.frombuffer(vals, '<f4')).
    f"""CREATE TABLE IF NOT EXISTS {T_FEATURES} (
        node          INTEGER NOT NULL,
        ts_ns         INTEGER NOT NULL,
        kind          TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        n             INTEGER NOT NULL,
        vals          BLOB NOT NULL,
        PRIMARY KEY (node, ts_ns, kind)
    ) WITHOUT ROWID""",
    # One row per RAW_CHUNK; a capture is all chunks with the same (node, capture_id).
    # data: little-endian samples in sample_format ('f32' or 'i16'), interleaved when channels > 1.
    f"""CREATE TABLE IF NOT EXISTS {T_RAW} (
        node          INTEGER NOT NULL,
        capture_id    INTEGER NOT NULL,
        chunk_index   INTEGER NOT NULL,
        ts_ns         INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        n_chunks      INTEGER,
        sample_rate   REAL,
        channels      INTEGER NOT NULL DEFAULT 1,
        sample_format TEXT NOT NULL,
        scale         REAL NOT NULL DEFAULT 1.0,
        data          BLOB NOT NULL,
        PRIMARY KEY (node, capture_id, chunk_index)
    ) WITHOUT ROWID""",
    f"CREATE INDEX IF NOT EXISTS raw_by_time ON {T_RAW} (node, ts_ns)",
    # One row per diagnosed raw capture (gateway/diagnoser.py, docs/diagnostics.md): the top finding and the
    # whole diagnosis as JSON; fault NULL with error set when the capture could not be diagnosed.
    f"""CREATE TABLE IF NOT EXISTS {T_DIAGNOSES} (
        node        INTEGER NOT NULL,
        ts_ns       INTEGER NOT NULL,
        capture_id  INTEGER NOT NULL,
        machine     TEXT,
        fault       TEXT,
        confidence  REAL,
        summary     TEXT,
        rpm         REAL,
        diagnosis   TEXT,
        error       TEXT,
        PRIMARY KEY (node, ts_ns, capture_id)
    ) WITHOUT ROWID""",
)


#: Columns added after version 1 shipped (additive, nullable): ``init_schema`` adds them to older files.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    (T_NODES, "site", "TEXT"),  # MQTT fleet: the publishing gateway's site and name (vibsentry collect)
    (T_NODES, "gateway", "TEXT"),
    # The rate (Hz) announced in the node's newest HELLO and that HELLO's ts_ns: the dashboard turns seconds
    # into samples with it (dashboard/raw_request.py). 0.0 when that HELLO announced no usable rate.
    (T_NODES, "sample_rate_hz", "REAL"),
    (T_NODES, "sample_rate_ns", "INTEGER"),
)


def rollup_bucket(ts_ns: int) -> int:
    """Start of the ``scores_1m`` bucket holding ``ts_ns`` (both UTC nanoseconds)."""
    return ts_ns - (ts_ns % ROLLUP_NS)
