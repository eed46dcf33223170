"""The MQTT topic/payload contract (docs/mqtt.md) and the broker URL rules, without a broker."""

from __future__ import annotations

import json
import math

import pytest

from vibsentry.dashboard.gateway.mqtt import (
    decode_message,
    encode_line_protocol,
    encode_message,
    message_key,
    parse_broker_url,
    topic_for,
)
from vibsentry.dashboard.store.records import Record
from vibsentry.errors import StoreRejected, UsageError

RECORDS = [
    Record("hello", 7, 1_796_000_000_123_456_789, 0, {"fw_version": "1.2", "feature_hash": "ab" * 32,
           "counters": {"boot_counter": 3}, "hash_mismatch": False, "uptime_ms": 5}, machine="pump-A", port="/dev/ttyUSB0"),
    Record("score", 7, 1_796_000_000_223_456_789, 1, {"score": 0.25, "threshold": 1.0, "alarm_state": 0, "cls": None,
           "rms": 0.01, "peak": 0.05, "velocity_rms": 1.5, "hash_mismatch": False}),
    Record("alarm", 7, 1_796_000_000_323_456_789, 2, {"event": 1, "score": 3.0, "threshold": 1.0, "hash_mismatch": True}),
    Record("features", 65535, 5, 3, {"kind": "logmel", "values": (0.5, -1.25, 3.0)}),
    Record("raw", 0, 6, 4, {"capture_id": 9, "chunk_index": 2, "n_chunks": 4, "sample_rate": 12000.0, "channels": 1,
           "sample_format": "i16", "scale": 0.001, "data": bytes(range(256))}),
]  # fmt: skip


@pytest.mark.parametrize("rec", RECORDS, ids=[r.kind for r in RECORDS])
def test_every_kind_round_trips_through_topic_and_payload(rec):
    topic = topic_for("plant1", "line3", rec)
    assert topic == f"vibsentry/v1/plant1/line3/{rec.node}/{rec.kind}"
    payload = encode_message("plant1", "line3", rec)
    doc = json.loads(payload)
    assert doc["ts_ns"] == str(rec.ts_ns)  # a string: exact in JavaScript too
    assert doc["key"] == message_key("plant1", "line3", rec)
    back = decode_message(topic, payload)
    assert back == Record(**{**rec.__dict__, "site": "plant1", "gateway": "line3"})


def test_keys_are_deterministic_and_distinguish_what_the_stores_distinguish():
    a = RECORDS[2]
    clear = Record("alarm", a.node, a.ts_ns, a.seq, {**a.fields, "event": 2})
    assert message_key("s", "g", a) == message_key("s", "g", Record(**a.__dict__))
    assert message_key("s", "g", a) != message_key("s", "g", clear)
    assert message_key("s", "g", a) != message_key("s", "h", a)
    assert message_key("s", "g", RECORDS[4]).endswith("/6/9.2")


def test_non_finite_floats_travel_as_null():
    rec = Record("score", 1, 10, 1, {"score": math.nan, "threshold": math.inf, "alarm_state": 0})
    back = decode_message(topic_for("s", "g", rec), encode_message("s", "g", rec))
    assert back.fields["score"] is None and back.fields["threshold"] is None


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        ("vibsentry/v1/s/g/7/score", b"{not json", "Expecting"),
        ("vibsentry/v1/s/g/7/score", b"[1, 2]", "not a JSON object"),
        ("vibsentry/v1/s/g/7/score", b'{"v": 2}', "version 2"),
        ("vibsentry/v1/s/g/7/blob", b'{"v":1,"kind":"blob"}', "kind 'blob'"),
        ("vibsentry/v1/s/g/7/score", b'{"v":1,"kind":"score","node":-1}', "node -1"),
        ("vibsentry/v1/s/OTHER/7/score", None, "belongs on 'vibsentry/v1/s/g/7/score'"),
        ("vibsentry/v1/s/g/7/score", b"\xff\xfe", "MQTT message on"),
    ],
)
def test_malformed_messages_are_rejected_with_the_topic_and_the_reason(topic, payload, why):
    if payload is None:
        payload = encode_message("s", "g", Record("score", 7, 1, 1, {"score": 1.0}))
    with pytest.raises(StoreRejected, match="MQTT message on") as e:
        decode_message(topic, payload)
    assert why in str(e.value)
    assert topic in str(e.value)


def test_line_protocol_carries_site_and_gateway_tags():
    line = encode_line_protocol("plant1", "line3", RECORDS[1]).decode()
    assert line.startswith("vib_score,") and "site=plant1" in line and "gateway=line3" in line
    assert line.endswith(f" {RECORDS[1].ts_ns}")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("tcp://broker:1883", "expected mqtt://"),
        ("mqtt://user:pw@broker", "must not carry credentials"),
        ("mqtt://broker:99999", "port"),
        ("mqtt://broker/topic", "no path"),
        ("mqtt://", "expected mqtt://"),
    ],
)
def test_bad_broker_urls_are_usage_errors(url, why):
    with pytest.raises(UsageError, match=why):
        parse_broker_url(url)


def test_broker_url_defaults_and_tls():
    assert parse_broker_url("mqtt://b").port == 1883
    s = parse_broker_url("mqtts://b", ca_file="/x/ca.pem", username="u", password="sekrit")
    assert (s.port, s.tls, s.ca_file, s.password) == (8883, True, "/x/ca.pem", "sekrit")
    assert "sekrit" not in repr(s) and "sekrit" not in s.description
    assert s.description == "mqtts://b:8883"
    with pytest.raises(UsageError, match="needs an mqtts://"):
        parse_broker_url("mqtt://b", ca_file="/x/ca.pem")


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["ingest", "--port", "loop://", "--mqtt", "tcp://b:1883"], "expected mqtt://"),
        (["ingest", "--port", "loop://", "--mqtt", "mqtts://b", "--mqtt-ca", "/nonexistent/ca.pem"], "no such file"),
        (["ingest", "--port", "loop://", "--mqtt", "mqtt://b", "--gateway", "line/3"], "--gateway 'line/3'"),
        (["ingest", "--port", "loop://", "--mqtt", "mqtt://b", "--mqtt-password-file", "/nonexistent/pw"], "cannot read"),
        (["collect"], "no --mqtt broker URL"),
        (["collect", "--mqtt", "mqtt://b", "--store", "sqlite:x", "--influx-url", "http://i"], "not both"),
        (["collect", "--mqtt", "mqtt://b", "--group", "a+b"], "--group 'a+b'"),
    ],
)  # fmt: skip
def test_cli_rejects_bad_mqtt_options_with_one_line(argv, why, capsys, tmp_path, monkeypatch):
    from vibsentry.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code in (1, 2) and why in err and len(err.splitlines()) == 1, err
