"""Fault injection against the real gateway process on real ptys: every test ends with exactly the frames
sent in the store, none lost, none twice."""

from __future__ import annotations

import itertools
import json
import random
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from tests.support.hardening import tiny_fs
from tests.support.ingest import hello, rows, score_keys, score_stream, start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink


@pytest.fixture
def link(tmp_path):
    with PtyLink(tmp_path / "node-port") as pty:
        yield pty


def _status(data_dir):
    return json.loads((data_dir / "ingest-status.json").read_text())


def test_garbage_truncated_and_bit_flipped_frames_are_dropped_and_counted(tmp_path, link):
    rng = random.Random(5)
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    gw = start_gateway([str(link.link)], data)
    try:
        good = score_stream(4, 300)
        stream = bytearray(hello(4, 0, 1000))
        expected = []
        for i, f in enumerate(good):
            stream += f
            expected.append((4, i + 1))
            k = i % 4
            if k == 0:  # line noise: random non-zero bytes, then the next delimiter resynchronises
                stream += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40))) + b"\0"
            elif k == 1:  # a frame whose tail was lost
                cut = score_stream(9, 1, start_seq=i)[0]
                stream += cut[: len(cut) // 2] + b"\0"
            elif k == 2:  # one bit flipped in transit (never into a 0x00)
                bad = bytearray(score_stream(9, 1, start_seq=i)[0])
                pos = rng.randrange(1, len(bad) - 1)
                bad[pos] ^= 1 << rng.randrange(8)
                if bad[pos] == 0:
                    bad[pos] = 0x55
                stream += bad
        for off in range(0, len(stream), 997):  # arbitrary chunking across frame boundaries
            link.write(bytes(stream[off : off + 997]))
        wait_for(lambda: len(score_keys(db)) >= len(expected), what="all intact frames stored")
        assert score_keys(db) == expected
        assert stop_gateway(gw) == 0
        dec = _status(data)["ports"][str(link.link)]["decoder"]
        assert dec["frames"] == len(expected) + 1
        assert dec["crc"] + dec["cobs"] + dec["length"] + dec["invalid"] >= 200
    finally:
        stop_gateway(gw)


def test_port_closed_and_recreated_under_the_same_path_reconnects_without_loss(tmp_path, link):
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    gw = start_gateway([str(link.link)], data)
    try:
        for f in [hello(1, 0, 1000), *score_stream(1, 100)]:
            link.write(f)
        wait_for(lambda: len(score_keys(db)) == 100, what="first 100 scores")
        link.recreate()  # unplugged; a new device node appears under the same name
        for f in score_stream(1, 150, start_seq=101):
            link.write(f)
        wait_for(lambda: len(score_keys(db)) == 250, what="scores after reconnect")
        assert score_keys(db) == [(1, s) for s in range(1, 251)]
        stop_gateway(gw)
        port = _status(data)["ports"][str(link.link)]
        assert port["losses"] >= 1 and port["opens"] >= 2
        assert _status(data)["nodes"]["1"]["gaps"] == 0
    finally:
        stop_gateway(gw)


def test_gateway_sigkilled_mid_stream_replays_its_journal_exactly_once(tmp_path, link):
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    gw = start_gateway([str(link.link)], data, "--batch-size", "200")
    blocker = None
    try:
        link.write(hello(2, 0, 1000))
        for f in score_stream(2, 1000):
            link.write(f)
        wait_for(lambda: len(score_keys(db)) == 1000, what="the first 1000 scores stored")
        # Another writer holds the store (a long report query, a backup): the gateway's next delivery waits on
        # the lock while the journal keeps taking frames. The kill then lands mid-delivery, every time.
        blocker = sqlite3.connect(db, timeout=120, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        for f in score_stream(2, 2000, start_seq=1001):
            link.write(f)
        wait_for(lambda: _status(data)["journal"]["journaled"] == 3001, what="3000 scores journaled")
        gw.send_signal(signal.SIGKILL)
        gw.wait(60)
        blocker.execute("ROLLBACK")
        blocker.close()
        blocker = None
        assert len(score_keys(db)) == 1000  # 2000 journaled, not delivered, when the gateway died
        # The node keeps talking while the gateway is dead: the pty buffers what it can, then flow control
        # holds the writer until the restarted gateway reads again.
        writer = threading.Thread(
            target=lambda: [link.write(f) for f in score_stream(2, 500, start_seq=3001)]
        )
        writer.start()
        time.sleep(0.5)
        gw = start_gateway([str(link.link)], data)
        writer.join(300)
        assert not writer.is_alive(), "the node writer still blocked 300 s after the gateway restarted"
        wait_for(lambda: len(score_keys(db)) >= 3500, timeout=300, what="all 3500 scores after restart")
        assert stop_gateway(gw) == 0
        assert score_keys(db) == [(2, s) for s in range(1, 3501)]
        # The restarted gateway continued the same boot with the journaled epoch: timestamps stay exactly
        # the node's 85.333 ms frame spacing across the kill.
        ts = [t for (t,) in rows(db, "SELECT ts_ns FROM scores WHERE node = 2 ORDER BY ts_ns")]
        assert {b - a for a, b in itertools.pairwise(ts)} == {85_333_000}
    finally:
        if blocker is not None:
            blocker.close()
        if gw.poll() is None:
            stop_gateway(gw)


def test_node_reboot_restarts_sequence_and_both_boots_are_kept(tmp_path, link):
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    gw = start_gateway([str(link.link)], data)
    try:
        for f in [hello(3, 0, 1000, boot=7), *score_stream(3, 50)]:
            link.write(f)
        # Power cycle: boot counter 8, sequence and node clock restart.
        for f in [hello(3, 0, 800, boot=8), *score_stream(3, 50, t0_us=1000)]:
            link.write(f)
        wait_for(lambda: len(score_keys(db)) == 100, what="100 scores over two boots")
        ts = [t for (t,) in rows(db, "SELECT ts_ns FROM scores WHERE node = 3 ORDER BY ts_ns")]
        seqs = [s for (s,) in rows(db, "SELECT seq FROM scores WHERE node = 3 ORDER BY ts_ns")]
        assert len(set(ts)) == 100
        assert seqs == list(range(1, 51)) * 2  # second boot strictly after the first
        stop_gateway(gw)
        node = _status(data)["nodes"]["3"]
        assert node["reboots"] == 1 and node["gaps"] == 0
    finally:
        stop_gateway(gw)


def test_feature_hash_mismatch_is_logged_and_flags_the_data(tmp_path, link):
    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    log = tmp_path / "gw.log"
    gw = start_gateway([str(link.link)], data, "--feature-hash", "ab" * 32, log=log)
    try:
        for f in [hello(6, 0, 1000), *score_stream(6, 20)]:
            link.write(f)
        wait_for(lambda: len(score_keys(db)) == 20, what="20 scores")
        assert rows(db, "SELECT DISTINCT hash_mismatch FROM scores") == [(1,)]
        assert rows(db, "SELECT hash_mismatch FROM nodes WHERE node = 6") == [(1,)]
    finally:
        stop_gateway(gw)
    text = log.read_text()
    assert "WARNING" in text and "feature_hash" in text and "ab" * 32 in text


def test_full_journal_disk_stops_reading_reports_and_loses_nothing(tmp_path, link):
    with tiny_fs(tmp_path / "tiny", "192k") as tiny:
        db = tmp_path / "store.sqlite"
        gw = start_gateway([str(link.link)], tiny, "--store", f"sqlite:{db}", log=tmp_path / "gw.log")
        try:
            frames = [hello(8, 0, 1000), *score_stream(8, 4000)]
            # Once the journal refuses a batch the gateway stops reading, so the writer blocks (flow control).
            writer = threading.Thread(target=lambda: [link.write(f, timeout=120) for f in frames])
            writer.start()
            wait_for(
                lambda: "disk full" in (tmp_path / "gw.log").read_text(), what="a disk-full error in the log"
            )
            assert len(score_keys(db)) < 4000
            subprocess.run(["mount", "-o", "remount,size=16m", str(tiny)], check=True)
            writer.join(60)
            wait_for(
                lambda: len(score_keys(db)) == 4000, timeout=300, what="all 4000 scores once space returned"
            )
            assert score_keys(db) == [(8, s) for s in range(1, 4001)]
        finally:
            stop_gateway(gw)
