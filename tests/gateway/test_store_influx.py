"""InfluxDB stores. 1.x against a real influxd 1.6.7 started by the test; 2.x/3.x against a local HTTP server
in the test that checks the requests influxdb-client sends (no 2.x/3.x server can be installed here)."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
import urllib.parse
from typing import ClassVar

import pytest

from tests.support.influxd import start_influxd
from tests.support.ingest import gateway_on_pty, hello, score_keys, score_stream, stop_gateway, wait_for
from vibsentry.dashboard.store import Record
from vibsentry.dashboard.store.influx import (
    InfluxReader,
    InfluxV1Store,
    detect_flavour,
    line_protocol,
    open_influx,
)
from vibsentry.errors import StoreError

T0 = 1_763_700_000_000_000_000


def _records() -> list[Record]:
    out = [
        Record(
            "score",
            7,
            T0 + i * 85_000_000,
            i,
            {
                "score": 0.25 * i,
                "threshold": 2.0,
                "alarm_state": int(i > 8),
                "rms": 0.02,
                "peak": 0.1,
                "velocity_rms": 1.5,
                "hash_mismatch": False,
            },
            machine="pump-7",
        )
        for i in range(12)
    ]
    out.append(
        Record("alarm", 7, T0 + 9 * 85_000_000, 20, {"event": 1, "score": 2.25, "threshold": 2.0}, "pump-7")
    )
    out.append(
        Record(
            "hello",
            7,
            T0,
            0,
            {
                "fw_version": "1.2",
                "feature_hash": "ab" * 32,
                "model_hash": "cd" * 32,
                "uptime_ms": 5,
                "counters": {"boot_counter": 3},
            },
            "pump-7",
        )
    )
    out.append(Record("features", 7, T0 + 1, 21, {"kind": "logmel", "values": (1.0, 2.5, -3.0)}, "pump-7"))
    out.append(
        Record(
            "raw",
            7,
            T0 + 2,
            22,
            {
                "capture_id": 4,
                "chunk_index": 0,
                "n_chunks": 1,
                "sample_rate": 12000.0,
                "sample_format": "i16",
                "scale": 0.001,
                "data": b"\x01\x00\xff\xff",
            },
        )
    )
    return out


@pytest.fixture(scope="module")
def influxd(tmp_path_factory):
    srv = start_influxd(tmp_path_factory.mktemp("influxd"))
    yield srv
    srv.stop()


def test_v1_flavour_detected_and_points_follow_the_documented_design(influxd):
    assert detect_flavour(influxd.url)[0] == "1"
    store = open_influx(influxd.url, db="design")
    assert isinstance(store, InfluxV1Store)
    store.write(_records())
    store.write(_records())  # a replay overwrites the same series + timestamps: nothing doubles
    rd = InfluxReader(influxd.url, db="design")
    assert rd.query("SELECT count(score) FROM vib_score")[0]["count"] == 12
    rows = rd.query(
        "SELECT score, alarm_state, velocity_rms FROM vib_score WHERE node = '7' AND machine = 'pump-7'"
    )
    assert [r["time"] for r in rows] == [T0 + i * 85_000_000 for i in range(12)]
    assert rows[-1]["score"] == pytest.approx(2.75) and rows[-1]["alarm_state"] == 1
    (alarm,) = rd.query("SELECT * FROM vib_alarm")
    assert alarm["event"] == "raise" and alarm["node"] == "7"
    (status,) = rd.query(
        "SELECT fw_version, feature_hash, c_boot_counter FROM vib_status WHERE kind = 'hello'"
    )
    assert status["feature_hash"] == "ab" * 32 and status["c_boot_counter"] == 3
    (feat,) = rd.query("SELECT b00, b01, b02 FROM vib_features WHERE kind = 'logmel'")
    assert (feat["b00"], feat["b01"], feat["b02"]) == (1.0, 2.5, -3.0)
    grouped = rd.query("SELECT max(score) FROM vib_score WHERE time >= 0 GROUP BY time(1s), node fill(none)")
    assert grouped and all(r["node"] == "7" for r in grouped)


def test_unreachable_server_is_a_store_error_naming_the_url():
    with pytest.raises(StoreError, match=r"127\.0\.0\.1:9"):
        open_influx("http://127.0.0.1:9", timeout_s=1.0)
    store = InfluxV1Store("http://127.0.0.1:9", timeout_s=1.0)
    with pytest.raises(StoreError, match="request failed"):
        store.write(_records())


class _FakeInflux(http.server.BaseHTTPRequestHandler):
    """Plays an InfluxDB 2.x/3.x: /ping with a version header, /api/v2/write recorded (204 or a set status)."""

    version = "v2.7.4"
    fail_next = 0
    requests: ClassVar[list[dict]] = []

    def log_message(self, *a) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/ping"):
            self.send_response(204)
            self.send_header("X-Influxdb-Version", type(self).version)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        u = urllib.parse.urlsplit(self.path)
        cls = type(self)
        cls.requests.append(
            {
                "path": u.path,
                "query": dict(urllib.parse.parse_qsl(u.query)),
                "auth": self.headers.get("Authorization"),
                "body": body.decode(),
            }
        )
        status = 503 if cls.fail_next else 204
        cls.fail_next = max(0, cls.fail_next - 1)
        cls.requests[-1]["status"] = status
        self.send_response(status)
        self.end_headers()


@pytest.fixture
def fake_influx():
    handler = type("H", (_FakeInflux,), {"requests": [], "fail_next": 0})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, handler
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("version", ["v2.7.4", "3.0.1"])
def test_v2_and_v3_write_through_influxdb_client_with_token_org_bucket_and_ns(fake_influx, version):
    srv, h = fake_influx
    h.version = version
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    assert detect_flavour(url)[0] == version.lstrip("v")[0]
    store = open_influx(url, db="plant", org="acme", token="s3cret-token")
    recs = _records()
    store.write(recs)
    (req,) = h.requests
    assert req["path"] == "/api/v2/write"
    assert req["query"] == {"org": "acme", "bucket": "plant", "precision": "ns"}
    assert req["auth"] == "Token s3cret-token"
    assert req["body"].split("\n") == line_protocol(recs)
    assert "s3cret-token" not in store.description
    h.fail_next = 1
    with pytest.raises(StoreError, match="HTTP 503"):
        store.write(recs)


def test_tls_certificates_are_verified_by_default(tmp_path, fake_influx):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    srv, _ = fake_influx
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    url = f"https://127.0.0.1:{srv.server_address[1]}"
    with pytest.raises(StoreError, match="does not answer /ping"):
        detect_flavour(url, timeout_s=3)
    assert detect_flavour(url, ca_cert=str(cert), timeout_s=60)[0] == "2"
    with pytest.warns(Warning):  # urllib3 warns on unverified HTTPS, as it should
        assert detect_flavour(url, verify_tls=False, timeout_s=60)[0] == "2"


@pytest.mark.slow
def test_influxd_stopped_30_s_mid_stream_then_restarted_loses_and_duplicates_nothing(tmp_path):
    srv = start_influxd(tmp_path / "influxd")
    data = tmp_path / "data"
    n = 1500
    try:
        with gateway_on_pty(
            tmp_path / "port", data, "--influx-url", srv.url,
            "--db", "outage",
            "--store", f"sqlite:{tmp_path / 's.sqlite'}",
        ) as (link, gw):  # fmt: skip
            frames = [hello(11, 0, 1000), *score_stream(11, n)]
            t0 = time.monotonic()

            def node() -> None:  # about 40 s of a node sending 37 frames/s
                for i, f in enumerate(frames):
                    delay = t0 + i / 37.5 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    link.write(f)

            writer = threading.Thread(target=node)
            writer.start()
            time.sleep(4)
            srv.stop()
            time.sleep(30)
            srv.start()
            writer.join(300)
            assert not writer.is_alive(), "the node writer still blocked 300 s after influxd came back"
            rd = InfluxReader(srv.url, db="outage")

            def count() -> int:
                try:
                    r = rd.query("SELECT count(score) FROM vib_score")
                except (
                    StoreError
                ):  # "database not found" until the gateway's retry after the restart creates it
                    return 0
                return int(r[0]["count"]) if r else 0

            wait_for(lambda: count() == n, timeout=120, what=f"{n} points in InfluxDB after the outage")
            (distinct,) = rd.query("SELECT count(DISTINCT(seq)) FROM vib_score")
            assert distinct["count"] == n
            assert stop_gateway(gw) == 0
            status = json.loads((data / "ingest-status.json").read_text())
            assert status["sinks"]["influx"]["failures"] >= 1 and status["sinks"]["influx"]["backlog"] == 0
            assert status["sinks"]["sqlite"]["delivered"] == n + 1
    finally:
        srv.stop()


def test_gateway_delivers_to_a_2x_server_with_a_token_from_a_file_retrying_refused_writes(
    tmp_path, fake_influx
):
    srv, h = fake_influx
    h.fail_next = 3  # the server refuses the first writes (overloaded); the journal keeps the data
    token = tmp_path / "token"
    token.write_text("tok-FROM-file\n", encoding="utf-8")
    log = tmp_path / "gw.log"
    data = tmp_path / "data"
    with gateway_on_pty(
        tmp_path / "port", data, "--influx-url", f"http://127.0.0.1:{srv.server_address[1]}",
        "--bucket", "plant",
        "--org", "acme",
        "--flush-ms", "100",
        log=log,
        env={"VIBSENTRY_INFLUX_TOKEN_FILE": str(token)},
    ) as (link, gw):  # fmt: skip
        try:
            for f in [hello(21, 0, 1000), *score_stream(21, 50)]:
                link.write(f)

            def accepted() -> list[str]:
                ok = [r for r in h.requests if r["path"] == "/api/v2/write" and r.get("status") == 204]
                return [ln for r in ok for ln in r["body"].split("\n") if ln.startswith("vib_score,")]

            wait_for(lambda: len(accepted()) >= 50, what="50 score points accepted")
        finally:
            assert stop_gateway(gw) == 0
    lines = accepted()
    assert len(lines) == len(set(lines)) == 50  # each point accepted once; refused batches were resent
    assert {r["auth"] for r in h.requests} == {"Token tok-FROM-file"}
    assert {r["query"]["bucket"] for r in h.requests} == {"plant"}
    assert sum(1 for r in h.requests if r.get("status") == 503) == 3
    assert "tok-FROM-file" not in log.read_text()


def test_gateway_starts_while_an_auth_enabled_influxd_is_down_and_delivers_when_it_comes_up(tmp_path):
    from tests.support.influxd import InfluxdServer, score_count

    srv = InfluxdServer(tmp_path / "influxd", auth=True)
    srv.start()
    srv.query("CREATE USER gw WITH PASSWORD 'pw-1' WITH ALL PRIVILEGES")  # the first user needs no login
    srv.stop()
    data = tmp_path / "data"
    log = tmp_path / "gw.log"
    try:
        with gateway_on_pty(
            tmp_path / "port", data, "--influx-url", srv.url,
            "--db", "late",
            log=log,
            env={"VIBSENTRY_INFLUX_USERNAME": "gw", "VIBSENTRY_INFLUX_PASSWORD": "pw-1"},
        ) as (link, gw):  # fmt: skip
            for f in [hello(31, 0, 1000), *score_stream(31, 100)]:
                link.write(f)
            wait_for(
                lambda: json.loads((data / "ingest-status.json").read_text())["journal"]["journaled"] == 101,
                what="frames journaled while InfluxDB is down",
            )
            srv.start()
            wait_for(
                lambda: score_count(srv.url, "late", username="gw", password="pw-1") == 100,
                timeout=300,
                what="100 points once InfluxDB is up",
            )
            with pytest.raises(StoreError, match="HTTP 401"):
                InfluxReader(srv.url, db="late").query("SELECT count(score) FROM vib_score")
            assert stop_gateway(gw) == 0
    finally:
        srv.stop()
    text = log.read_text()
    assert "journaling until it answers" in text and "pw-1" not in text


def test_points_influxdb_refuses_are_skipped_without_blocking_the_pipeline(tmp_path, influxd):
    import urllib.request

    now = time.time_ns()
    # Someone else's point made vib_score.alarm_state a float in this shard: the gateway's ints now conflict.
    urllib.request.urlopen(influxd.url + "/query", data=b"q=CREATE+DATABASE+conflict", timeout=60).close()
    req = urllib.request.Request(
        f"{influxd.url}/write?db=conflict", data=f"vib_score,node=99 alarm_state=0.5 {now}".encode()
    )
    urllib.request.urlopen(req, timeout=60).close()
    data = tmp_path / "data"
    db = tmp_path / "s.sqlite"
    with gateway_on_pty(
        tmp_path / "port", data, "--influx-url", influxd.url,
        "--db", "conflict",
        "--store", f"sqlite:{db}",
        "--flush-ms", "50",
    ) as (link, gw):  # fmt: skip
        try:
            for f in [hello(41, 0, 1000), *score_stream(41, 20)]:
                link.write(f)
            wait_for(
                lambda: (
                    json.loads((data / "ingest-status.json").read_text())["sinks"]["influx"]["rejected"] == 20
                ),
                what="20 refused points skipped",
            )
            wait_for(lambda: len(score_keys(db)) == 20, what="all 20 scores in SQLite")
        finally:
            assert stop_gateway(gw) == 0
    st = json.loads((data / "ingest-status.json").read_text())["sinks"]
    assert st["influx"]["backlog"] == 0 and st["sqlite"]["delivered"] == 21
    rd = InfluxReader(influxd.url, db="conflict")
    assert rd.query("SELECT count(fw_version) FROM vib_status")[0]["count"] == 1  # the HELLO got through
