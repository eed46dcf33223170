"""The MQTT fleet path with real processes: ptys -> ``vibsentry ingest --mqtt`` -> Debian's mosquitto ->
``vibsentry collect`` -> SQLite. Every fault test ends with exactly the frames sent in the store.

The issue asks for a 30 s broker outage; the suite uses 5 s to stay inside its time budget (the mechanism is
the same: the gateway's journal holds everything while the broker is away). ``benchmarks/bench_mqtt_fleet.py
--outage 30`` runs the 30 s outage.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time

import pytest

from tests.support.ingest import hello, rows, score_keys, score_stream, start_gateway, stop_gateway, wait_for
from tests.support.mosquitto import (
    PASSWORD,
    USERNAME,
    MosquittoBroker,
    collector_status,
    start_collector,
)
from tests.support.pty import PtyLink


@pytest.fixture
def broker(tmp_path):
    b = MosquittoBroker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def link(tmp_path):
    with PtyLink(tmp_path / "node-port") as pty:
        yield pty


class _Fleet:
    """One collector and one gateway (on ``link``, site plantA, gateway gw1); tests replace them when they
    kill one. ``db`` is the collector's SQLite store, ``data`` the gateway's data directory."""

    def __init__(self, tmp_path, broker, link):
        self.broker, self.link = broker, link
        self.db = tmp_path / "plant.sqlite"
        self.data = tmp_path / "gw"
        self.col = _collector(broker.url, self.db)
        self.gw = self.start_gateway()

    def start_gateway(self):
        return _gateway(self.link, self.data, self.broker.url)

    def status(self):
        return _gw_status(self.data)

    def scores(self):
        return score_keys(self.db)

    def close(self):
        stop_gateway(self.gw)
        stop_gateway(self.col)


@pytest.fixture
def fleet(tmp_path, broker, link):
    f = _Fleet(tmp_path, broker, link)
    yield f
    f.close()


def _collector(broker_url, db, *extra, client_id="test-collector", **kw):
    proc = start_collector(broker_url, db, *extra, client_id=client_id, **kw)
    wait_for(
        lambda: collector_status(db, client_id).get("subscribed"), what=f"collector {client_id} subscribed"
    )
    return proc


def _gateway(link, data_dir, broker_url, *extra, gateway="gw1", **kw):
    return start_gateway(
        [str(link.link)],
        data_dir,
        "--mqtt",
        broker_url,
        "--site",
        "plantA",
        "--gateway",
        gateway,
        *extra,
        **kw,
    )


def _gw_status(data_dir):
    return json.loads((data_dir / "ingest-status.json").read_text())


def _write_all(link, frames):
    for f in frames:
        link.write(f)


def test_gateway_to_collector_stores_every_frame_once_with_its_origin(fleet, link):
    _write_all(link, [hello(5, 0, 1000), *score_stream(5, 500)])
    wait_for(lambda: len(fleet.scores()) >= 500, what="500 scores in the plant store")
    assert stop_gateway(fleet.gw) == 0
    assert fleet.scores() == [(5, s) for s in range(1, 501)]
    assert rows(fleet.db, "SELECT node, site, gateway, machine FROM nodes") == [(5, "plantA", "gw1", "m5")]
    assert rows(fleet.db, "SELECT count(*) FROM status") == [(1,)]
    assert fleet.status()["sinks"]["mqtt"]["backlog"] == 0


def test_broker_restarted_mid_stream_loses_and_duplicates_nothing(fleet, broker, link):
    link.write(hello(1, 0, 1000))
    writer = threading.Thread(target=_write_all, args=(link, score_stream(1, 3000)))
    writer.start()
    wait_for(lambda: len(fleet.scores()) >= 300, what="the stream flowing")
    broker.stop()  # SIGTERM: mosquitto saves the sessions and their queued messages
    broker.start()
    writer.join(60)
    wait_for(lambda: len(fleet.scores()) >= 3000, timeout=300, what="all 3000 scores after the restart")
    assert stop_gateway(fleet.gw) == 0
    assert fleet.scores() == [(1, s) for s in range(1, 3001)]


def test_broker_down_for_5_s_the_gateway_journal_holds_everything(fleet, broker, link):
    _write_all(link, [hello(2, 0, 1000), *score_stream(2, 200)])
    wait_for(lambda: len(fleet.scores()) == 200, what="200 scores before the outage")
    broker.stop()
    down = time.monotonic()
    _write_all(link, score_stream(2, 1000, start_seq=201))
    wait_for(lambda: fleet.status()["journal"]["journaled"] == 1201, what="1200 scores journaled")
    wait_for(lambda: fleet.status()["sinks"]["mqtt"]["backlog"] == 1000, what="the broker's backlog")
    wait_for(lambda: "not connected" in (fleet.status()["sinks"]["mqtt"]["last_error"] or ""), what="why")
    time.sleep(max(0.0, 5.0 - (time.monotonic() - down)))  # the outage itself lasts 5 s
    broker.start()
    _write_all(link, score_stream(2, 300, start_seq=1201))
    wait_for(lambda: len(fleet.scores()) >= 1500, timeout=300, what="all 1500 scores after the outage")
    assert stop_gateway(fleet.gw) == 0
    assert fleet.scores() == [(2, s) for s in range(1, 1501)]


def test_gateway_sigkilled_resends_from_its_broker_cursor(fleet, broker, link):
    _write_all(link, [hello(3, 0, 1000), *score_stream(3, 500)])
    wait_for(lambda: len(fleet.scores()) == 500, what="the first 500 scores")
    # The broker goes away, the gateway journals 1000 more it cannot publish, then dies without a goodbye.
    broker.stop()
    _write_all(link, score_stream(3, 1000, start_seq=501))
    wait_for(lambda: fleet.status()["journal"]["journaled"] == 1501, what="1500 scores journaled")
    fleet.gw.send_signal(signal.SIGKILL)
    fleet.gw.wait(10)
    broker.start()
    fleet.gw = fleet.start_gateway()
    _write_all(link, score_stream(3, 500, start_seq=1501))
    wait_for(lambda: len(fleet.scores()) >= 2000, timeout=300, what="all 2000 scores after the restart")
    assert stop_gateway(fleet.gw) == 0
    assert fleet.scores() == [(3, s) for s in range(1, 2001)]


def test_collector_sigkilled_before_its_commit_gets_the_messages_again(fleet, broker, link):
    _write_all(link, [hello(4, 0, 1000), *score_stream(4, 500)])
    wait_for(lambda: len(fleet.scores()) == 500, what="the first 500 scores")
    # A long reader-writer holds the store: the collector receives the next messages but cannot commit
    # them, so none of them is acknowledged when it is killed.
    blocker = sqlite3.connect(fleet.db, timeout=120, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        _write_all(link, score_stream(4, 1000, start_seq=501))
        wait_for(lambda: collector_status(fleet.db).get("received", 0) >= 1501, what="1000 held, unwritten")
        fleet.col.send_signal(signal.SIGKILL)
        fleet.col.wait(10)
    finally:
        blocker.close()
    assert len(fleet.scores()) == 500
    # While it is dead the broker queues the stream in its persistent session.
    _write_all(link, score_stream(4, 500, start_seq=1501))
    wait_for(lambda: fleet.status()["sinks"]["mqtt"]["delivered"] >= 2001, what="all published")
    fleet.col = _collector(broker.url, fleet.db)
    wait_for(lambda: len(fleet.scores()) >= 2000, timeout=300, what="all 2000 scores after the restart")
    assert fleet.scores() == [(4, s) for s in range(1, 2001)]


def test_two_collectors_share_the_stream_of_two_gateways_and_store_it_once(tmp_path, broker):
    db = tmp_path / "plant.sqlite"
    # The second one speaks MQTT 3.1.1 (the cheaper option), so both protocol paths are exercised.
    cols = [_collector(broker.url, db, client_id="col1"),
            _collector(broker.url, db, "--mqtt-protocol", "3.1.1", client_id="col2")]  # fmt: skip
    gws = []
    try:
        with PtyLink(tmp_path / "p1") as l1, PtyLink(tmp_path / "p2") as l2:
            gws = [_gateway(l1, tmp_path / "g1", broker.url, gateway="line1"),
                   _gateway(l2, tmp_path / "g2", broker.url, gateway="line2")]  # fmt: skip
            _write_all(l1, [hello(11, 0, 1000), *score_stream(11, 1000)])
            _write_all(l2, [hello(12, 0, 1000), *score_stream(12, 1000)])
            wait_for(lambda: len(score_keys(db)) >= 2000, timeout=300, what="2000 scores from two gateways")
            for g in gws:
                assert stop_gateway(g) == 0
        assert score_keys(db) == [(11, s) for s in range(1, 1001)] + [(12, s) for s in range(1, 1001)]
        assert rows(db, "SELECT node, site, gateway FROM nodes ORDER BY node") == [
            (11, "plantA", "line1"),
            (12, "plantA", "line2"),
        ]
        for c in cols:
            stop_gateway(c)
        written = [collector_status(db, f"col{i}")["written"] for i in (1, 2)]
        assert sum(written) == 2002 and min(written) > 0  # shared subscription: each took a part
    finally:
        for p in gws + cols:
            stop_gateway(p)


def test_password_listener_credentials_from_the_environment_never_in_the_logs(tmp_path, broker, link):
    db = tmp_path / "plant.sqlite"
    creds = {"VIBSENTRY_MQTT_USERNAME": USERNAME, "VIBSENTRY_MQTT_PASSWORD": PASSWORD}
    col = _collector(broker.auth_url, db, env=creds)
    bad_log = tmp_path / "bad.log"
    bad = _gateway(link, tmp_path / "bad", broker.auth_url, log=bad_log,
                   env={"VIBSENTRY_MQTT_USERNAME": USERNAME, "VIBSENTRY_MQTT_PASSWORD": "wrong-pw-xyz"})  # fmt: skip
    try:
        link.write(hello(9, 0, 1000))
        wait_for(lambda: "refused the connection" in bad_log.read_text(), what="the refusal in the log")
        wait_for(
            lambda: _gw_status(tmp_path / "bad")["sinks"]["mqtt"]["backlog"] == 1, what="HELLO held back"
        )
        bad.kill()  # a SIGTERM would spend 5 s trying to drain to a broker that refuses it
        bad.wait(10)
        pwfile = tmp_path / "mqtt-password"
        pwfile.write_text(PASSWORD + "\n")
        good_log = tmp_path / "good.log"
        gw = _gateway(link, tmp_path / "good", broker.auth_url, "--mqtt-password-file", str(pwfile),
                      log=good_log, env={"VIBSENTRY_MQTT_USERNAME": USERNAME})  # fmt: skip
        _write_all(link, score_stream(9, 100))
        wait_for(lambda: len(score_keys(db)) == 100, what="100 scores through the password listener")
        assert stop_gateway(gw) == 0
    finally:
        stop_gateway(bad)
        stop_gateway(col)
    for text in (bad_log.read_text(), good_log.read_text(), (db.parent / "test-collector.log").read_text()):
        assert PASSWORD not in text and "wrong-pw-xyz" not in text
    assert "Not authorized" in bad_log.read_text() or "Bad user name or password" in bad_log.read_text()
