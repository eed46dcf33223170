"""Background diagnosis of raw captures in the gateway: a sink that diagnoses every complete capture.

The gateway delivers every journaled record to each sink from its own thread (``service.Gateway``). This sink
keeps the RAW_CHUNK records of each capture in memory until all ``n_chunks`` have arrived, runs
:func:`vibsentry.diagnostics.diagnose` on it with the machine's speed and bearing
(``[dashboard.machines.NAME]``, see ``dashboard/diagnosis.py``) and writes one row per capture to the
``diagnoses`` table of the SQLite store (``docs/storage.md``), idempotently (a replayed capture is ignored).
A capture that cannot be diagnosed (too short, no rate, unusable scale) gets a row with ``fault`` NULL and the
reason in ``error``, so the dashboard can say why. With an InfluxDB store the same diagnosis goes to the
``vib_diagnosis`` measurement (tags ``node``, ``machine``, ``capture``, ``fault``). Chunks of a capture split by a gateway restart are lost
from memory (the other sinks still store them); at most :data:`MAX_PENDING` captures are held.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.dashboard.diagnosis import MachineSetup, setup_for
from vibsentry.dashboard.store import schema as S
from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import init_schema
from vibsentry.diagnostics import diagnose
from vibsentry.errors import StoreError, VibsentryError

__all__ = ["MAX_PENDING", "DiagnosisSink", "capture_samples"]

log = logging.getLogger(__name__)

#: Incomplete captures held in memory at most (the oldest is dropped first).
MAX_PENDING = 64


def capture_samples(chunks: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, float]:
    """Samples in g (first channel) and rate of one capture's RAW_CHUNK fields, in chunk order.

    Raises
    ------
    ValueError
        No rate, an unusable scale (stored as 0), or chunks that disagree on the format.
    """
    rate = chunks[0].get("sample_rate")
    if not rate:
        raise ValueError("the capture carries no sample rate")
    parts = []
    for c in chunks:
        scale = float(c.get("scale") or 0.0)
        if not np.isfinite(scale) or scale == 0.0:
            raise ValueError(f"chunk {c.get('chunk_index')}: scale {c.get('scale')!r} g/LSB is not usable")
        dtype = "<i2" if c["sample_format"] == "i16" else "<f4"
        parts.append(np.frombuffer(c["data"], dtype=dtype).astype(np.float64) * scale)
    x = np.concatenate(parts)
    ch = int(chunks[0].get("channels") or 1)
    return x[: x.size - x.size % ch].reshape(-1, ch)[:, 0], float(rate)


class DiagnosisSink(Store):
    """Diagnose complete raw captures and store the findings in the SQLite store's ``diagnoses`` table.

    Parameters
    ----------
    path : path-like
        The SQLite store file (the same one the ``sqlite`` sink writes; the table is created if missing).
    setups : mapping of str to MachineSetup
        Per machine (name or ``"node:<id>"``) speed and bearing; others use the defaults.
    """

    def __init__(
        self,
        path: str | Path | None,
        setups: Mapping[str, MachineSetup] | None = None,
        *,
        influx: Store | None = None,
    ) -> None:
        if path is None and influx is None:
            raise StoreError("the diagnosis sink needs a SQLite store path, an InfluxDB store, or both")
        self.path = None if path is None else Path(path)
        self.influx = influx
        where = [f"sqlite:{self.path}"] if self.path is not None else []
        where += [influx.description] if influx is not None else []
        self.description = f"diagnosis -> {', '.join(where)}"
        self.setups = dict(setups or {})
        self._pending: OrderedDict[tuple[int, int], dict[int, Record]] = OrderedDict()
        self._done: list[Record] = []  # diagnosed, not yet acknowledged by every backend
        self.diagnosed = 0
        self._conn: sqlite3.Connection | None = None
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            init_schema(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open SQLite store for diagnoses: {exc}") from None

    def write(self, records: Sequence[Record]) -> None:
        """Collect RAW_CHUNK records; diagnose and store each capture whose chunks are all here.

        A backend failure raises :class:`StoreError` (the gateway retries the batch); the diagnoses made are
        kept and written first on the next call, so a retry never loses or repeats the work.
        """
        for r in records:
            if r.kind != "raw":
                continue
            key = (r.node, int(r.fields["capture_id"]))
            chunks = self._pending.setdefault(key, {})
            self._pending.move_to_end(key)
            chunks[int(r.fields["chunk_index"])] = r
            n = r.fields.get("n_chunks")
            if n is not None and len(chunks) >= int(n):
                del self._pending[key]
                self._done.append(self._diagnose(key, [chunks[i] for i in sorted(chunks)]))
            while len(self._pending) > MAX_PENDING:
                old, dropped = self._pending.popitem(last=False)
                log.warning(
                    "raw capture %s of node %s dropped incomplete (%d chunks)", old[1], old[0], len(dropped)
                )
        if not self._done:
            return
        if self._conn is not None:
            f = [r.fields for r in self._done]
            rows = [
                (r.node, r.ts_ns, x["capture_id"], r.machine, x["fault"], x["confidence"], x["summary"], x["rpm"],
                 x["diagnosis"], x["error"])
                for r, x in zip(self._done, f, strict=True)
            ]  # fmt: skip
            try:
                with self._conn:
                    self._conn.execute("BEGIN")
                    self._conn.executemany(
                        f"INSERT OR IGNORE INTO {S.T_DIAGNOSES} VALUES (?,?,?,?,?,?,?,?,?,?)", rows
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: diagnoses not stored: {exc}") from None
        if self.influx is not None:
            self.influx.write(self._done)  # idempotent: same measurement, tags and timestamp on a retry
        self.diagnosed += len(self._done)
        self._done = []

    def _diagnose(self, key: tuple[int, int], chunks: list[Record]) -> Record:
        node, cap = key
        first = chunks[0]
        setup = setup_for(self.setups, first.machine, node)
        fields: dict[str, Any] = {"capture_id": cap, "fault": None, "confidence": None, "summary": None,
                                  "rpm": None, "diagnosis": None, "error": None}  # fmt: skip
        try:
            x, rate = capture_samples([c.fields for c in chunks])
            d = diagnose(
                x, sample_rate=rate, rpm=setup.rpm, rpm_range=setup.rpm_range, geometry=setup.geometry
            )
        except (VibsentryError, ValueError) as exc:
            fields["error"] = str(exc)
        else:
            fields.update(
                fault=d.top.fault, confidence=float(d.top.confidence), summary=d.top.summary,
                rpm=float(d.speed.rpm), diagnosis=json.dumps(d.to_dict(), allow_nan=False, default=str),
            )  # fmt: skip
        return Record("diagnosis", node, first.ts_ns, first.seq, fields, machine=first.machine, port=first.port,
                      site=first.site, gateway=first.gateway)  # fmt: skip

    def close(self) -> None:
        """Close the connections (incomplete captures are forgotten)."""
        if self._conn is not None:
            self._conn.close()
        if self.influx is not None:
            self.influx.close()
