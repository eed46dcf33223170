"""The rate "Request raw capture" counts samples at: the rate the node announced in its newest HELLO, else its
newest stored capture's, else the 12 kHz default, read back through the real stores (a SQLite file and a real
influxd 1.x) and, end to end, through a real ``vibsentry ingest`` and the Streamlit page."""

from __future__ import annotations

import os
import select
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.influxd import InfluxdServer, score_count, start_influxd
from tests.support.ingest import FEATURE_HASH, rows, start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink
from vibsentry import protocol as vp
from vibsentry.dashboard import queries as q
from vibsentry.dashboard import raw_request as rr
from vibsentry.dashboard.gateway.tracker import Tracker
from vibsentry.dashboard.influx_read import InfluxSource
from vibsentry.dashboard.store import Record
from vibsentry.dashboard.store.influx import InfluxV1Store
from vibsentry.dashboard.store.sqlite import SQLiteStore

SECOND_US = 1_000_000
T0_NS = 1_700_000_000 * 10**9  # the tracker's clock: boot epochs, hence ts_ns, start here


def _hello(node: int, rate_hz: float, *, seq: int, t_us: int, boot: int = 1) -> vp.Frame:
    msg = vp.Hello("fw-test", f"m{node}", rate_hz, FEATURE_HASH, bytes(32), boot)
    return vp.decode_frame(vp.encode(msg, node_id=node, seq=seq, timestamp_us=t_us)[:-1])


def _frame(node: int, msg: vp.Message, *, seq: int, t_us: int) -> vp.Frame:
    return vp.decode_frame(vp.encode(msg, node_id=node, seq=seq, timestamp_us=t_us)[:-1])


def _status(node: int, *, seq: int, t_us: int) -> vp.Frame:
    return _frame(node, vp.Status(t_us // SECOND_US, 10, 0, 20, 0, 0, 0, 3.3, 25.0), seq=seq, t_us=t_us)


def _capture(node: int, rate_hz: float, *, seq: int, t_us: int) -> vp.Frame:
    chunk = vp.RawChunk(7, 0, 1, rate_hz, int(vp.SampleFormat.INT16), 0.001, tuple(range(100)))
    return _frame(node, chunk, seq=seq, t_us=t_us)


def _score(node: int, *, seq: int, t_us: int) -> vp.Frame:
    return _frame(node, vp.Score(0.5, 1.0, 0, -1, 0.01, 0.05, 1.5, seq), seq=seq, t_us=t_us)


def _fleet_records() -> tuple[list[Record], list[Record]]:
    """Records of five nodes, converted by the gateway's own tracker, in two batches (the second is written
    after the first, but holds node 25's older HELLO).

    - 21: HELLO at 25.6 kHz then a STATUS (which carries no rate), no capture
    - 22: HELLO at 25.6 kHz and a capture at 48 kHz: the HELLO wins
    - 23: HELLO announcing 0 Hz (no usable rate) and a capture at 48 kHz: the capture's rate
    - 24: scores only: the default
    - 25: HELLO at 48 kHz (boot 2) stored before the older HELLO at 25.6 kHz (boot 1): the newest HELLO wins
    """
    clock = [T0_NS]
    tr = Tracker(clock_ns=lambda: clock[0])
    first = [
        _hello(21, 25600.0, seq=1, t_us=SECOND_US),
        _status(21, seq=2, t_us=2 * SECOND_US),
        _hello(22, 25600.0, seq=1, t_us=SECOND_US),
        _capture(22, 48000.0, seq=2, t_us=2 * SECOND_US),
        _hello(23, 0.0, seq=1, t_us=SECOND_US),
        _capture(23, 48000.0, seq=2, t_us=2 * SECOND_US),
        _score(24, seq=1, t_us=SECOND_US),
    ]
    a = [r for f in first if (r := tr.process(f, "pty")) is not None]
    old = tr.process(_hello(25, 25600.0, seq=1, t_us=SECOND_US, boot=1), "pty")
    clock[0] += 60 * 10**9
    new = tr.process(_hello(25, 48000.0, seq=1, t_us=SECOND_US, boot=2), "pty")
    assert old is not None and new is not None and new.ts_ns > old.ts_ns
    return [*a, new], [old]


EXPECTED = {
    21: rr.NodeRate(25600.0, True, "hello"),
    22: rr.NodeRate(25600.0, True, "hello"),
    23: rr.NodeRate(48000.0, True, "capture"),
    24: rr.NodeRate(rr.DEFAULT_RATE_HZ, False, "default"),
    25: rr.NodeRate(48000.0, True, "hello"),
}


@pytest.fixture(scope="module")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxdServer]:
    server = start_influxd(tmp_path_factory.mktemp("influxd"))
    try:
        yield server
    finally:
        server.stop()


def test_sqlite_store_keeps_the_rate_of_the_newest_hello(tmp_path: Path) -> None:
    first, second = _fleet_records()
    store = SQLiteStore(tmp_path / "s.sqlite")
    store.write(first)
    store.write(second)
    store.write(first)  # a replay changes nothing
    store.close()
    src = q.SqliteSource(tmp_path / "s.sqlite")
    got = {n: rr.node_rate_hz(src, n) for n in EXPECTED}
    assert got == EXPECTED, got
    # 2 s at the announced 25.6 kHz, not 24,000 samples (0.94 s) at the assumed 12 kHz
    assert rr.samples_for(2.0, got[21].rate_hz) == 51200
    assert got[21].note() == "the rate the node announced in its latest HELLO"


def test_influxdb_store_keeps_the_rate_of_the_newest_hello(influxd: InfluxdServer) -> None:
    first, second = _fleet_records()
    store = InfluxV1Store(influxd.url, db="rates")
    store.write(first)
    store.write(second)
    store.close()
    src = InfluxSource(influxd.url, "rates")
    got = {n: rr.node_rate_hz(src, n) for n in EXPECTED}
    assert got == EXPECTED, got
    (hello,) = src._q("SELECT sample_rate_hz, kind FROM vib_status WHERE node = '21' AND kind = 'hello'")
    assert hello["sample_rate_hz"] == 25600.0


def test_a_store_file_from_before_the_rate_columns_stays_readable_and_gains_them(tmp_path: Path) -> None:
    first, _ = _fleet_records()
    path = tmp_path / "old.sqlite"
    store = SQLiteStore(path)
    store.write(first)
    store.close()
    with sqlite3.connect(path) as db:  # what a gateway from before this change left behind
        db.execute("ALTER TABLE nodes DROP COLUMN sample_rate_ns")
        db.execute("ALTER TABLE nodes DROP COLUMN sample_rate_hz")
    src = q.SqliteSource(path)
    assert rr.node_rate_hz(src, 22) == rr.NodeRate(48000.0, True, "capture")
    assert rr.node_rate_hz(src, 21) == rr.NodeRate(rr.DEFAULT_RATE_HZ, False, "default")
    src.close()
    store = SQLiteStore(path)  # a newer gateway adds the columns; the next HELLO fills them
    store.write(first)
    store.close()
    assert rr.node_rate_hz(q.SqliteSource(path), 21) == EXPECTED[21]


def _fake_node(link: PtyLink, node: int, asked: list[vp.RequestRaw], stop: threading.Event) -> None:
    """Answer every REQUEST_RAW the gateway forwards to ``node`` with an ACK, remembering what it asked for."""
    dec = vp.Decoder()
    seq = 100
    while not stop.is_set():
        r, _, _ = select.select([link.master], [], [], 0.1)
        if not r:
            continue
        try:
            data = os.read(link.master, 4096)
        except OSError:
            return
        for f in dec.feed(data):
            if f.header.node_id == node and isinstance(f.message, vp.RequestRaw):
                asked.append(f.message)
                seq += 1
                ack = vp.Ack(int(vp.MsgType.REQUEST_RAW), f.header.seq)
                link.write(vp.encode(ack, node_id=node, seq=seq, timestamp_us=seq * SECOND_US))


def _page(monkeypatch: pytest.MonkeyPatch, node: int) -> Any:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE", "operator")
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_READ_ONLY", "0")
    app = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    at.query_params["view"] = "machine"
    at.query_params["node"] = str(node)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_asks_a_node_that_never_sent_a_capture_for_its_announced_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, influxd: InfluxdServer
) -> None:
    pytest.importorskip("streamlit", reason="the dashboard extra is not installed")
    node = 31
    data, db = tmp_path / "gw", tmp_path / "gw" / "vibsentry.sqlite"
    asked: list[vp.RequestRaw] = []
    stop = threading.Event()
    gw = None
    with PtyLink(tmp_path / "port") as link:
        worker = threading.Thread(target=_fake_node, args=(link, node, asked, stop), daemon=True)
        try:
            gw = start_gateway(
                [str(link.link)], data, "--store", f"sqlite:{db}", "--influx-url", influxd.url, "--db", "e2e"
            )
            link.write(vp.encode(vp.Hello("fw-test", "press", 25600.0, FEATURE_HASH, bytes(32), 1),
                                 node_id=node, seq=1, timestamp_us=SECOND_US))  # fmt: skip
            link.write(vp.encode(vp.Score(0.5, 1.0, 0, -1, 0.01, 0.05, 1.5, 2),
                                 node_id=node, seq=2, timestamp_us=2 * SECOND_US))  # fmt: skip
            sql = "SELECT count(*) FROM scores WHERE node = ?"
            wait_for(lambda: db.exists() and rows(db, sql, (node,))[0][0] == 1, 60, "the node's score stored")
            wait_for(lambda: score_count(influxd.url, "e2e") == 1, 60, "the node's score in InfluxDB")
            influx = InfluxSource(influxd.url, "e2e")
            assert rr.node_rate_hz(influx, node) == rr.NodeRate(25600.0, True, "hello")
            worker.start()

            monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{db}")
            monkeypatch.setenv("VIBSENTRY_DASHBOARD_GATEWAY_DIR", str(data))
            monkeypatch.setenv("VIBSENTRY_DASHBOARD_AUDIT", str(tmp_path / "audit.sqlite"))
            (tmp_path / "dash.toml").write_text("")
            monkeypatch.setenv("VIBSENTRY_DASHBOARD_CONFIG", str(tmp_path / "dash.toml"))
            at = _page(monkeypatch, node)
            captions = [c.value for c in at.caption]
            assert "Samples are counted at 25600 Hz: the rate the node announced in its latest HELLO." in (
                captions
            ), captions
            at.number_input(key=f"raw-seconds-{node}").set_value(2.0)
            at.button(key=f"raw-go-{node}").click().run()
            assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
            ok = "\n".join(s.value for s in at.success)
            assert "51200 samples (2 s): the node accepted the request (ACK)" in ok, ok
            assert [m.n_samples for m in asked] == [51200]
        finally:
            stop.set()
            if worker.is_alive():
                worker.join(10)
            if gw is not None:
                stop_gateway(gw)
