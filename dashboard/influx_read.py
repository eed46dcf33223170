"""The dashboard's InfluxDB source: the :class:`~vibsentry.dashboard.queries.Source` methods in InfluxQL.

Measurements and tags are those the gateway writes (``docs/storage.md``; the names are in
:mod:`vibsentry.dashboard.store.influx_schema`): ``vib_score``, ``vib_alarm``, ``vib_status``, ``vib_features``,
``vib_raw``. Reads go through ``GET /query`` (InfluxQL), which InfluxDB 1.x,
2.x (a bucket with a DBRP mapping) and 3.x all serve; trends are downsampled by the server with
``GROUP BY time(...)``. The one write, an alarm acknowledgement, is a ``vib_ack`` point (tags ``node``; fields
``raise_ts_ns``, ``note``) at the raise's timestamp, so acknowledging twice overwrites rather than duplicates;
it goes to ``/write`` (1.x, user/password) or ``/api/v2/write`` (2.x/3.x, token, with ``org`` for 2.x).
"""

from __future__ import annotations

import base64
import time
import urllib.parse
import urllib.request
from typing import Any

import numpy as np
import pandas as pd

from vibsentry.dashboard.queries import (
    ALARM_COLUMNS,
    DIAGNOSIS_COLUMNS,
    DIAGNOSIS_ROW,
    MAX_POINTS,
    NODE_COLUMNS,
    TREND_COLUMNS,
    _alarm_frame,
    bucket_ns,
    check_raw_chunks,
    ns_to_time,
)
from vibsentry.dashboard.store import influx_schema as IS
from vibsentry.dashboard.store.influx import auth_headers
from vibsentry.dashboard.store.schema import EVENT_RAISE
from vibsentry.errors import StoreError, UsageError


def _lit(text: str) -> str:
    """An InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class InfluxSource:
    """Read (and acknowledge alarms in) an InfluxDB database written by ``vibsentry ingest``.

    Parameters
    ----------
    url : str
        Server URL (``http://`` or ``https://``).
    database : str
        Database (1.x), or bucket with a DBRP mapping (2.x) / database (3.x).
    token : str or None
        2.x/3.x API token (from the environment or a file only).
    username, password : str or None
        1.x credentials (from the environment or a file only).
    org : str or None
        2.x organisation, needed only to store acknowledgements on 2.x.
    verify_ssl : bool
        Verify TLS certificates (default True).
    """

    def __init__(
        self,
        url: str,
        database: str = "vibsentry",
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        org: str | None = None,
        verify_ssl: bool = True,
    ) -> None:
        from vibsentry.config import redact_url, split_url_credentials
        from vibsentry.dashboard.store.influx import InfluxReader

        if not url.startswith(("http://", "https://")):
            raise UsageError(
                f"InfluxDB URL {redact_url(url)!r}: expected http://HOST:PORT or https://HOST:PORT"
            )
        url, url_user, url_password = split_url_credentials(url)
        if username is None and url_user is not None:
            username, password = url_user, url_password
        self.url = url.rstrip("/")
        self.database = database
        self._token, self._user, self._password, self._org = token, username, password, org
        self._reader = InfluxReader(
            self.url, db=database, token=token, username=username, password=password, verify_tls=verify_ssl
        )
        self._verify = verify_ssl

    def describe(self) -> str:
        """Human-readable name of the source (no credentials)."""
        return f"InfluxDB {self.url} / {self.database}"

    def close(self) -> None:
        """Nothing to release (connections are pooled per request)."""

    def _q(self, influxql: str) -> list[dict[str, Any]]:
        return self._reader.query(influxql)

    def nodes(self) -> pd.DataFrame:
        """Same columns as :meth:`SqliteSource.nodes`, from the newest point of each node."""
        out: dict[int, dict[str, Any]] = {}

        def row(tags: dict[str, Any]) -> dict[str, Any]:
            n = int(tags["node"])
            d = out.setdefault(n, {"node": n, "machine": tags.get("machine"), "last_seen_ns": 0})
            for key in ("site", "gateway"):  # tags of records that came through MQTT (docs/mqtt.md)
                d[key] = tags.get(key) or d.get(key)
            return d

        # One selector per query: with several, InfluxQL reports time 0 instead of the point's time.
        for field, key in (("score", "last_score"), ("threshold", "last_threshold")):
            for r in self._q(f"SELECT last({field}) FROM {IS.M_SCORE} GROUP BY node, machine, site, gateway"):
                d = row(r)
                d[key] = r["last"]
                d["last_seen_ns"] = max(d["last_seen_ns"], int(r["time"]))
        for field, key in (("alarm_state", "last_alarm_state"), ("velocity_rms", "last_velocity_rms")):
            for r in self._q(f"SELECT last({field}) FROM {IS.M_SCORE} GROUP BY node, machine"):
                row(r)[key] = r["last"]
        for field in ("fw_version", "feature_hash", "model_hash", "hash_mismatch"):
            for r in self._q(f"SELECT last({field}) FROM {IS.M_STATUS} GROUP BY node, machine"):
                d = row(r)
                d[field] = r["last"]
                d["last_seen_ns"] = max(d["last_seen_ns"], int(r["time"]))
        # The newest HELLO's announced rate; a node whose machine tag changed has one row per tag value.
        for r in self._q(
            f"SELECT last(sample_rate_hz) FROM {IS.M_STATUS} WHERE kind = 'hello' GROUP BY node, machine"
        ):
            d = row(r)
            if int(r["time"]) >= (d.get("sample_rate_ns") or -1):
                d["sample_rate_hz"], d["sample_rate_ns"] = r["last"], int(r["time"])
        df = pd.DataFrame([out[k] for k in sorted(out)], columns=list(NODE_COLUMNS))
        df["hash_mismatch"] = df["hash_mismatch"].fillna(False).astype(bool)
        return df

    def trend(self, node: int, start_ns: int, end_ns: int, max_points: int = MAX_POINTS) -> pd.DataFrame:
        """Same as :meth:`SqliteSource.trend`; buckets computed by the server (``GROUP BY time``)."""
        b = bucket_ns(start_ns, end_ns, max_points)
        rows = self._q(
            "SELECT mean(score), max(score), max(threshold), max(alarm_state), mean(velocity_rms), max(rms), "
            f"count(score) FROM {IS.M_SCORE} WHERE node = {_lit(str(int(node)))} AND time >= {int(start_ns)} "
            f"AND time < {int(end_ns)} GROUP BY time({b // 1_000_000_000}s) fill(none)"
        )
        keys = ["time", "mean", "max", "max_1", "max_2", "mean_1", "max_3", "count"]
        df = pd.DataFrame([[r.get(k) for k in keys] for r in rows], columns=list(TREND_COLUMNS))
        df["time"] = ns_to_time(df["time"].astype("int64"))
        return df

    def alarms(self, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame:
        """Same as :meth:`SqliteSource.alarms`; raises are paired with clears here (alarms are few)."""
        where = f"time < {int(end_ns)}" + ("" if node is None else f" AND node = {_lit(str(int(node)))}")
        events = self._q(
            f"SELECT score, threshold FROM {IS.M_ALARM} WHERE {where} GROUP BY node, machine, event"
        )
        acks = {
            (int(r["node"]), int(r["time"])): (int(r["ack_ns"]), r["note"])
            for r in self._q(f"SELECT ack_ns, note FROM {IS.M_ACK} GROUP BY node")
        }
        by_node: dict[int, list[dict[str, Any]]] = {}
        for r in events:
            by_node.setdefault(int(r["node"]), []).append(r)
        rows = []
        for n, evs in by_node.items():
            # As in SQLite: an episode ends at the next clear or the next raise (a reboot in alarm).
            clears = sorted(int(e["time"]) for e in evs if e.get("event") in IS.EVENT_TAGS.values())
            for e in evs:
                if e.get("event") != IS.EVENT_TAGS[EVENT_RAISE]:
                    continue
                t = int(e["time"])
                clear = next((c for c in clears if c > t), None)
                if clear is not None and clear < start_ns:
                    continue
                ack = acks.get((n, t))
                rows.append(
                    (
                        n,
                        e.get("machine"),
                        t,
                        clear,
                        e.get("score"),
                        e.get("threshold"),
                        ack and ack[0],
                        ack and ack[1],
                    )
                )
        rows.sort(key=lambda r: -r[2])
        return _alarm_frame(rows)[list(ALARM_COLUMNS)]

    def acknowledge(self, node: int, raise_ts_ns: int, note: str) -> None:
        """Store an acknowledgement as a ``vib_ack`` point at the raise's timestamp."""

        if not any(int(r) == int(raise_ts_ns) for r in self.alarms(0, raise_ts_ns + 1, node)["raise_ts_ns"]):
            raise StoreError(f"no alarm raised by node {node} at ts_ns={raise_ts_ns} in {self.describe()}")
        esc = note.strip().replace("\\", "\\\\").replace('"', '\\"')
        line = f'{IS.M_ACK},node={int(node)} ack_ns={time.time_ns()}i,note="{esc}" {int(raise_ts_ns)}'
        if self._token:
            params = {"bucket": self.database, "precision": "ns", **({"org": self._org} if self._org else {})}
            path, headers = "/api/v2/write", {"Authorization": f"Token {self._token}"}
        else:
            params = {"db": self.database, "precision": "ns"}
            path, headers = "/write", auth_headers(username=self._user, password=self._password)
        req = urllib.request.Request(
            f"{self.url}{path}?{urllib.parse.urlencode(params)}",
            data=line.encode(),
            headers=headers,
            method="POST",
        )
        ctx = None
        if self.url.startswith("https://") and not self._verify:
            import ssl

            ctx = ssl._create_unverified_context()
        try:
            with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
                status = resp.status
        except OSError as exc:
            raise StoreError(
                f"{self.describe()}: cannot store acknowledgement ({type(exc).__name__})"
            ) from None
        if status != 204:
            raise StoreError(f"{self.describe()}: acknowledgement write answered HTTP {status}")

    def latest_features(self, node: int) -> tuple[int, str, np.ndarray] | None:
        """Newest ``vib_features`` point of ``node``: ``(ts_ns, kind, float32 values)``, or None."""
        rows = self._q(
            f"SELECT * FROM {IS.M_FEATURES} WHERE node = {_lit(str(int(node)))} ORDER BY time DESC LIMIT 1"
        )
        if not rows:
            return None
        r = rows[0]
        bands = sorted(
            (k for k in r if IS.FEATURE_FIELD_RE.fullmatch(k) and r[k] is not None), key=lambda k: int(k[1:])
        )
        return int(r["time"]), str(r.get("kind", "")), np.array([r[k] for k in bands], dtype=np.float32)

    def scores(self, node: int, start_ns: int, end_ns: int) -> pd.DataFrame:
        """Every score of ``node`` in the window (same columns as :meth:`SqliteSource.scores`)."""
        rows = self._q(
            f"SELECT seq, score, threshold, alarm_state, velocity_rms, rms FROM {IS.M_SCORE} "
            f"WHERE node = {_lit(str(int(node)))} AND time >= {int(start_ns)} AND time < {int(end_ns)}"
        )
        cols = ["ts_ns", "seq", "score", "threshold", "alarm_state", "velocity_rms", "rms"]
        df = pd.DataFrame([[r["time"], *(r.get(c) for c in cols[1:])] for r in rows], columns=cols)
        df.insert(0, "time", ns_to_time(df["ts_ns"].astype("int64")))
        return df

    def _raw_rows(self, node: int, where: str) -> list[dict[str, Any]]:
        return self._q(
            f"SELECT chunk, n_chunks, sample_rate, channels, sample_format, scale, data FROM {IS.M_RAW} "
            f"WHERE node = {_lit(str(int(node)))} AND {where} GROUP BY capture"
        )

    def raw_captures(self, node: int, start_ns: int, end_ns: int) -> pd.DataFrame:
        """Raw captures of ``node`` starting in the window (same columns as :meth:`SqliteSource.raw_captures`)."""
        caps: dict[int, dict[str, Any]] = {}
        for r in self._raw_rows(node, f"time >= {int(start_ns)} AND time < {int(end_ns)}"):
            c = caps.setdefault(int(r["capture"]), {"start_ns": int(r["time"]), "chunks": 0, "values": 0})
            c["start_ns"] = min(c["start_ns"], int(r["time"]))
            c["chunks"] += 1
            c.update(n_chunks=r["n_chunks"], sample_rate=r["sample_rate"], channels=r["channels"])
            c["values"] += len(base64.b64decode(r["data"])) // (2 if r["sample_format"] == "i16" else 4)
        cols = ["capture_id", "start_ns", "chunks", "n_chunks", "sample_rate", "channels", "values"]
        return pd.DataFrame([{"capture_id": k, **v} for k, v in sorted(caps.items())], columns=cols)

    def raw_capture(self, node: int, capture_id: int) -> tuple[np.ndarray, float | None, int]:
        """Samples of one capture, float32 ``(n_samples, channels)`` in g; its rate; missing chunk count."""
        rows = sorted(
            (r for r in self._raw_rows(node, f"capture = {_lit(str(int(capture_id)))}")),
            key=lambda r: r["chunk"],
        )
        if not rows:
            raise StoreError(f"no raw capture {capture_id} from node {node} in {self.describe()}")
        check_raw_chunks(
            node, capture_id, [r["n_chunks"] for r in rows], [r["scale"] for r in rows], self.describe()
        )
        parts = [
            np.frombuffer(
                base64.b64decode(r["data"]), dtype="<i2" if r["sample_format"] == "i16" else "<f4"
            ).astype(np.float32)
            * np.float32(r["scale"])
            for r in rows
        ]
        channels = int(rows[0]["channels"] or 1)
        x = np.concatenate(parts)
        x = x[: x.size - x.size % channels].reshape(-1, channels)
        missing = max(0, int(rows[0]["n_chunks"] or 0) - len(rows))
        rate = rows[0]["sample_rate"]
        return x, (float(rate) if rate else None), missing

    def _diagnosis_rows(self, where: str, fields: str) -> list[dict[str, Any]]:
        rows = self._q(f"SELECT {fields}, fault, capture, node, machine FROM {IS.M_DIAGNOSIS} WHERE {where}")
        for r in rows:  # the sink tags a capture it could not diagnose fault=error
            r["fault"] = None if r.get("fault") in (None, "error") else r["fault"]
            r["ts_ns"], r["capture_id"], r["node"] = int(r["time"]), int(r["capture"]), int(r["node"])
        return rows

    def diagnoses(self, start_ns: int, end_ns: int, node: int | None = None) -> pd.DataFrame:
        """Same columns as :meth:`SqliteSource.diagnoses`, from ``vib_diagnosis``, oldest first."""
        where = f"time >= {int(start_ns)} AND time < {int(end_ns)}"
        where += "" if node is None else f" AND node = {_lit(str(int(node)))}"
        rows = self._diagnosis_rows(where, "confidence, summary, error")
        return pd.DataFrame(
            [[r.get(c) for c in DIAGNOSIS_COLUMNS] for r in rows], columns=list(DIAGNOSIS_COLUMNS)
        )

    def diagnosis(self, node: int, capture_id: int, near_ns: int) -> dict[str, Any] | None:
        """Same as :meth:`SqliteSource.diagnosis`, from ``vib_diagnosis``."""
        rows = self._diagnosis_rows(
            f"node = {_lit(str(int(node)))} AND capture = {_lit(str(int(capture_id)))}",
            "confidence, summary, rpm, diagnosis, error",
        )
        if not rows:
            return None
        best = min(rows, key=lambda r: abs(r["ts_ns"] - int(near_ns)))
        return {k: best.get(k) for k in DIAGNOSIS_ROW}
