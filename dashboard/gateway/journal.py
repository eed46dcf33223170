"""The gateway's durable journal: every decoded message is appended here before anything else happens to it.

A separate SQLite file (WAL). Rows are appended in batches, one transaction per batch; each store ("sink")
has a delivery cursor, the highest journal id it acknowledged. On restart everything above a sink's cursor
is delivered again; the store's idempotent keys make that safe. Delivered rows are deleted in the
background (``compact``) once every sink has passed them.

The journal also keeps each node's boot epoch and sequence state (table ``node_state``), written in the same
transaction as the messages, so a restarted gateway derives the same timestamps for the same boot.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vibsentry.dashboard.store.records import Record
from vibsentry.errors import StoreError

_DDL = (
    """CREATE TABLE IF NOT EXISTS messages (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        kind    TEXT NOT NULL,
        node    INTEGER NOT NULL,
        ts_ns   INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        port    TEXT,
        machine TEXT,
        fields  TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS cursors (sink TEXT PRIMARY KEY, delivered INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS node_state (
        node          INTEGER PRIMARY KEY,
        boot          INTEGER NOT NULL,
        boot_epoch_ns INTEGER NOT NULL,
        last_seq      INTEGER NOT NULL,
        last_time_ns  INTEGER NOT NULL,
        feature_hash  TEXT,
        hash_mismatch INTEGER NOT NULL DEFAULT 0
    )""",
    # CRC-valid frames the gateway could not store (absurd clock, values no store can hold). Kept, never
    # delivered, so an operator can look at what a misbehaving node sent.
    """CREATE TABLE IF NOT EXISTS quarantine (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        received_ns INTEGER NOT NULL,
        port        TEXT,
        node        INTEGER,
        seq         INTEGER,
        reason      TEXT NOT NULL,
        frame       TEXT NOT NULL
    )""",
)

#: ``synchronous`` settings the journal accepts; FULL survives power loss, NORMAL (in WAL) survives a crash
#: of the gateway but may lose the last transactions on power loss. benchmarks/bench_ingest_journal.py
#: measures both.
SYNC_MODES = ("FULL", "NORMAL")


@dataclass
class NodeState:
    """What the gateway remembers about one node's current boot (journaled with every batch)."""

    boot: int
    boot_epoch_ns: int
    last_seq: int
    last_time_ns: int
    feature_hash: str | None = None
    hash_mismatch: bool = False


def _encode_value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(v)).decode("ascii")}
    return v


def _decode_value(v: Any) -> Any:
    if isinstance(v, dict) and "$b64" in v and len(v) == 1:
        return base64.b64decode(v["$b64"])
    if isinstance(v, list):
        return tuple(v)
    return v


def encode_fields(fields: dict[str, Any] | Any) -> str:
    """Serialise a record's fields to compact JSON (bytes as base64, tuples as lists)."""
    return json.dumps({k: _encode_value(v) for k, v in fields.items()}, separators=(",", ":"))


def decode_fields(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_fields`."""
    return {k: _decode_value(v) for k, v in json.loads(text).items()}


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "full" in text or "no space" in text


class Journal:
    """Append-only message journal with per-sink delivery cursors.

    Parameters
    ----------
    path : path-like
        SQLite file of the journal (created with its parent directory).
    synchronous : {"FULL", "NORMAL"}
        SQLite ``synchronous`` pragma; FULL (the default) fsyncs every batch.

    Notes
    -----
    Thread safe: one connection guarded by a lock; appends from port readers and reads from deliverers
    interleave. A failed append (full disk, I/O error) raises :class:`StoreError` and leaves the journal as
    it was before the batch: nothing is half-written.
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL") -> None:
        sync = synchronous.upper()
        if sync not in SYNC_MODES:
            raise StoreError(f"journal synchronous={synchronous!r}: use one of {', '.join(SYNC_MODES)}")
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={sync}")
            for stmt in _DDL:
                self._conn.execute(stmt)
        except (sqlite3.Error, OSError) as exc:
            why = "disk full" if _is_disk_full(exc) else str(exc)
            raise StoreError(f"{self.path}: cannot open the journal: {why}") from None

    # -- writing ---------------------------------------------------------------------------------------
    def append(self, records: Sequence[Record], node_states: dict[int, NodeState] | None = None) -> int:
        """Append ``records`` and the updated ``node_states`` in one durable transaction.

        Returns the journal id of the last record appended (0 when ``records`` is empty). Raises
        :class:`StoreError` (message starts with the journal path, says "disk full" when it is) when the
        transaction cannot be committed; then nothing of the batch is in the journal.
        """
        rows = [
            (r.kind, r.node, r.ts_ns, r.seq, r.port, r.machine, encode_fields(dict(r.fields)))
            for r in records
        ]
        states = [
            (n, s.boot, s.boot_epoch_ns, s.last_seq, s.last_time_ns, s.feature_hash, int(s.hash_mismatch))
            for n, s in (node_states or {}).items()
        ]
        with self._lock:
            c = self._conn
            try:
                c.execute("BEGIN IMMEDIATE")
                try:
                    c.executemany(
                        "INSERT INTO messages (kind, node, ts_ns, seq, port, machine, fields)"
                        " VALUES (?,?,?,?,?,?,?)",
                        rows,
                    )
                    if states:
                        c.executemany("INSERT OR REPLACE INTO node_state VALUES (?,?,?,?,?,?,?)", states)
                    last = c.execute("SELECT max(id) FROM messages").fetchone()[0] or 0
                    c.execute("COMMIT")
                except BaseException:
                    if c.in_transaction:
                        c.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                why = "disk full, batch refused" if _is_disk_full(exc) else str(exc)
                raise StoreError(
                    f"{self.path}: journal append of {len(rows)} messages failed: {why}"
                ) from None
        return int(last) if rows else 0

    def quarantine(self, items: Sequence[tuple[int, str | None, int, int, str, str]]) -> None:
        """Keep frames that cannot be stored: ``(received_ns, port, node, seq, reason, frame_json)`` each.

        Raises :class:`StoreError` when the journal cannot take them (then nothing of ``items`` is kept).
        """
        if not items:
            return
        with self._lock:
            c = self._conn
            try:
                c.execute("BEGIN IMMEDIATE")
                try:
                    c.executemany(
                        "INSERT INTO quarantine (received_ns, port, node, seq, reason, frame)"
                        " VALUES (?,?,?,?,?,?)",
                        items,
                    )
                    c.execute("COMMIT")
                except BaseException:
                    if c.in_transaction:
                        c.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                why = "disk full" if _is_disk_full(exc) else str(exc)
                raise StoreError(f"{self.path}: cannot quarantine {len(items)} frames: {why}") from None

    def quarantined(self) -> list[dict[str, Any]]:
        """Every quarantined frame, oldest first, as dicts (``id, received_ns, port, node, seq, reason, frame``)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, received_ns, port, node, seq, reason, frame FROM quarantine ORDER BY id"
            ).fetchall()
        keys = ("id", "received_ns", "port", "node", "seq", "reason", "frame")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- reading / delivery ----------------------------------------------------------------------------
    def cursor(self, sink: str) -> int:
        """Highest journal id ``sink`` has acknowledged (0 when it never did)."""
        with self._lock:
            row = self._conn.execute("SELECT delivered FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return int(row[0]) if row else 0

    def pending(self, sink: str, *, limit: int = 1000) -> list[tuple[int, Record]]:
        """Up to ``limit`` journaled records above ``sink``'s cursor, oldest first, with their journal ids."""
        after = self.cursor(sink)
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, kind, node, ts_ns, seq, port, machine, fields FROM messages WHERE id > ? "
                "ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            (i, Record(kind=k, node=n, ts_ns=t, seq=s, fields=decode_fields(f), machine=m, port=p))
            for i, k, n, t, s, p, m, f in rows
        ]

    def mark_delivered(self, sink: str, upto: int) -> None:
        """Record that ``sink`` acknowledged every journal id ``<= upto``."""
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO cursors (sink, delivered) VALUES (?, ?) "
                    "ON CONFLICT (sink) DO UPDATE SET delivered = max(delivered, excluded.delivered)",
                    (sink, upto),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: cannot mark delivery for {sink!r}: {exc}") from None

    def backlog(self, sink: str) -> int:
        """Number of journaled records ``sink`` has not acknowledged yet."""
        after = self.cursor(sink)
        with self._lock:
            return int(
                self._conn.execute("SELECT count(*) FROM messages WHERE id > ?", (after,)).fetchone()[0]
            )

    def node_states(self) -> dict[int, NodeState]:
        """The journaled boot/sequence state of every node (read once at start-up)."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM node_state").fetchall()
        return {
            int(n): NodeState(
                boot=b, boot_epoch_ns=e, last_seq=s, last_time_ns=t, feature_hash=h, hash_mismatch=bool(m)
            )
            for n, b, e, s, t, h, m in rows
        }

    def compact(self, sinks: Iterable[str]) -> int:
        """Delete records every sink in ``sinks`` has acknowledged; returns how many were deleted."""
        names = list(sinks)
        if not names:
            return 0
        upto = min(self.cursor(s) for s in names)
        with self._lock:
            try:
                cur = self._conn.execute("DELETE FROM messages WHERE id <= ?", (upto,))
                return int(cur.rowcount)
            except sqlite3.Error:
                # Compaction is an optimisation; a full disk can refuse it without losing anything.
                return 0

    def count(self) -> int:
        """Number of records currently held (delivered ones included until compacted)."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM messages").fetchone()[0])

    def close(self) -> None:
        """Close the journal (safe to call twice)."""
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
