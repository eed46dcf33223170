"""100 simulated nodes x 10 messages/s x 60 s through real ptys into the real ``vibsentry ingest`` process.

Each node is a :class:`~vibsentry.nodes.virtual.VirtualNode` (reference features and the alarm rule on
``sample_data/synthetic/m1_normal_a.wav``) with a 1200-sample hop at 12 kHz, so it sends 10 SCORE frames per
second plus a STATUS every 10 s. Ten nodes share each of 10 ptys (multi-drop). The gateway writes to a SQLite
store (journal ``synchronous=FULL``).

Printed: frames sent vs rows stored (zero loss: every (node, seq) once), and the latency from a frame leaving
the simulator (the ``write`` to the pty) to its row being readable in the store, p50/p95/p99 (target p95 <=
300 ms). Visibility is polled every 5 ms through ``nodes.last_score_ns`` (updated in the same transaction as
the rows), so latencies carry up to 5 ms of polling error.

    .venv/bin/python benchmarks/bench_ingest_fleet.py [--nodes 100] [--seconds 60]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from vibsentry import protocol as vp
from vibsentry.dsp import FeatureParams
from vibsentry.nodes.ports import PtyPort
from vibsentry.nodes.simulator import Simulator
from vibsentry.nodes.virtual import NodeSpec, VirtualNode

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "sample_data" / "synthetic" / "m1_normal_a.wav"


class _Bundle:
    """Just enough of a bundle for VirtualNode: 10 frames/s feature parameters and a fixed alarm rule."""

    def __init__(self) -> None:
        from vibsentry.runtime.alarm import AlarmRule

        self.params = FeatureParams(hop_length=1200)
        self.alarm = AlarmRule(1e9, 1e9, 3, 5)
        self.meta = {"files": {"model.tflite": "00" * 32}}
        self.path = "bench"

    def score_features(self, feats: np.ndarray) -> np.ndarray:
        return np.asarray(feats[:, 33], dtype=np.float32)  # the frame RMS as a stand-in score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--ports", type=int, default=10)
    args = ap.parse_args()
    bundle = _Bundle()
    t0 = time.perf_counter()
    nodes = [
        VirtualNode(
            NodeSpec(i + 1, f"m{i + 1}", str(RECORDING), seed=i),
            duration_s=args.seconds,
            bundle=bundle,
            status_every_s=10.0,
            features_every=0,
            raw_capture_s=0,
        )
        for i in range(args.nodes)
    ]
    print(f"prepared {args.nodes} nodes in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ports = [PtyPort(tmp / f"port{k}") for k in range(args.ports)]
        data = tmp / "data"
        cmd = [sys.executable, "-m", "vibsentry", "ingest", "--data-dir", str(data), "--log-level", "WARNING"]
        for p in ports:
            cmd += ["--port", p.name]
        gw = subprocess.Popen(cmd)
        db = data / "vibsentry.sqlite"
        sent_at: dict[int, list[tuple[int, float]]] = defaultdict(list)  # node -> [(node time us, wall)]
        scores_sent: dict[int, int] = defaultdict(int)

        def on_sent(i: int, t_us: int, frame: bytes, wall: float) -> None:
            if vp.decode_frame(frame).header.msg_type == vp.MsgType.SCORE:
                sent_at[i + 1].append((t_us, wall))
                scores_sent[i + 1] += 1

        visible: dict[int, list[tuple[int, float]]] = defaultdict(list)  # node -> [(node time ns, wall)]
        stop = threading.Event()

        def poll() -> None:
            while not db.exists() and not stop.is_set():
                time.sleep(0.01)
            conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            last: dict[int, int] = {}
            while not stop.is_set():
                now = time.time()
                try:
                    rows = conn.execute("SELECT node, boot_epoch_ns, last_score_ns FROM nodes").fetchall()
                except sqlite3.OperationalError:
                    rows = []
                for node, epoch, ts in rows:
                    if epoch is None or ts is None or last.get(node) == ts:
                        continue
                    last[node] = ts
                    visible[node].append((ts - epoch, now))
                time.sleep(0.005)
            conn.close()

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        time.sleep(1.0)
        sim = Simulator(nodes, ports, speed=1.0)
        w0 = time.perf_counter()
        n_sent = sim.run(on_sent=on_sent, stagger_us=997)
        print(f"sent {n_sent} frames ({n_sent / (time.perf_counter() - w0):.0f}/s) from {args.nodes} nodes")
        deadline = time.monotonic() + 30
        total_scores = sum(scores_sent.values())
        while time.monotonic() < deadline:
            if db.exists():
                with sqlite3.connect(db, timeout=5) as c:
                    if c.execute("SELECT count(*) FROM scores").fetchone()[0] >= total_scores:
                        break
            time.sleep(0.2)
        time.sleep(0.3)
        stop.set()
        poller.join(5)
        gw.terminate()
        gw.wait(30)
        with sqlite3.connect(db) as c:
            n_rows, n_distinct = c.execute(
                "SELECT count(*), count(DISTINCT node * 1000000 + seq) FROM scores"
            ).fetchone()
            n_status = c.execute("SELECT count(*) FROM status").fetchone()[0]
        for p in ports:
            p.close()
    lat = []
    for node, sends in sent_at.items():
        vis = visible.get(node, [])
        j = 0
        for t_us, wall in sends:
            t_ns = t_us * 1000
            while j < len(vis) and vis[j][0] < t_ns:
                j += 1
            if j < len(vis):
                lat.append(vis[j][1] - wall)
    lat_ms = np.asarray(lat) * 1e3
    loss = total_scores - n_rows
    print(
        f"SCORE frames sent {total_scores}, rows stored {n_rows} ({n_distinct} distinct), lost {loss}; "
        f"HELLO+STATUS rows {n_status}"
    )
    print(f"rate {total_scores / args.nodes / args.seconds:.2f} SCORE msgs/s per node")
    if lat_ms.size:
        p50, p95, p99 = np.percentile(lat_ms, [50, 95, 99])
        print(
            f"latency write -> readable in SQLite over {lat_ms.size} frames: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
            f"p99 {p99:.0f} ms, max {lat_ms.max():.0f} ms; p95 vs 300 ms target: {300 / p95:.1f}x headroom"
        )


if __name__ == "__main__":
    main()
