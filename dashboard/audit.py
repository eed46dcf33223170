"""The dashboard's audit log: every write action (and every login) with who, when, what and the outcome.

A small SQLite file of its own (``--audit FILE``; default ``audit.sqlite`` beside the SQLite store, or
``.vibsentry/data/audit.sqlite`` with InfluxDB), so it works whatever the store is and the gateway's schema
stays the gateway's. Rows are only ever inserted. The app shows the newest rows in its "Audit log" view.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pandas as pd

from vibsentry.errors import StoreError

AUDIT_COLUMNS: tuple[str, ...] = ("time", "user", "role", "action", "target", "outcome", "detail")

_DDL = """CREATE TABLE IF NOT EXISTS audit (
    ts_ns   INTEGER NOT NULL,
    user    TEXT NOT NULL,
    role    TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT NOT NULL
)"""


class AuditLog:
    """Append-only audit table in the SQLite file at ``path`` (created with its folder when missing)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_DDL)
            self._db.commit()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise StoreError(f"audit log {str(self.path)!r}: cannot open ({exc})") from None
        self._lock = threading.Lock()

    def record(
        self, *, user: str, role: str, action: str, target: str, outcome: str, detail: str = ""
    ) -> None:
        """Append one row (time now). ``outcome`` is ``ok``, ``denied``, ``refused`` or ``failed``."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (time.time_ns(), user, role, action, target, outcome, detail[:2000]),
                )
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"audit log {self.path}: cannot record {action!r} ({exc})") from None

    def recent(self, limit: int = 500) -> pd.DataFrame:
        """The newest ``limit`` rows, newest first, columns :data:`AUDIT_COLUMNS` (``time`` in UTC)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ts_ns, user, role, action, target, outcome, detail FROM audit "
                "ORDER BY ts_ns DESC LIMIT ?",
                (int(limit),),
            ).fetchall()
        df = pd.DataFrame(rows, columns=["ts_ns", *AUDIT_COLUMNS[1:]])
        df.insert(0, "time", pd.to_datetime(df.pop("ts_ns").astype("int64"), unit="ns", utc=True))
        return df

    def close(self) -> None:
        """Close the file."""
        self._db.close()
