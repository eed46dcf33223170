"""Gateway throughput: wire frames decoded, tracked and journaled per second of CPU time (one core).

A stream of 100 nodes' frames (SCORE, every 10th frame also FEATURES with 32 log-mel values, STATUS and
HELLO now and then) is fed to the gateway's own data path in 4 KiB chunks, as a serial reader gets them:
``protocol.Decoder.feed`` -> ``Tracker.process`` -> ``Journal.append`` (one SQLite transaction per chunk).
Printed per journal durability mode: messages per CPU-second (the per-core rate; target >= 20,000), messages
per wall-second (includes fsync waits) and the ratio to the target.

    .venv/bin/python benchmarks/bench_ingest_throughput.py [--messages 200000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.journal import Journal
from vibsentry.dashboard.gateway.tracker import Tracker

TARGET = 20_000


def make_stream(n_messages: int, n_nodes: int = 100, seed: int = 0) -> bytes:
    """Wire bytes of ``n_messages`` frames from ``n_nodes`` nodes, interleaved as a multi-drop line would be."""
    rng = random.Random(seed)
    seq = [0] * n_nodes
    out = bytearray()
    fh = bytes(range(32))
    for node in range(n_nodes):
        out += vp.encode(
            vp.Hello("1.0", f"m{node}", 12000.0, fh, bytes(32), 1), node_id=node, seq=0, timestamp_us=1
        )
        seq[node] = 1
    frame_us = 85_333
    for k in range(n_messages - n_nodes):
        node = k % n_nodes
        i = seq[node]
        t = 1000 + i * frame_us
        if i % 10 == 0:
            vals = tuple(rng.uniform(-10, 5) for _ in range(32))
            msg: vp.Message = vp.Features(kind=1, frame_index=i, values=vals)
        elif i % 117 == 0:
            msg = vp.Status(i // 12, i, 0, i, 0, 0, 0)
        else:
            msg = vp.Score(rng.random(), 1.0, 0, -1, 0.02, 0.1, 1.4, i)
        out += vp.encode(msg, node_id=node, seq=i, timestamp_us=t)
        seq[node] = i + 1
    return bytes(out)


def run(stream: bytes, sync: str, chunk: int = 4096) -> tuple[int, float, float]:
    """Feed ``stream``; returns (messages journaled, CPU seconds, wall seconds)."""
    with tempfile.TemporaryDirectory() as d:
        journal = Journal(Path(d) / "journal.sqlite", synchronous=sync)
        tracker = Tracker()
        dec = vp.Decoder()
        n = 0
        c0, w0 = time.process_time(), time.perf_counter()
        for off in range(0, len(stream), chunk):
            frames = dec.feed(stream[off : off + chunk])
            if not frames:
                continue
            records = [r for r in (tracker.process(f, "bench") for f in frames) if r is not None]
            journal.append(records, tracker.take_dirty())
            n += len(records)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        assert journal.backlog("x") == n, "every decoded message must be in the journal"
        journal.close()
    return n, cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    args = ap.parse_args()
    stream = make_stream(args.messages)
    print(f"stream: {args.messages} frames, {len(stream) / 1e6:.1f} MB, fed in 4 KiB chunks")
    print(f"{'journal':<16}{'msgs/CPU-s':>12}{'msgs/wall-s':>13}{'vs target':>11}")
    for sync in ("NORMAL", "FULL"):
        n, cpu, wall = run(stream, sync)
        print(f"synchronous={sync:<6}{n / cpu:>10,.0f}{n / wall:>13,.0f}{n / cpu / TARGET:>10.2f}x")
    # Decode alone, for scale: what the journal costs on top.
    dec = vp.Decoder()
    c0 = time.process_time()
    for off in range(0, len(stream), 4096):
        dec.feed(stream[off : off + 4096])
    cpu = time.process_time() - c0
    print(f"{'decode only':<16}{dec.counters['frames'] / cpu:>10,.0f}")


if __name__ == "__main__":
    main()
