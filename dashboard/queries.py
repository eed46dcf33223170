"""Every query and computation behind the dashboard, importable and tested without Streamlit.

The Streamlit script (``dashboard/app.py``) only lays out widgets; it calls the functions here through
:mod:`vibsentry.dashboard.ui`, which caches the data source as a resource and the query results for a few
seconds. Two sources implement the same methods:

- :class:`SqliteSource` reads the gateway's embedded store (schema: ``docs/storage.md``,
  ``vibsentry.dashboard.store.schema``), the default;
- :class:`InfluxSource` reads InfluxDB through InfluxQL on ``/query``, which 1.x, 2.x (with a DBRP mapping)
  and 3.x all serve.

Long windows are downsampled by the database, never in Python: a trend query returns at most
``max_points`` rows whatever the window (one week of one-second scores is 604,800 rows; the dashboard gets
at most a few hundred). Times are UTC nanoseconds in, ``pandas`` ``datetime64[ns, UTC]`` columns out.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from vibsentry.dashboard.store.records import finite_or_none
from vibsentry.dashboard.store.schema import T_DIAGNOSES
from vibsentry.diagnostics.iso10816 import DEFAULT_GROUP, ZoneLimits, load_groups, zone_of
from vibsentry.errors import StoreError, UsageError

#: Node status values, in order of severity.
STATUSES: tuple[str, ...] = ("ok", "warning", "alarm", "offline")

#: Windows longer than this read the per-minute rollup instead of raw scores.
RAW_WINDOW_NS = 6 * 3600 * 1_000_000_000

#: Default maximum number of points a trend query returns.
MAX_POINTS = 600

#: Columns of :meth:`SqliteSource.diagnoses` (``fault`` is None for a capture the gateway could not diagnose).
DIAGNOSIS_COLUMNS: tuple[str, ...] = (
    "node",
    "ts_ns",
    "capture_id",
    "fault",
    "confidence",
    "summary",
    "error",
)
#: Keys of :meth:`SqliteSource.diagnosis`: one stored row, ``diagnosis`` the ``vibsentry diagnose --json`` text.
DIAGNOSIS_ROW: tuple[str, ...] = (
    "node", "ts_ns", "capture_id", "machine", "fault", "confidence", "summary", "rpm", "diagnosis", "error",
)  # fmt: skip

FLEET_COLUMNS: tuple[str, ...] = (
    "node",
    "machine",
    "status",
    "last_score",
    "threshold",
    "score_ratio",
    "alarm_state",
    "velocity_rms",
    "iso_group",
    "iso_zone",
    "last_seen",
    "age_s",
    "fw_version",
    "model_hash",
    "feature_hash",
    "hash_mismatch",
    "site",
    "gateway",
)
#: Columns of :meth:`Source.nodes` (the ``nodes`` table of the SQLite store). ``sample_rate_hz`` is the rate
#: (Hz) announced in the node's newest HELLO (0.0: that HELLO announced no usable rate; NaN/None: no HELLO
#: stored since stores kept it) and ``sample_rate_ns`` that HELLO's time (UTC ns).
NODE_COLUMNS: tuple[str, ...] = (
    "node", "machine", "fw_version", "feature_hash", "model_hash", "hash_mismatch", "last_seen_ns",
    "last_score", "last_threshold", "last_alarm_state", "last_velocity_rms", "site", "gateway",
    "sample_rate_hz", "sample_rate_ns",
)  # fmt: skip
TREND_COLUMNS: tuple[str, ...] = (
    "time",
    "score",
    "score_max",
    "threshold",
    "alarm",
    "velocity_rms",
    "rms",
    "n",
)
ALARM_COLUMNS: tuple[str, ...] = (
    "node",
    "machine",
    "raised",
    "cleared",
    "duration_s",
    "score",
    "threshold",
    "raise_ts_ns",
    "acknowledged",
    "ack_note",
)


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard judges nodes.

    Parameters
    ----------
    offline_after_s : float
        A node not heard from for this many seconds is shown offline.
    machine_groups : mapping of str to str
        Machine name (or ``"node:<id>"``) -> ISO 10816 group name; others use ``default_group``.
    default_group : str
        ISO 10816 group of machines not listed in ``machine_groups``.
    iso_groups : mapping of str to sequence of float
        Extra or overridden ISO 10816 groups: name -> ``[A/B, B/C, C/D]`` in mm/s.
    """

    offline_after_s: float = 30.0
    machine_groups: Mapping[str, str] = field(default_factory=dict)
    default_group: str = DEFAULT_GROUP
    iso_groups: Mapping[str, Sequence[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.offline_after_s, bool) or not (
            isinstance(self.offline_after_s, (int, float)) and self.offline_after_s > 0
        ):
            raise UsageError(f"dashboard offline_after_s={self.offline_after_s!r}: must be a positive number")
        groups = self.groups()
        for key, grp in {**self.machine_groups, "default_group": self.default_group}.items():
            if grp not in groups:
                raise UsageError(
                    f"dashboard machine group {key}={grp!r}: unknown; known: {', '.join(sorted(groups))}"
                )

    def groups(self) -> dict[str, ZoneLimits]:
        """All ISO groups (defaults plus configured)."""
        return load_groups(self.iso_groups)

    def group_of(self, machine: str | None, node: int) -> str:
        """ISO 10816 group name of a machine (by name, then by ``node:<id>``, then the default)."""
        if machine and machine in self.machine_groups:
            return self.machine_groups[machine]
        return self.machine_groups.get(f"node:{node}", self.default_group)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DashboardConfig:
        """Build from a ``[dashboard]`` TOML table (keys as the fields; unknown keys are an error)."""
        known = {"offline_after_s", "machine_groups", "default_group", "iso_groups"}
        extra = set(data) - known
        if extra:
            raise UsageError(f"dashboard config: unknown key(s) {sorted(extra)!r}; known: {sorted(known)}")
        return cls(**{k: data[k] for k in known if k in data})


def ns_to_time(values: Any) -> pd.Series:
    """UTC nanoseconds (array-like of int) -> ``datetime64[ns, UTC]`` series."""
    return pd.to_datetime(pd.Series(values, dtype="int64"), unit="ns", utc=True)


def bucket_ns(start_ns: int, end_ns: int, max_points: int, *, minimum_ns: int = 1_000_000_000) -> int:
    """Bucket width so that ``[start_ns, end_ns)`` splits into at most ``max_points`` buckets.

    Parameters
    ----------
    start_ns, end_ns : int
        Window, UTC nanoseconds; ``end_ns > start_ns``.
    max_points : int
        Upper bound on the number of buckets (>= 1).
    minimum_ns : int
        Smallest bucket (default one second, the finest the dashboard shows).

    Returns
    -------
    int
        Bucket width in nanoseconds, a whole multiple of ``minimum_ns``.
    """
    if end_ns <= start_ns:
        raise UsageError(f"time window [{start_ns}, {end_ns}) is empty: the end must be after the start")
    if max_points < 1:
        raise UsageError(f"max_points={max_points!r}: must be at least 1")
    width = math.ceil((end_ns - start_ns) / max_points)
    return max(minimum_ns, math.ceil(width / minimum_ns) * minimum_ns)


class Source(Protocol):
    """What the dashboard reads (and the one thing it writes: alarm acknowledgements)."""

    def describe(self) -> str: ...

    def nodes(self) -> pd.DataFrame: ...

    def trend(self, node: int, start_ns: int, end_ns: int, max_points: int = MAX_POINTS) -> pd.DataFrame: ...

    def alarms(self, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame: ...

    def acknowledge(self, node: int, raise_ts_ns: int, note: str) -> None: ...

    def latest_features(self, node: int) -> tuple[int, str, np.ndarray] | None: ...

    def raw_captures(self, node: int, start_ns: int, end_ns: int) -> pd.DataFrame: ...

    def raw_capture(self, node: int, capture_id: int) -> tuple[np.ndarray, float | None, int]: ...

    def scores(self, node: int, start_ns: int, end_ns: int) -> pd.DataFrame: ...

    def diagnoses(self, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame: ...

    def diagnosis(self, node: int, capture_id: int, near_ns: int) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------------------------- SQLite


class SqliteSource:
    """Reads the gateway's SQLite store; writes only ``alarms.ack_ns`` / ``alarms.ack_note``.

    Parameters
    ----------
    path : str or path-like
        The store file (the gateway creates it; WAL mode lets the dashboard read while the gateway writes).

    Notes
    -----
    One connection shared by every Streamlit session thread, serialised by a lock: queries take
    milliseconds, and one connection keeps SQLite's page cache warm across reruns.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise StoreError(
                f"SQLite store {str(self.path)!r} does not exist (start 'vibsentry ingest' first)"
            )
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
            self._db.execute("PRAGMA query_only = 0")
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a readable SQLite store ({exc})") from None
        missing = {"nodes", "scores", "alarms"} - tables
        if missing:
            raise StoreError(f"{self.path}: not a vibsentry store (missing tables {sorted(missing)!r})")
        self._check_schema(tables)
        self._has_rollup = "scores_1m" in tables
        self._lock = threading.Lock()

    def _check_schema(self, tables: set[str]) -> None:
        """Refuse a store written by a newer gateway: its tables may mean something this code cannot read."""
        from vibsentry.dashboard.store.schema import SCHEMA_VERSION

        row = (
            self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if "meta" in tables
            else None
        )
        value = row[0] if row else SCHEMA_VERSION
        try:
            version = int(value)
        except (TypeError, ValueError):
            raise StoreError(f"{self.path}: schema_version {value!r} is not a number") from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema_version {version} is newer than this dashboard reads "
                f"({SCHEMA_VERSION}); upgrade vibsentry"
            )

    def describe(self) -> str:
        """Human-readable name of the source."""
        return f"SQLite {self.path}"

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: query failed ({exc})") from None

    def nodes(self) -> pd.DataFrame:
        """One row per node, columns :data:`NODE_COLUMNS`."""
        cols = list(NODE_COLUMNS)
        have = {r[1] for r in self._query("PRAGMA table_info(nodes)")}
        # site/gateway (MQTT fleets) and sample_rate_* (HELLO's rate) were added to the store later: NULL in
        # a file no newer writer opened.
        sel = [c if c in have else f"NULL AS {c}" for c in cols]
        rows = self._query(f"SELECT {', '.join(sel)} FROM nodes ORDER BY node")
        return pd.DataFrame(rows, columns=cols)

    def trend(self, node: int, start_ns: int, end_ns: int, max_points: int = MAX_POINTS) -> pd.DataFrame:
        """Score, threshold, alarm state, velocity and RMS of one node, downsampled by SQLite.

        Parameters
        ----------
        node : int
            Node id.
        start_ns, end_ns : int
            Window ``[start_ns, end_ns)``, UTC nanoseconds.
        max_points : int
            At most this many rows come back: buckets of :func:`bucket_ns` width, grouped in SQL.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`TREND_COLUMNS`; ``score`` is the bucket mean, ``score_max`` the maximum,
            ``alarm`` 1 when any score in the bucket had the node in ALARM, ``n`` the scores per bucket.
        """
        long_window = end_ns - start_ns > RAW_WINDOW_NS and self._has_rollup
        b = bucket_ns(
            start_ns, end_ns, max_points, minimum_ns=60_000_000_000 if long_window else 1_000_000_000
        )
        if long_window:
            sql = """SELECT (bucket_ns / :b) * :b AS t, sum(score_sum) / sum(n), max(score_max), max(threshold),
                            max(alarm_max), sum(velocity_sum) / sum(n), max(rms_max), sum(n)
                     FROM scores_1m WHERE node = :node AND bucket_ns >= :s AND bucket_ns < :e
                     GROUP BY t ORDER BY t"""
        else:
            sql = """SELECT (ts_ns / :b) * :b AS t, avg(score), max(score), max(threshold), max(alarm_state),
                            avg(velocity_rms), max(rms), count(score)
                     FROM scores WHERE node = :node AND ts_ns >= :s AND ts_ns < :e
                     GROUP BY t ORDER BY t"""
        # The rollup bucket holding start_ns begins before it; include it so no score at the edge is lost.
        s = int(start_ns) - int(start_ns) % 60_000_000_000 if long_window else int(start_ns)
        rows = self._query(sql, {"b": b, "node": int(node), "s": s, "e": int(end_ns)})
        df = pd.DataFrame(rows, columns=list(TREND_COLUMNS))
        df["time"] = ns_to_time(df["time"])
        return df

    def alarms(self, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame:
        """Alarm episodes overlapping ``[start_ns, end_ns)``.

        An episode starts at a raise and ends at the node's next clear, or at its next raise: a node that
        reboots while in alarm raises again without clearing, and its old episode must not stay open forever.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`ALARM_COLUMNS`, newest first; ``cleared`` is NaT and ``duration_s`` runs to now
            while an alarm is still up.
        """
        sql = """SELECT a.node, n.machine, a.ts_ns,
                        (SELECT min(c.ts_ns) FROM alarms c
                          WHERE c.node = a.node AND c.event IN (1, 2) AND c.ts_ns > a.ts_ns) AS clear_ns,
                        a.score, a.threshold, a.ack_ns, a.ack_note
                 FROM alarms a LEFT JOIN nodes n ON n.node = a.node
                 WHERE a.event = 1 AND a.ts_ns < :e AND (:node IS NULL OR a.node = :node)
                   AND coalesce((SELECT min(c.ts_ns) FROM alarms c
                                  WHERE c.node = a.node AND c.event IN (1, 2) AND c.ts_ns > a.ts_ns), :e) >= :s
                 ORDER BY a.ts_ns DESC"""
        rows = self._query(
            sql, {"s": int(start_ns), "e": int(end_ns), "node": None if node is None else int(node)}
        )
        return _alarm_frame(rows)

    def acknowledge(self, node: int, raise_ts_ns: int, note: str) -> None:
        """Store an acknowledgement (time now, note) on the raise event of ``node`` at ``raise_ts_ns``."""
        note = note.strip()
        with self._lock:
            try:
                cur = self._db.execute(
                    "UPDATE alarms SET ack_ns = ?, ack_note = ? WHERE node = ? AND ts_ns = ? AND event = 1",
                    (time.time_ns(), note, int(node), int(raise_ts_ns)),
                )
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: cannot store acknowledgement ({exc})") from None
        if cur.rowcount != 1:
            raise StoreError(f"no alarm raised by node {node} at ts_ns={raise_ts_ns} in {self.path}")

    def latest_features(self, node: int) -> tuple[int, str, np.ndarray] | None:
        """Newest FEATURES message of ``node``: ``(ts_ns, kind, float32 values)``, or None."""
        rows = self._query(
            "SELECT ts_ns, kind, vals FROM features WHERE node = ? ORDER BY ts_ns DESC LIMIT 1", (int(node),)
        )
        if not rows:
            return None
        ts, kind, blob = rows[0]
        return int(ts), str(kind), np.frombuffer(blob, dtype="<f4").astype(np.float32)

    def raw_captures(self, node: int, start_ns: int, end_ns: int) -> pd.DataFrame:
        """Raw captures of ``node`` that start in the window: capture_id, start, n_chunks, samples, rate."""
        rows = self._query(
            """SELECT capture_id, min(ts_ns), count(*), max(n_chunks), max(sample_rate), max(channels),
                      sum(length(data) / CASE sample_format WHEN 'i16' THEN 2 ELSE 4 END)
               FROM raw_chunks WHERE node = ? GROUP BY capture_id
               HAVING min(ts_ns) >= ? AND min(ts_ns) < ? ORDER BY min(ts_ns)""",
            (int(node), int(start_ns), int(end_ns)),
        )
        cols = ["capture_id", "start_ns", "chunks", "n_chunks", "sample_rate", "channels", "values"]
        return pd.DataFrame(rows, columns=cols)

    def raw_capture(self, node: int, capture_id: int) -> tuple[np.ndarray, float | None, int]:
        """Samples of one capture as float32 ``(n_samples, channels)``, its rate in Hz, and missing chunks."""
        rows = self._query(
            """SELECT chunk_index, n_chunks, sample_rate, channels, sample_format, scale, data FROM raw_chunks
               WHERE node = ? AND capture_id = ? ORDER BY chunk_index""",
            (int(node), int(capture_id)),
        )
        if not rows:
            raise StoreError(f"no raw capture {capture_id} from node {node} in {self.path}")
        check_raw_chunks(node, capture_id, [r[1] for r in rows], [r[5] for r in rows], self.path)
        parts = []
        for _idx, _n, _fs, _ch, fmt, scale, data in rows:
            dtype = "<i2" if fmt == "i16" else "<f4"
            parts.append(np.frombuffer(data, dtype=dtype).astype(np.float32) * np.float32(scale))
        channels = int(rows[0][3] or 1)
        samples = np.concatenate(parts)
        samples = samples[: samples.size - samples.size % channels].reshape(-1, channels)
        expected = rows[0][1]
        missing = 0 if expected is None else max(0, int(expected) - len(rows))
        rate = rows[0][2]
        return samples, (float(rate) if rate else None), missing

    def scores(self, node: int, start_ns: int, end_ns: int) -> pd.DataFrame:
        """Every score of ``node`` in the window (for export, not for charts): time, ts_ns, seq, score,
        threshold, alarm_state, velocity_rms, rms."""
        rows = self._query(
            """SELECT ts_ns, seq, score, threshold, alarm_state, velocity_rms, rms FROM scores
               WHERE node = ? AND ts_ns >= ? AND ts_ns < ? ORDER BY ts_ns""",
            (int(node), int(start_ns), int(end_ns)),
        )
        df = pd.DataFrame(
            rows, columns=["ts_ns", "seq", "score", "threshold", "alarm_state", "velocity_rms", "rms"]
        )
        df.insert(0, "time", ns_to_time(df["ts_ns"]))
        return df

    def _has_diagnoses(self) -> bool:
        # The gateway's diagnosis sink adds the table (additive); a store written without it has none.
        return bool(
            self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (T_DIAGNOSES,))
        )

    def diagnoses(self, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame:
        """Diagnoses the gateway stored for captures starting in the window (:data:`DIAGNOSIS_COLUMNS`),
        oldest first; empty for a store without the ``diagnoses`` table."""
        if not self._has_diagnoses():
            return pd.DataFrame(columns=list(DIAGNOSIS_COLUMNS))
        where = "ts_ns >= ? AND ts_ns < ?" + ("" if node is None else " AND node = ?")
        params: list[Any] = [int(start_ns), int(end_ns)] + ([] if node is None else [int(node)])
        rows = self._query(
            f"SELECT {', '.join(DIAGNOSIS_COLUMNS)} FROM {T_DIAGNOSES} WHERE {where} ORDER BY ts_ns", params
        )
        return pd.DataFrame(rows, columns=list(DIAGNOSIS_COLUMNS))

    def diagnosis(self, node: int, capture_id: int, near_ns: int) -> dict[str, Any] | None:
        """The stored diagnosis of one capture (:data:`DIAGNOSIS_ROW` keys, ``diagnosis`` the JSON text), or
        None. A node that restarts its capture counter reuses ids: the row nearest ``near_ns`` (the capture's
        first chunk) is the one."""
        if not self._has_diagnoses():
            return None
        rows = self._query(
            f"SELECT {', '.join(DIAGNOSIS_ROW)} FROM {T_DIAGNOSES} WHERE node = ? AND capture_id = ? "
            "ORDER BY abs(ts_ns - ?) LIMIT 1",
            (int(node), int(capture_id), int(near_ns)),
        )
        return dict(zip(DIAGNOSIS_ROW, rows[0], strict=True)) if rows else None


def check_raw_chunks(
    node: int, capture_id: int, n_chunks: Sequence[Any], scales: Sequence[Any], where: object
) -> None:
    """Refuse a raw capture whose chunks disagree on the chunk count or carry an unusable scale.

    The store keeps what the node sent (a scale of 0, infinity or NaN is stored as 0, see ``docs/storage.md``);
    turning such samples into g would silently produce a wrong recording.
    """
    counts = sorted({int(n) for n in n_chunks if n is not None})
    if len(counts) > 1:
        raise StoreError(
            f"raw capture {capture_id} of node {node} in {where}: its chunks disagree on the chunk count "
            f"({', '.join(map(str, counts))})"
        )
    bad = sorted({repr(s) for s in scales if s is None or not math.isfinite(float(s)) or float(s) == 0.0})
    if bad:
        raise StoreError(
            f"raw capture {capture_id} of node {node} in {where}: scale {', '.join(bad)} g/LSB is not usable "
            "(the node sent 0, infinity or NaN)"
        )


def _alarm_frame(rows: Sequence[Sequence[Any]], now_ns: int | None = None) -> pd.DataFrame:
    now = time.time_ns() if now_ns is None else now_ns
    raw = pd.DataFrame(
        rows,
        columns=["node", "machine", "raise_ts_ns", "clear_ns", "score", "threshold", "ack_ns", "ack_note"],
    )
    out = pd.DataFrame(
        {
            "node": raw["node"].astype("int64"),
            "machine": raw["machine"],
            "raised": ns_to_time(raw["raise_ts_ns"]),
            "cleared": pd.to_datetime(raw["clear_ns"].astype("float64"), unit="ns", utc=True),
            "duration_s": (
                raw["clear_ns"].fillna(now).astype("float64") - raw["raise_ts_ns"].astype("float64")
            )
            / 1e9,
            "score": raw["score"].astype("float64"),
            "threshold": raw["threshold"].astype("float64"),
            "raise_ts_ns": raw["raise_ts_ns"].astype("int64"),
            "acknowledged": raw["ack_ns"].notna(),
            "ack_note": raw["ack_note"].fillna(""),
        }
    )
    return out[list(ALARM_COLUMNS)]


# --------------------------------------------------------------------------------------------- views


def fleet(
    source: Source, config: DashboardConfig | None = None, *, now_ns: int | None = None
) -> pd.DataFrame:
    """The fleet overview: one row per node with its status and ISO 10816 zone.

    Status, in order of precedence: ``offline`` (not heard from for ``offline_after_s``), ``alarm`` (the
    node's alarm rule is in ALARM), ``warning`` (last score above threshold, or velocity in ISO zone C/D),
    else ``ok``.

    Parameters
    ----------
    source : Source
        Where to read.
    config : DashboardConfig, optional
        Offline timeout and ISO groups.
    now_ns : int, optional
        Current time, UTC nanoseconds (default: the clock).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FLEET_COLUMNS`, ordered by severity then node.
    """
    cfg = config or DashboardConfig()
    now = time.time_ns() if now_ns is None else now_ns
    groups = cfg.groups()
    nodes = source.nodes()
    out = []
    for r in nodes.itertuples(index=False):
        grp = cfg.group_of(r.machine, int(r.node))
        zone = zone_of(finite_or_none(r.last_velocity_rms), groups[grp])
        # Node clocks map to wall time through the gateway's boot epoch: a few ms ahead is not 'the future'.
        age_s = max(0.0, (now - int(r.last_seen_ns)) / 1e9)
        score, thr = finite_or_none(r.last_score), finite_or_none(r.last_threshold)
        # A node that has sent HELLO/STATUS but no SCORE yet has NULL score columns; pandas makes them NaN
        # as soon as another node has numbers, and NaN is truthy, so every column goes through finite_or_none.
        alarm_state = int(finite_or_none(r.last_alarm_state) or 0)
        above = score is not None and thr is not None and score > thr
        if age_s > cfg.offline_after_s:
            status = "offline"
        elif alarm_state == 1:
            status = "alarm"
        elif above or zone in ("C", "D"):
            status = "warning"
        else:
            status = "ok"
        out.append(
            {
                "node": int(r.node),
                "machine": r.machine if isinstance(r.machine, str) and r.machine else f"node {int(r.node)}",
                "status": status,
                "last_score": score,
                "threshold": thr,
                "score_ratio": score / thr if score is not None and thr else None,
                "alarm_state": alarm_state,
                "velocity_rms": finite_or_none(r.last_velocity_rms),
                "iso_group": grp,
                "iso_zone": zone,
                "last_seen": pd.Timestamp(int(r.last_seen_ns), unit="ns", tz="UTC"),
                "age_s": age_s,
                "fw_version": r.fw_version,
                "model_hash": r.model_hash,
                "feature_hash": r.feature_hash,
                "hash_mismatch": bool(r.hash_mismatch),
                "site": r.site if isinstance(r.site, str) and r.site else None,
                "gateway": r.gateway if isinstance(r.gateway, str) and r.gateway else None,
            }
        )
    df = pd.DataFrame(out, columns=list(FLEET_COLUMNS))
    if len(df):
        order = {"alarm": 0, "warning": 1, "offline": 2, "ok": 3}
        df = df.sort_values(
            ["status", "site", "gateway", "node"],
            key=lambda c: c.map(order) if c.name == "status" else c,
            na_position="first",
        )
    return df.reset_index(drop=True)


def fleet_by_origin(fleet_df: pd.DataFrame) -> pd.DataFrame:
    """Nodes per (site, gateway) and status: the plant view of an MQTT fleet (``docs/mqtt.md``).

    Returns one row per site and gateway (``"local"`` for nodes a gateway stored itself) with the columns
    ``site``, ``gateway``, ``nodes`` and one count per status, worst first.
    """
    cols = ["site", "gateway", "nodes", *STATUSES]
    if not len(fleet_df):
        return pd.DataFrame(columns=cols)
    df = fleet_df.assign(site=fleet_df["site"].fillna("local"), gateway=fleet_df["gateway"].fillna("local"))
    counts = pd.crosstab([df["site"], df["gateway"]], df["status"]).reindex(
        columns=list(STATUSES), fill_value=0
    )
    counts.insert(0, "nodes", counts.sum(axis=1))
    out = counts.reset_index().sort_values(["alarm", "warning", "offline", "site", "gateway"],
                                           ascending=[False, False, False, True, True])  # fmt: skip
    return out[cols].reset_index(drop=True)


def fleet_summary(fleet_df: pd.DataFrame) -> dict[str, int]:
    """Count of nodes per status (every status present, zero when none)."""
    counts = fleet_df["status"].value_counts() if len(fleet_df) else pd.Series(dtype="int64")
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def alarm_periods(alarms_df: pd.DataFrame, start_ns: int, end_ns: int) -> pd.DataFrame:
    """Alarm episodes clipped to the window, for shading a chart: columns ``start``, ``end``.

    An episode still open ends at ``end_ns``.
    """
    if alarms_df.empty:
        return pd.DataFrame(
            {"start": pd.Series(dtype="datetime64[ns, UTC]"), "end": pd.Series(dtype="datetime64[ns, UTC]")}
        )
    lo = pd.Timestamp(start_ns, unit="ns", tz="UTC")
    hi = pd.Timestamp(end_ns, unit="ns", tz="UTC")
    start = alarms_df["raised"].clip(lower=lo)
    end = alarms_df["cleared"].fillna(hi).clip(upper=hi)
    return pd.DataFrame({"start": start, "end": end}).reset_index(drop=True)


def feature_table(values: np.ndarray, names: Sequence[str] | None = None, *, kind: str = "") -> pd.DataFrame:
    """FEATURES vector -> ``feature``, ``group``, ``value`` rows, for the spectrum view.

    Parameters
    ----------
    values : ndarray, shape (n,)
        One FEATURES message's values.
    names : sequence of str, optional
        Feature names. Default: the FeatureParams feature names when ``n`` is the full vector, else
        ``<kind>_00`` .. (a node sends one group, e.g. its 32 log-mel bands, as kind ``logmel``).
    kind : str
        The message's kind (``logmel``, ``band_rms``, ...), used to name a partial vector.
    """
    if names is None:
        from vibsentry.dsp import FeatureParams

        names = FeatureParams().feature_names
    if len(names) != values.size:
        names = [f"{kind or 'band'}_{i:02d}" for i in range(values.size)]
    groups = [n.rsplit("_", 1)[0] if n.rsplit("_", 1)[-1].isdigit() else "stats" for n in names]
    return pd.DataFrame(
        {
            "feature": list(names),
            "group": groups,
            "value": values.astype("float64"),
            "centre_hz": band_centres_hz(names),
        }
    )


def band_centres_hz(names: Sequence[str], params: Any = None) -> np.ndarray:
    """Centre frequency in Hz of each ``logmel_NN`` / ``band_rms_NN`` feature (NaN for the others).

    Log-mel centres are the mel-spaced filter peaks of ``docs/features.md`` (``n_mels + 2`` points evenly
    spaced in mel between ``fmin`` and ``fmax``, the inner ones); linear bands are ``n_bands`` equal widths.
    ``params`` defaults to the default FeatureParams (what the nodes run unless a bundle says otherwise).
    """
    from vibsentry.dsp import FeatureParams
    from vibsentry.dsp.mel import hz_to_mel, mel_to_hz

    p = params if params is not None else FeatureParams()
    fmax = float(p.fmax if p.fmax is not None else p.sample_rate / 2)
    mel = mel_to_hz(np.linspace(hz_to_mel(p.fmin), hz_to_mel(fmax), p.n_mels + 2))[1:-1]
    lin = p.fmin + (np.arange(p.n_bands) + 0.5) * (fmax - p.fmin) / p.n_bands
    out = np.full(len(names), np.nan)
    for i, name in enumerate(names):
        group, _, idx = name.rpartition("_")
        if idx.isdigit():
            table = mel if group == "logmel" else lin if group == "band_rms" else None
            if table is not None and int(idx) < table.size:
                out[i] = table[int(idx)]
    return out


def open_source(spec: str, **influx: Any) -> Source:
    """Open a data source from a ``--store`` spec: ``sqlite:PATH`` or a plain path, or ``influx`` options.

    Parameters
    ----------
    spec : str
        ``sqlite:PATH``, a path to a SQLite store, or ``influx`` (then ``influx`` keyword options apply:
        ``url``, ``database``, ``username``, ``password``, ``token``, ``org``, ``verify_ssl``).
    """
    if spec == "influx":
        from vibsentry.dashboard.influx_read import InfluxSource

        return InfluxSource(**influx)
    path = spec[len("sqlite:") :] if spec.startswith("sqlite:") else spec
    if not path:
        raise UsageError(f"--store {spec!r}: expected sqlite:PATH")
    return SqliteSource(path)
