"""Frames that are CRC-valid but absurd never stop the gateway (issue K, finding 1 and deliverable 2).

A SCORE whose node clock is beyond any real uptime used to overflow the journal's 64-bit timestamp; the
journal thread died, the process stayed up with ``"error": null`` and every later frame of every node was
lost. Now such a frame is quarantined (kept in the journal's ``quarantine`` table, counted, logged) and a
gateway thread that dies of an unexpected error takes the process down with a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import sqlite3
import threading
from pathlib import Path

from tests.support.ingest import hello, score_keys, score_stream, start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink
from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.service import Gateway, GatewayConfig, GatewayFailed
from vibsentry.dashboard.gateway.tracker import MAX_NODE_TIME_US
from vibsentry.dashboard.store.sqlite import SQLiteStore

VECTORS = Path(__file__).parents[1] / "vectors" / "protocol" / "messages.json"


def _status(data_dir: Path) -> dict:
    return json.loads((data_dir / "ingest-status.json").read_text())


def _quarantine(data_dir: Path) -> list[tuple]:
    with sqlite3.connect(data_dir / "journal.sqlite") as c:
        return c.execute("SELECT node, seq, reason FROM quarantine ORDER BY id").fetchall()


def test_absurd_node_clock_is_quarantined_and_every_later_frame_is_stored(tmp_path):
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    with PtyLink(tmp_path / "port") as link:
        gw = start_gateway([str(link.link)], data)
        try:
            good = score_stream(4, 200)
            link.write(hello(4, 0, 1000))
            for f in good[:100]:
                link.write(f)
            # Node 9's clock is corrupt: a CRC-valid SCORE at 2**63 us (and one just past the limit).
            for i, t_us in enumerate((1 << 63, MAX_NODE_TIME_US + 1)):
                link.write(
                    vp.encode(
                        vp.Score(1.0, 1.0, 0, -1, 0.0, 0.0, 0.0, i), node_id=9, seq=i, timestamp_us=t_us
                    )
                )
            for f in good[100:]:
                link.write(f)
            wait_for(lambda: len(score_keys(db)) >= 200, what="the good node's 200 scores")
            assert score_keys(db) == [(4, i) for i in range(1, 201)]
            assert stop_gateway(gw) == 0
        finally:
            stop_gateway(gw)
    st = _status(data)
    assert st["journal"]["error"] is None and st["fatal"] is None
    assert st["journal"]["quarantined"] == 2
    assert st["nodes"]["9"]["quarantined"] == 2
    q = _quarantine(data)
    assert [(n, s) for n, s, _ in q] == [(9, 0), (9, 1)]
    assert all("corrupt clock" in r for _, _, r in q)


def test_a_dying_gateway_thread_stops_the_gateway_loudly(tmp_path, caplog):
    """An unexpected error in the journal thread must not leave a deaf gateway running."""
    data = tmp_path / "data"
    with PtyLink(tmp_path / "port") as link:
        cfg = GatewayConfig(ports=(str(link.link),), data_dir=data, status_interval_s=0.2)
        gw = Gateway(cfg, {"sqlite": SQLiteStore(data / "vibsentry.sqlite")})
        real = gw.tracker.process

        def process(frame, port=None):
            if frame.header.seq == 50:
                raise RuntimeError("simulated bug in the tracker")
            return real(frame, port)

        gw.tracker.process = process  # type: ignore[method-assign]
        errors: list[BaseException] = []

        def run() -> None:
            try:
                gw.run_forever()
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        link.write(hello(4, 0, 1000))
        for f in score_stream(4, 60):
            link.write(f)
        t.join(timeout=120)  # a bound, not a timing: the gateway stops as soon as the thread dies
        assert not t.is_alive(), "the gateway kept running after its journal thread died"
    assert len(errors) == 1 and isinstance(errors[0], GatewayFailed)
    assert "simulated bug in the tracker" in str(errors[0])
    st = _status(data)
    assert st["fatal"] and "journal" in st["fatal"]
    assert st["journal"]["error"] == st["fatal"]


# -- property test: arbitrary CRC-valid frames of every type, every field over its whole range --------------

_EXTREME_INTS = (
    0,
    1,
    -1,
    127,
    255,
    -32768,
    32767,
    65535,
    (1 << 31) - 1,
    -(1 << 31),
    (1 << 32) - 1,
    (1 << 63) - 1,
    1 << 64,
)
_EXTREME_FLOATS = (0.0, -0.0, math.nan, math.inf, -math.inf, 3.4e38, -3.4e38, 1e-45, 1e308)
_EXTREME_TS = (0, 1, (1 << 32), MAX_NODE_TIME_US, MAX_NODE_TIME_US + 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1)


def _variants(msg: vp.Message, rng: random.Random) -> list[vp.Message]:
    """Copies of ``msg`` with one field set to an extreme value each (only those the encoder accepts)."""
    out = []
    for f in dataclasses.fields(msg):  # type: ignore[arg-type]
        v = getattr(msg, f.name)
        if isinstance(v, bool):
            cands: tuple = (True, False)
        elif isinstance(v, int):
            cands = _EXTREME_INTS
        elif isinstance(v, float):
            cands = _EXTREME_FLOATS
        elif isinstance(v, str):
            cands = ("", "x" * 32, "![](http://h/t.png)", "[a](http://evil)", "\x7f")
        elif isinstance(v, tuple) and v and isinstance(v[0], float):
            cands = (tuple(rng.choice(_EXTREME_FLOATS) for _ in v), ())
        else:
            continue
        for c in cands:
            try:
                m = dataclasses.replace(msg, **{f.name: c})  # type: ignore[type-var]
                vp.encode(m, node_id=1, seq=0, timestamp_us=0)
            except Exception:  # the encoder refuses values outside the field's range: not a valid frame
                continue
            out.append(m)
    return out


def test_property_arbitrary_valid_frames_never_lose_a_good_nodes_frames(tmp_path):
    rng = random.Random(20261206)
    doc = json.loads(VECTORS.read_text())
    samples = []
    for v in doc["vectors"]:
        try:
            samples.append(vp.decode_frame(bytes.fromhex(v["frame"])).message)
        except Exception:
            continue  # negative vectors
    assert {type(m) for m in samples} >= {vp.Hello, vp.Status, vp.Score, vp.Alarm, vp.Features, vp.RawChunk}
    evil: list[bytes] = []
    for m in samples:
        for var in _variants(m, rng):
            node = rng.choice((0, 5, 6, 65534, 65535))
            evil.append(
                vp.encode(var, node_id=node, seq=rng.randrange(1 << 32), timestamp_us=rng.choice(_EXTREME_TS))
            )
    rng.shuffle(evil)
    good = score_stream(4, 400)
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    with PtyLink(tmp_path / "port") as link:
        gw = start_gateway([str(link.link)], data)
        try:
            link.write(hello(4, 0, 1000))
            per = -(-len(evil) // len(good))
            for i, f in enumerate(good):
                link.write(f + b"".join(evil[i * per : (i + 1) * per]))
            wait_for(
                lambda: len([k for k in score_keys(db) if k[0] == 4]) >= 400 or gw.poll() is not None,
                timeout=300,
                what="the good node's 400 scores",
            )
            assert gw.poll() is None, "the gateway died"
            keys = [k for k in score_keys(db) if k[0] == 4]
            assert keys == [(4, i) for i in range(1, 401)]
            assert stop_gateway(gw) == 0
        finally:
            stop_gateway(gw)
    st = _status(data)
    assert st["fatal"] is None and st["journal"]["error"] is None
    assert len(evil) > 200


def test_a_journal_that_cannot_record_a_delivery_is_retried_not_fatal(tmp_path):
    """Found by the chaos run: on a full journal disk, advancing a store's delivery cursor failed and (with
    thread guards) stopped the gateway. The store already has the batch: deliver it again later instead."""
    from vibsentry.errors import StoreError

    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    with PtyLink(tmp_path / "port") as link:
        cfg = GatewayConfig(ports=(str(link.link),), data_dir=data, status_interval_s=0.2)
        gw = Gateway(cfg, {"sqlite": SQLiteStore(db)})
        real = gw.journal.mark_delivered
        failures = {"left": 3}

        def mark_delivered(sink, upto):
            if failures["left"]:
                failures["left"] -= 1
                raise StoreError(
                    f"{gw.journal.path}: cannot mark delivery for {sink!r}: database or disk is full"
                )
            real(sink, upto)

        gw.journal.mark_delivered = mark_delivered  # type: ignore[method-assign]
        gw.start()
        try:
            link.write(hello(4, 0, 1000))
            for f in score_stream(4, 50):
                link.write(f)
            wait_for(lambda: len(score_keys(db)) >= 50, what="50 scores")
            wait_for(lambda: gw.journal.backlog("sqlite") == 0, what="the cursor to catch up")
            assert gw.fatal is None and failures["left"] == 0
        finally:
            gw.stop()
    assert score_keys(db) == [(4, i) for i in range(1, 51)]
