"""The embedded SQLite store (the default): one WAL-mode file the dashboard reads while the gateway writes."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.dashboard.store import schema as S
from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import (
    KINDS,
    STATUS_KINDS,
    Record,
    announced_rate,
    finite_or_none,
    raw_scale,
)
from vibsentry.errors import StoreError, StoreRejected

#: Where ``vibsentry ingest`` keeps its SQLite store unless told otherwise.
DEFAULT_PATH = Path(S.DEFAULT_PATH)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "full" in text.lower():
        return f"disk full ({text})"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disk full"
    return text


def init_schema(conn: sqlite3.Connection) -> None:
    """Create every table, index and trigger of :mod:`schema` (idempotent) and check the schema version."""
    with conn:
        for stmt in S.DDL:
            conn.execute(stmt)
        for table, column, decl in S.ADDED_COLUMNS:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        row = conn.execute(f"SELECT value FROM {S.T_META} WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                f"INSERT INTO {S.T_META} (key, value) VALUES ('schema_version', ?), ('created_ns', ?)",
                (str(S.SCHEMA_VERSION), str(time.time_ns())),
            )
        elif int(row[0]) != S.SCHEMA_VERSION:
            raise StoreError(f"store schema_version {row[0]!r} is not the supported {S.SCHEMA_VERSION}")


def connect_readonly(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open the store at ``path`` for reading (the dashboard's way in); WAL lets it read during writes.

    Raises :class:`StoreError` naming the path when the file does not exist or is not a vibsentry store.
    """
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"{p}: no SQLite store here (start 'vibsentry ingest' first)")
    try:
        conn = sqlite3.connect(
            f"{p.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0, check_same_thread=False
        )
        conn.execute(f"SELECT value FROM {S.T_META} WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{p}: not a vibsentry SQLite store ({exc})") from None
    return conn


#: Node-table fields a status-kind record may carry; a later record without one keeps the earlier value.
_NODE_FIELDS = ("fw_version", "feature_hash", "model_hash", "boot_epoch_ns", "machine")


def _merge_status(prev: Record | None, r: Record) -> Record:
    """The newest status-kind record of a node in a batch, with the node fields older ones carried.

    A HELLO (firmware version, hashes) is followed within the same batch by STATUS and HEALTH records that
    carry none of them; keeping only the newest record would leave the node's firmware version unset.
    """
    if prev is None:
        return r
    new, old = (r, prev) if r.ts_ns >= prev.ts_ns else (prev, r)
    fields = dict(new.fields)
    for k in _NODE_FIELDS:
        if fields.get(k) is None and old.fields.get(k) is not None:
            fields[k] = old.fields[k]
    return dataclasses.replace(new, fields=fields)


class SQLiteStore(Store):
    """Store records in a SQLite file (WAL, ``synchronous=FULL``: a write returns once it is on disk).

    Parameters
    ----------
    path : path-like
        The database file; parent directories are created.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path)
        self.description = f"sqlite:{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            init_schema(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open SQLite store: {_describe(exc)}") from None

    def write(self, records: Sequence[Record]) -> None:
        """Insert ``records`` in one transaction; rows already present are left as they are.

        Raises :class:`StoreRejected` when a record cannot be stored whatever the retry (missing or
        malformed fields), :class:`StoreError` for everything else (disk full, I/O error, locked too long).
        """
        if not records:
            return
        try:
            rows, seen, last_score, last_status, last_hello = self._rows(records)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreRejected(
                f"{self.path}: malformed record in batch of {len(records)}: {exc!r}"
            ) from None
        self._commit(records, rows, seen, last_score, last_status, last_hello)

    def _rows(self, records: Sequence[Record]) -> tuple[
        dict[str, list[tuple[Any, ...]]], dict[int, list[Any]], dict[int, Record], dict[int, Record],
        dict[int, Record],
    ]:  # fmt: skip
        rows: dict[str, list[tuple[Any, ...]]] = {
            k: [] for k in ("score", "alarm", "status", "features", "raw")
        }
        seen: dict[int, list[Any]] = {}  # node -> [first, last, machine, port, site, gateway]
        last_score: dict[int, Record] = {}
        last_status: dict[int, Record] = {}
        last_hello: dict[int, Record] = {}  # newest HELLO per node: its rate, usable or not, is the one kept
        for r in records:
            f = r.fields
            s = seen.get(r.node)
            if s is None:
                seen[r.node] = [r.ts_ns, r.ts_ns, r.machine, r.port, r.site, r.gateway]
            else:
                s[0] = min(s[0], r.ts_ns)
                s[1] = max(s[1], r.ts_ns)
                s[2] = r.machine or s[2]
                s[3] = r.port or s[3]
                s[4] = r.site or s[4]
                s[5] = r.gateway or s[5]
            k = r.kind
            if k == "score":
                rows["score"].append(
                    (
                        r.node,
                        r.ts_ns,
                        r.seq,
                        finite_or_none(f["score"]),
                        finite_or_none(f.get("threshold")),
                        int(f.get("alarm_state", 0)),
                        f.get("cls"),
                        finite_or_none(f.get("rms")),
                        finite_or_none(f.get("peak")),
                        finite_or_none(f.get("velocity_rms")),
                        int(bool(f.get("hash_mismatch"))),
                    )
                )
                prev = last_score.get(r.node)
                if prev is None or r.ts_ns >= prev.ts_ns:
                    last_score[r.node] = r
            elif k == "alarm":
                rows["alarm"].append(
                    (
                        r.node,
                        r.ts_ns,
                        int(f["event"]),
                        r.seq,
                        finite_or_none(f.get("score")),
                        finite_or_none(f.get("threshold")),
                        int(bool(f.get("hash_mismatch"))),
                    )
                )
            elif k in STATUS_KINDS:
                rows["status"].append(
                    (
                        r.node,
                        r.ts_ns,
                        k,
                        r.seq,
                        f.get("uptime_ms"),
                        f.get("fw_version"),
                        f.get("feature_hash"),
                        f.get("model_hash"),
                        int(bool(f.get("hash_mismatch"))),
                        json.dumps(dict(f.get("counters") or {}), sort_keys=True),
                    )
                )
                last_status[r.node] = _merge_status(last_status.get(r.node), r)
                if k == "hello" and "sample_rate_hz" in f:
                    prev = last_hello.get(r.node)
                    if prev is None or r.ts_ns >= prev.ts_ns:
                        last_hello[r.node] = r
            elif k == "features":
                vals = np.asarray(f["values"], dtype="<f4")
                rows["features"].append(
                    (r.node, r.ts_ns, str(f["kind"]), r.seq, int(vals.size), vals.tobytes())
                )
            elif k == "raw":
                rows["raw"].append(
                    (
                        r.node,
                        int(f["capture_id"]),
                        int(f["chunk_index"]),
                        r.ts_ns,
                        r.seq,
                        f.get("n_chunks"),
                        finite_or_none(f.get("sample_rate")),
                        int(f.get("channels", 1)),
                        str(f.get("sample_format", "f32")),
                        raw_scale(f.get("scale", 1.0)),
                        bytes(f["data"]),
                    )
                )
            else:
                raise StoreRejected(f"record kind {k!r} is not one of {'/'.join(KINDS)}")
        return rows, seen, last_score, last_status, last_hello

    def _commit(
        self,
        records: Sequence[Record],
        rows: dict[str, list[tuple[Any, ...]]],
        seen: dict[int, list[Any]],
        last_score: dict[int, Record],
        last_status: dict[int, Record],
        last_hello: dict[int, Record],
    ) -> None:
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                if rows["score"]:
                    c.executemany(
                        f"INSERT OR IGNORE INTO {S.T_SCORES} VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows["score"]
                    )
                if rows["alarm"]:
                    c.executemany(
                        f"INSERT OR IGNORE INTO {S.T_ALARMS}"
                        " (node, ts_ns, event, seq, score, threshold, hash_mismatch) VALUES (?,?,?,?,?,?,?)",
                        rows["alarm"],
                    )
                if rows["status"]:
                    c.executemany(
                        f"INSERT OR IGNORE INTO {S.T_STATUS} VALUES (?,?,?,?,?,?,?,?,?,?)", rows["status"]
                    )
                if rows["features"]:
                    c.executemany(
                        f"INSERT OR IGNORE INTO {S.T_FEATURES} VALUES (?,?,?,?,?,?)", rows["features"]
                    )
                if rows["raw"]:
                    c.executemany(
                        f"INSERT OR IGNORE INTO {S.T_RAW} VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows["raw"]
                    )
                self._update_nodes(seen, last_score, last_status, last_hello)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        except (sqlite3.IntegrityError, sqlite3.InterfaceError, OverflowError) as exc:
            raise StoreRejected(f"{self.path}: records refused by the schema: {exc}") from None
        except (sqlite3.Error, OSError) as exc:
            why = _describe(exc)
            raise StoreError(f"{self.path}: write of {len(records)} records failed: {why}") from None

    def _update_nodes(
        self,
        seen: dict[int, list[Any]],
        last_score: dict[int, Record],
        last_status: dict[int, Record],
        last_hello: dict[int, Record],
    ) -> None:
        c = self._conn
        c.executemany(
            f"""INSERT INTO {S.T_NODES} (node, machine, port, first_seen_ns, last_seen_ns, site, gateway)
                VALUES (?,?,?,?,?,?,?)
                ON CONFLICT (node) DO UPDATE SET
                    machine = coalesce(excluded.machine, machine), port = coalesce(excluded.port, port),
                    site = coalesce(excluded.site, site), gateway = coalesce(excluded.gateway, gateway),
                    first_seen_ns = min(first_seen_ns, excluded.first_seen_ns),
                    last_seen_ns = max(last_seen_ns, excluded.last_seen_ns)""",
            [(n, m, p, a, b, si, gw) for n, (a, b, m, p, si, gw) in seen.items()],
        )
        c.executemany(
            f"""UPDATE {S.T_NODES} SET last_score_ns = ?, last_score = ?, last_threshold = ?,
                    last_alarm_state = ?, last_velocity_rms = ?
                WHERE node = ? AND coalesce(last_score_ns, -1) <= ?""",
            [
                (
                    r.ts_ns,
                    finite_or_none(r.fields["score"]),
                    finite_or_none(r.fields.get("threshold")),
                    int(r.fields.get("alarm_state", 0)),
                    finite_or_none(r.fields.get("velocity_rms")),
                    n,
                    r.ts_ns,
                )
                for n, r in last_score.items()
            ],
        )
        c.executemany(
            f"""UPDATE {S.T_NODES} SET last_status_ns = ?, fw_version = coalesce(?, fw_version),
                    feature_hash = coalesce(?, feature_hash), model_hash = coalesce(?, model_hash),
                    hash_mismatch = ?, boot_epoch_ns = coalesce(?, boot_epoch_ns),
                    machine = coalesce(?, machine)
                WHERE node = ? AND coalesce(last_status_ns, -1) <= ?""",
            [
                (
                    r.ts_ns,
                    r.fields.get("fw_version"),
                    r.fields.get("feature_hash"),
                    r.fields.get("model_hash"),
                    int(bool(r.fields.get("hash_mismatch"))),
                    r.fields.get("boot_epoch_ns"),
                    r.fields.get("machine"),
                    n,
                    r.ts_ns,
                )
                for n, r in last_status.items()
            ],
        )
        # Guarded by its own timestamp, not last_status_ns: a HELLO written after a newer STATUS (a late
        # batch) is still the newest HELLO, and only a newer HELLO may replace the rate it announced.
        c.executemany(
            f"""UPDATE {S.T_NODES} SET sample_rate_hz = ?, sample_rate_ns = ?
                WHERE node = ? AND coalesce(sample_rate_ns, -1) <= ?""",
            [
                (announced_rate(r.fields["sample_rate_hz"]), r.ts_ns, n, r.ts_ns)
                for n, r in last_hello.items()
            ],
        )

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        try:
            self._conn.close()
        except sqlite3.Error:
            pass
