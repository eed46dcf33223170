"""InfluxDB stores: 1.x through the v1 ``/write`` API, 2.x and 3.x through ``influxdb-client``'s write API.

Points follow ``docs/storage.md`` (measurements ``vib_score``, ``vib_alarm``, ``vib_status``,
``vib_features``, ``vib_raw``; tags ``node``, ``machine``, ...; nanosecond timestamps). Line protocol is
built with ``influxdb_client.Point`` for every flavour. A write either succeeds (HTTP 204) or raises
:class:`StoreError`; the gateway's delivery loop retries with exponential backoff and jitter, so the stores
themselves make one attempt with a bounded timeout. TLS certificates are verified unless
``verify_tls=False``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from vibsentry.config import split_url_credentials
from vibsentry.dashboard.store import influx_schema as IS
from vibsentry.dashboard.store.base import Store
from vibsentry.dashboard.store.records import STATUS_KINDS, Record, announced_rate, raw_scale
from vibsentry.errors import StoreError, StoreRejected

#: Lines per HTTP request; InfluxDB recommends batches of about 5000 points.
MAX_LINES_PER_REQUEST = 5000


def _pool(verify_tls: bool, ca_cert: str | None, timeout_s: float) -> Any:
    import urllib3

    kw: dict[str, Any] = {"timeout": urllib3.Timeout(total=timeout_s), "retries": False}
    if verify_tls:
        kw["cert_reqs"] = "CERT_REQUIRED"
        if ca_cert:
            kw["ca_certs"] = ca_cert
        else:
            try:
                import certifi

                kw["ca_certs"] = certifi.where()
            except ImportError:  # pragma: no cover - system store then
                pass
    else:
        kw["cert_reqs"] = "CERT_NONE"
    return urllib3.PoolManager(**kw)


def auth_headers(
    *, token: str | None = None, username: str | None = None, password: str | None = None
) -> dict[str, str]:
    """HTTP headers carrying InfluxDB credentials: ``Authorization: Token`` (2.x/3.x) or HTTP Basic (1.x user
    and password), never ``?u=&p=`` query parameters, which urllib3's debug log and proxies would record."""
    if token:
        return {"Authorization": f"Token {token}"}
    if username:
        raw = f"{username}:{password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    return {}


def detect_flavour(
    url: str, *, verify_tls: bool = True, ca_cert: str | None = None, timeout_s: float = 5.0
) -> tuple[str, str]:
    """Ask ``GET {url}/ping`` which InfluxDB this is.

    Returns
    -------
    (flavour, version) : tuple of str
        ``flavour`` is ``"1"``, ``"2"`` or ``"3"`` (from the ``X-Influxdb-Version`` header, e.g. ``1.6.7~rc0``,
        ``v2.7.4``, ``3.0.1``); ``version`` is the header as sent.

    Raises
    ------
    StoreError
        The server does not answer or sends no version header.
    """
    url = split_url_credentials(url)[0]
    pool = _pool(verify_tls, ca_cert, timeout_s)
    try:
        resp = pool.request("GET", url.rstrip("/") + "/ping")
    except Exception as exc:
        raise StoreError(f"InfluxDB at {url!r} does not answer /ping: {exc}") from None
    version = resp.headers.get("X-Influxdb-Version")
    if not version:
        raise StoreError(f"{url!r}/ping answered HTTP {resp.status} without an X-Influxdb-Version header")
    major = version.lstrip("vV").split(".", 1)[0]
    if major not in ("1", "2", "3"):
        raise StoreError(f"InfluxDB at {url!r} reports version {version!r}; supported: 1.x, 2.x, 3.x")
    return major, version


def _tags(r: Record) -> dict[str, str]:
    tags = {"node": str(r.node), "machine": r.machine or str(r.fields.get("machine") or "unknown")}
    if r.site is not None:  # records that came through MQTT (vibsentry collect) carry their origin
        tags["site"] = r.site
    if r.gateway is not None:
        tags["gateway"] = r.gateway
    return tags


def record_points(r: Record) -> Iterator[Any]:
    """The ``influxdb_client.Point`` objects for one record (one point; none for unknown kinds)."""
    from influxdb_client import Point, WritePrecision

    f = r.fields
    tags = _tags(r)
    k = r.kind
    if k == "score":
        p = Point(IS.M_SCORE).tag("channel", "0")
        for name, key in (
            ("score", "score"),
            ("threshold", "threshold"),
            ("rms", "rms"),
            ("peak", "peak"),
            ("velocity_rms", "velocity_rms"),
        ):
            if f.get(key) is not None:
                p = p.field(name, float(f[key]))
        p = p.field("alarm_state", int(f.get("alarm_state", 0)))
        if f.get("cls") is not None:
            p = p.field("label", int(f["cls"]))
        p = p.field("hash_mismatch", bool(f.get("hash_mismatch")))
    elif k == "alarm":
        p = Point(IS.M_ALARM).tag("event", IS.EVENT_TAGS.get(int(f["event"]), str(f["event"])))
        p = p.field("score", float(f.get("score") or 0.0)).field(
            "threshold", float(f.get("threshold") or 0.0)
        )
        p = p.field("hash_mismatch", bool(f.get("hash_mismatch")))
    elif k in STATUS_KINDS:
        p = Point(IS.M_STATUS).tag("kind", k)
        for key in ("fw_version", "feature_hash", "model_hash"):
            if f.get(key):
                p = p.field(key, str(f[key]))
        if f.get("uptime_ms") is not None:
            p = p.field("uptime_ms", int(f["uptime_ms"]))
        if k == "hello" and "sample_rate_hz" in f:  # always a float: a field keeps one type per shard
            p = p.field("sample_rate_hz", announced_rate(f["sample_rate_hz"]))
        for name, value in dict(f.get("counters") or {}).items():
            p = p.field(f"{IS.COUNTER_PREFIX}{name}", int(value))
        p = p.field("hash_mismatch", bool(f.get("hash_mismatch")))
    elif k == "features":
        p = Point(IS.M_FEATURES).tag("kind", str(f["kind"]))
        for i, v in enumerate(f["values"]):
            p = p.field(IS.feature_field(i), float(v))
    elif k == "raw":
        p = Point(IS.M_RAW).tag("capture", str(f["capture_id"]))
        p = p.field("chunk", int(f["chunk_index"])).field("n_chunks", int(f.get("n_chunks") or 0))
        p = p.field("sample_rate", float(f.get("sample_rate") or 0.0)).field(
            "channels", int(f.get("channels", 1))
        )
        p = p.field("sample_format", str(f.get("sample_format", "f32"))).field(
            "scale", raw_scale(f.get("scale", 1.0))
        )
        p = p.field("data", base64.b64encode(bytes(f["data"])).decode("ascii"))
    elif k == "diagnosis":  # made by the gateway's diagnosis sink (gateway/diagnoser.py), not by a node
        p = (
            Point(IS.M_DIAGNOSIS)
            .tag("capture", str(f["capture_id"]))
            .tag("fault", str(f.get("fault") or "error"))
        )
        for key in ("confidence", "rpm"):
            if f.get(key) is not None:
                p = p.field(key, float(f[key]))
        for key in ("summary", "error", "diagnosis"):
            if f.get(key) is not None:
                p = p.field(key, str(f[key]))
    else:
        return
    for name, value in tags.items():
        p = p.tag(name, value)
    yield p.field("seq", int(r.seq)).time(int(r.ts_ns), WritePrecision.NS)


def line_protocol(records: Sequence[Record]) -> list[str]:
    """Line protocol (nanosecond precision) for ``records``, one line per point.

    Non-finite floats are left out of their point (``Point`` drops them); a record whose fields cannot be
    converted raises :class:`StoreRejected`.
    """
    try:
        return [p.to_line_protocol() for r in records for p in record_points(r)]
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreRejected(f"malformed record in batch of {len(records)}: {exc!r}") from None


class _InfluxHttp:
    """HTTP settings shared by the 1.x writer and the InfluxQL reader.

    Parameters
    ----------
    url : str
        Server URL, e.g. ``http://127.0.0.1:8086``.
    db : str
        Database (1.x), DBRP-mapped bucket (2.x) or database (3.x).
    token : str or None
        2.x/3.x API token, sent as ``Authorization: Token ...`` (from the environment or a file only).
    username, password : str or None
        1.x credentials (from the environment or a file only; never logged).
    verify_tls : bool
        Verify the server certificate for https URLs (default True).
    ca_cert : str or None
        CA bundle file for a private CA.
    timeout_s : float
        Per-request timeout in seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        db: str = "vibsentry",
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        ca_cert: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        url, url_user, url_password = split_url_credentials(url)
        if username is None and url_user is not None:
            username, password = url_user, url_password
        self.url = url.rstrip("/")
        self.db = db
        self._headers = auth_headers(token=token, username=username, password=password)
        self._pool = _pool(verify_tls, ca_cert, timeout_s)


class InfluxV1Store(_InfluxHttp, Store):
    """InfluxDB 1.x: ``POST /write?db=DB&precision=ns`` with line protocol; the database is created if missing.

    Takes the keyword arguments of :class:`_InfluxHttp` (``url``, ``db``, ``username``, ``password``,
    ``verify_tls``, ``ca_cert``, ``timeout_s``).
    """

    def __init__(self, url: str, **http: Any) -> None:
        super().__init__(url, **http)
        self.description = f"influxdb1:{self.url}/{self.db}"
        self._db_ready = False

    def _post(self, path: str, params: dict[str, str], body: bytes | None) -> Any:
        qs = urlencode(params)
        try:
            return self._pool.request(
                "POST",
                f"{self.url}{path}?{qs}",
                body=body,
                headers={**self._headers, "Content-Type": "text/plain; charset=utf-8"},
            )
        except Exception as exc:
            raise StoreError(f"{self.description}: request failed: {type(exc).__name__}") from None

    def _ensure_db(self) -> None:
        resp = self._post("/query", {"q": f'CREATE DATABASE "{self.db}"'}, None)
        if resp.status != 200:
            raise StoreError(f"{self.description}: CREATE DATABASE answered HTTP {resp.status}")
        self._db_ready = True

    def write(self, records: Sequence[Record]) -> None:
        """Write ``records`` as points; raises :class:`StoreError` unless every request got HTTP 204."""
        lines = line_protocol(records)
        if not self._db_ready:
            self._ensure_db()
        for i in range(0, len(lines), MAX_LINES_PER_REQUEST):
            body = "\n".join(lines[i : i + MAX_LINES_PER_REQUEST]).encode("utf-8")
            resp = self._post("/write", {"db": self.db, "precision": "ns"}, body)
            if resp.status == 404:
                self._db_ready = False
            if resp.status != 204:
                text = resp.data[:200].decode("utf-8", "replace").strip()
                # 400: the server parsed the points and refused them; sending them again cannot help.
                kind = StoreRejected if resp.status == 400 else StoreError
                raise kind(f"{self.description}: /write answered HTTP {resp.status}: {text}")

    def close(self) -> None:
        """Release pooled connections."""
        self._pool.clear()


class InfluxV2Store(Store):
    """InfluxDB 2.x and 3.x through ``influxdb-client``'s synchronous write API (``/api/v2/write``).

    Parameters
    ----------
    url : str
        Server URL.
    bucket : str
        Bucket (2.x) or database (3.x).
    org : str
        Organisation (2.x; 3.x ignores it).
    token : str or None
        API token (from the environment or a file only; never logged).
    verify_tls, ca_cert, timeout_s
        As for :class:`InfluxV1Store`.
    """

    def __init__(
        self,
        url: str,
        *,
        bucket: str = "vibsentry",
        org: str = "vibsentry",
        token: str | None = None,
        verify_tls: bool = True,
        ca_cert: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.url = split_url_credentials(url)[0].rstrip("/")  # a token authenticates 2.x/3.x
        self.bucket = bucket
        self.org = org
        self.description = f"influxdb2:{self.url}/{bucket}"
        self._client = InfluxDBClient(
            url=self.url,
            token=token or "",
            org=org,
            timeout=int(timeout_s * 1000),
            verify_ssl=verify_tls,
            ssl_ca_cert=ca_cert,
            retries=False,
        )
        self._write = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, records: Sequence[Record]) -> None:
        """Write ``records``; raises :class:`StoreError` when the server does not acknowledge."""
        from influxdb_client import WritePrecision

        lines = line_protocol(records)
        for i in range(0, len(lines), MAX_LINES_PER_REQUEST):
            try:
                self._write.write(
                    bucket=self.bucket,
                    org=self.org,
                    record=lines[i : i + MAX_LINES_PER_REQUEST],
                    write_precision=WritePrecision.NS,  # type: ignore[arg-type]
                )
            except Exception as exc:
                status = getattr(exc, "status", None)
                what = f"HTTP {status}" if status else type(exc).__name__
                kind = StoreRejected if status in (400, 422) else StoreError
                raise kind(f"{self.description}: write failed ({what})") from None

    def close(self) -> None:
        """Close the client."""
        try:
            self._write.close()
            self._client.close()
        except Exception:
            pass


def open_influx(
    url: str,
    *,
    db: str = "vibsentry",
    org: str = "vibsentry",
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    verify_tls: bool = True,
    ca_cert: str | None = None,
    timeout_s: float = 10.0,
    flavour: str | None = None,
) -> Store:
    """Detect the server flavour from ``/ping`` (unless given) and return the matching store.

    ``db`` is the 1.x database or the 2.x/3.x bucket. Raises :class:`StoreError` when the server cannot be
    reached to detect its flavour; pass ``flavour`` (``"1"``, ``"2"``, ``"3"``) to start while it is down.
    """
    url, url_user, url_password = split_url_credentials(url)
    if username is None and url_user is not None:
        username, password = url_user, url_password
    if flavour is None:
        flavour, _ = detect_flavour(url, verify_tls=verify_tls, ca_cert=ca_cert, timeout_s=timeout_s)
    if flavour == "1":
        return InfluxV1Store(
            url,
            db=db,
            username=username,
            password=password,
            verify_tls=verify_tls,
            ca_cert=ca_cert,
            timeout_s=timeout_s,
        )
    if flavour in ("2", "3"):
        if token is None and username:
            token = f"{username}:{password or ''}"
        return InfluxV2Store(
            url, bucket=db, org=org, token=token, verify_tls=verify_tls, ca_cert=ca_cert, timeout_s=timeout_s
        )
    raise StoreError(f"InfluxDB flavour {flavour!r}: use 1, 2 or 3")


class DeferredInflux(Store):
    """An InfluxDB store whose flavour is detected at the first write, so the gateway starts (and journals)
    while the server is still down. Until ``/ping`` answers, every write raises :class:`StoreError` and the
    delivery loop retries with backoff.

    Parameters
    ----------
    url : str
        Server URL.
    **options
        Keyword arguments of :func:`open_influx` (``db``, ``org``, credentials, TLS, ``timeout_s``).
    """

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self._options = options
        self._inner: Store | None = None
        self.description = (
            f"influxdb:{split_url_credentials(url)[0].rstrip('/')}/{options.get('db', 'vibsentry')} "
            "(flavour not detected yet)"
        )

    def write(self, records: Sequence[Record]) -> None:
        """Detect the flavour if not done yet, then write through the matching store."""
        if self._inner is None:
            self._inner = open_influx(self.url, **self._options)
            self.description = self._inner.description
        self._inner.write(records)

    def close(self) -> None:
        """Close the underlying store, if one was opened."""
        if self._inner is not None:
            self._inner.close()


class InfluxReader(_InfluxHttp):
    """Run InfluxQL on ``GET /query`` (served by 1.x, by 2.x for DBRP-mapped buckets, and by 3.x).

    Takes the keyword arguments of :class:`_InfluxHttp`.
    """

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Rows of every series of the first statement, as dicts (``time`` in ns; series tags merged in)."""
        qs = urlencode({"db": self.db, "q": influxql, "epoch": "ns"})
        try:
            resp = self._pool.request("GET", f"{self.url}/query?{qs}", headers=self._headers)
        except Exception as exc:
            raise StoreError(f"InfluxDB {self.url}: query failed: {type(exc).__name__}") from None
        if resp.status != 200:
            raise StoreError(f"InfluxDB {self.url}: /query answered HTTP {resp.status}")
        doc = json.loads(resp.data)
        rows: list[dict[str, Any]] = []
        for result in doc.get("results", [])[:1]:
            if "error" in result:
                raise StoreError(f"InfluxDB {self.url}: query {influxql!r} failed: {result['error']}")
            for series in result.get("series", []):
                tags = series.get("tags", {})
                cols = series["columns"]
                for values in series["values"]:
                    rows.append({**tags, **dict(zip(cols, values, strict=True))})
        return rows
