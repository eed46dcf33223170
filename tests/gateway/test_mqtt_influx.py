"""The MQTT path into a real influxd 1.6: ``vibsentry collect --influx-url`` writes every message once, and the
optional line-protocol topic is line protocol influxd accepts as it is (what Telegraf's ``mqtt_consumer``
with ``data_format = "influx"`` would forward; Telegraf itself is not installable here, see docs/mqtt.md)."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.support.influxd import start_influxd
from tests.support.ingest import hello, score_stream, start_gateway, stop_gateway, wait_for
from tests.support.mosquitto import MosquittoBroker
from tests.support.pty import PtyLink


def _count(server, db, measurement="vib_score"):
    res = server.query(f"SELECT count(seq) FROM {measurement}", db=db)["results"][0]
    return int(res["series"][0]["values"][0][1]) if "series" in res else 0


def test_collector_into_influxd_and_line_protocol_topic_into_influxd(tmp_path):
    paho = pytest.importorskip("paho.mqtt.client")
    server = start_influxd(tmp_path / "influx")
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    server.query("CREATE DATABASE lp")
    lines: list[bytes] = []
    got = threading.Event()

    # A stand-in for Telegraf: subscribe to the line-protocol topic, hand the payloads to influxd unchanged.
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="lp-reader", protocol=paho.MQTTv5)
    sub.on_message = lambda c, u, m: (lines.append(m.payload), got.set())
    sub.on_connect = lambda c, u, f, rc, p=None: c.subscribe("vibsentry/lp/v1/#", qos=1)
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    col = subprocess.Popen(
        [sys.executable, "-m", "vibsentry", "collect", "--mqtt", broker.url, "--influx-url", server.url,
         "--client-id", "influx-col", "--data-dir", str(tmp_path / "col")],
        stdout=open(tmp_path / "col.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    gw = None
    try:
        wait_for(lambda: '"subscribed": true' in (tmp_path / "col" / "collect-status.json").read_text())
        with PtyLink(tmp_path / "pty") as link:
            gw = start_gateway([str(link.link)], tmp_path / "gw", "--mqtt", broker.url, "--site", "s1",
                               "--gateway", "g1", "--mqtt-line-protocol")  # fmt: skip
            for f in [hello(21, 0, 1000), *score_stream(21, 300)]:
                link.write(f)
            wait_for(
                lambda: _count(server, "vibsentry") >= 300, timeout=300, what="300 points via the collector"
            )
            wait_for(lambda: len(lines) >= 301, timeout=300, what="301 line-protocol messages")
            assert stop_gateway(gw) == 0
        body = b"\n".join(lines)
        req = urllib.request.Request(f"{server.url}/write?db=lp&precision=ns", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 204
        assert _count(server, "vibsentry") == 300
        assert _count(server, "lp") == 300
        assert _count(server, "lp", "vib_status") == 1
        tags = server.query('SHOW TAG VALUES FROM vib_score WITH KEY IN ("site", "gateway")')["results"][0]
        assert sorted(v[1] for v in tags["series"][0]["values"]) == ["g1", "s1"]
    finally:
        if gw is not None:
            stop_gateway(gw)
        stop_gateway(col)
        sub.loop_stop()
        broker.stop()
        server.stop()
