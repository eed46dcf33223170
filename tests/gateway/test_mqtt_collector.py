"""The collector in process against a real mosquitto: a long backlog drains on one connection.

The collector reads the socket in large blocks (``dashboard/gateway/mqtt.py``). A first version kept reading
as long as bytes kept coming, so under a steady stream its network thread wrote neither PUBACKs nor
keep-alive pings and the broker dropped it every 1.5 keep-alive periods, redelivering the same window
forever. With a 1 s keep-alive and a 40,000-message backlog that took several seconds to drain, that showed
as reconnects; this test fails if it comes back.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.support.ingest import wait_for
from tests.support.mosquitto import MosquittoBroker


def test_a_backlog_longer_than_the_keepalive_drains_without_reconnecting(tmp_path):
    mqtt = pytest.importorskip("paho.mqtt.client")
    from vibsentry.dashboard.gateway.collect import Collector, CollectorConfig
    from vibsentry.dashboard.gateway.mqtt import encode_message, parse_broker_url, topic_for
    from vibsentry.dashboard.store.records import Record
    from vibsentry.dashboard.store.sqlite import SQLiteStore

    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    settings = dataclasses.replace(parse_broker_url(broker.url), keepalive_s=1)
    n = 40_000
    try:
        first = Collector(settings, SQLiteStore(tmp_path / "a.sqlite"), CollectorConfig(client_id="drain"))
        first.start()  # creates the persistent session, then goes away
        assert first.subscribed.wait(20)
        first.stop()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        t0 = time.time_ns()
        infos = []
        for k in range(n):
            r = Record("score", 1 + k % 100, t0 + k, k, {"score": 1.0, "threshold": 2.0, "alarm_state": 0})
            infos.append(pub.publish(topic_for("s", "g", r), encode_message("s", "g", r), qos=1))
        for i in infos:
            i.wait_for_publish(60)
        pub.loop_stop()
        pub.disconnect()

        store = SQLiteStore(tmp_path / "b.sqlite")
        col = Collector(settings, store, CollectorConfig(client_id="drain"))
        connects = []
        on_connect = col._client.on_connect
        col._client.on_connect = lambda *a: (connects.append(time.monotonic()), on_connect(*a))
        col.start()
        try:
            wait_for(lambda: col.written >= n, timeout=120, what=f"{n} messages written")
        finally:
            col.stop()
        assert len(connects) == 1, f"the collector reconnected {len(connects) - 1} times while draining"
        assert col.received == n and col.acked == n
    finally:
        broker.stop()
