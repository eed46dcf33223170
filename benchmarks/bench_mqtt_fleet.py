"""Plant-scale MQTT path: G gateways x N nodes x 10 msg/s -> one mosquitto -> one collector -> one store.

Everything is a real process: ``vibsentry ingest --mqtt`` per gateway (reading real ptys, journal
``synchronous=FULL``), Debian's ``mosquitto`` 2.0, one ``vibsentry collect`` writing SQLite or (``--influx``)
Debian's influxd 1.6. The nodes are synthetic streams of pre-encoded wire-protocol frames (a HELLO, then one
SCORE per node every 100 ms whose score value is its sequence number), written to each gateway's pty once per
tick for all its nodes (multi-drop): the full DSP simulator (``vibsentry simulate``) would need about
10,000 feature frames/s of CPU on top, which this 2-core machine does not have next to 12 processes.

Phase 1 (``fleet``), for ``--seconds``: sustained stored msg/s; end-to-end latency from the pty write of a
frame to its row being readable in the store, p50/p95/p99 (the reader polls ``nodes.last_score`` every 20 ms
for SQLite, ``last(score)`` per node every 100 ms for InfluxDB, so latencies carry that polling error); CPU
of the collector, of mosquitto and of all gateways together, as cores per 1,000 msg/s (utime + stime from
``/proc/<pid>/stat``). At the end the store must hold exactly every frame sent, once.

Phase 2 (``flood``): ``--flood`` messages are published straight into the broker while the collector is
stopped (its persistent session queues them); then the collector starts and drains them as fast as it can:
max msg/s per collector and msg per collector CPU-second (= msg/s one collector core sustains).

Optional ``--outage S``: in phase 1, stop mosquitto for S seconds in the middle (30 s is the issue's chaos
case) and check the store still ends exactly complete.

    .venv/bin/python benchmarks/bench_mqtt_fleet.py [--gateways 10] [--nodes 100] [--seconds 60] \\
        [--flood 200000] [--influx] [--outage 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.influxd import start_influxd  # noqa: E402
from tests.support.ingest import stop_gateway  # noqa: E402
from tests.support.mosquitto import MosquittoBroker, collector_status, start_collector  # noqa: E402
from tests.support.pty import PtyLink  # noqa: E402
from vibsentry import protocol as vp  # noqa: E402

TICK_S = 0.1
DT_US = 100_000
CLK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` (its threads included) in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / CLK


def node_id(g: int, i: int) -> int:
    return 1 + g * 100 + i  # unique in the plant (node ids must be: the store keys rows by node)


def frames_for_tick(g: int, n_nodes: int, seq: int) -> bytes:
    out = bytearray()
    for i in range(n_nodes):
        nid = node_id(g, i)
        out += vp.encode(
            vp.Score(float(seq), 1e9, 0, -1, 0.01, 0.05, 1.5, seq),
            node_id=nid,
            seq=seq,
            timestamp_us=1_000_000 + seq * DT_US,
        )
    return bytes(out)


def hellos(g: int, n_nodes: int) -> bytes:
    out = bytearray()
    for i in range(n_nodes):
        nid = node_id(g, i)
        hello = vp.Hello("bench", f"m{nid}", 12000.0, bytes(32), bytes(32), 1)
        out += vp.encode(hello, node_id=nid, seq=0, timestamp_us=1_000_000)
    return bytes(out)


class SqliteReader:
    poll_s = 0.02

    def __init__(self, db: Path) -> None:
        self.db = db
        self.conn: sqlite3.Connection | None = None

    def last(self) -> dict[int, int]:
        if self.conn is None:
            if not self.db.exists():
                return {}
            self.conn = sqlite3.connect(f"{self.db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = self.conn.execute(
                "SELECT node, last_score FROM nodes WHERE last_score IS NOT NULL"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}
        return {int(n): int(s) for n, s in rows}

    def rows(self) -> int:
        with sqlite3.connect(self.db, timeout=30) as c:
            return int(c.execute("SELECT count(*) FROM scores").fetchone()[0])

    def count(self) -> tuple[int, int]:
        with sqlite3.connect(self.db, timeout=30) as c:
            return c.execute("SELECT count(*), count(DISTINCT node * 1000000 + seq) FROM scores").fetchone()


class InfluxReader:
    poll_s = 0.1

    def __init__(self, url: str) -> None:
        self.url = url

    def _q(self, q: str) -> list:
        data = urllib.parse.urlencode({"db": "vibsentry", "q": q, "epoch": "ns"}).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=30) as r:
            res = json.loads(r.read())["results"][0]
        return res.get("series", [])

    def last(self) -> dict[int, int]:
        try:
            series = self._q('SELECT last("score") FROM vib_score GROUP BY "node"')
        except OSError:
            return {}
        return {int(s["tags"]["node"]): int(s["values"][0][1]) for s in series}

    def rows(self) -> int:
        return self.count()[0]

    def count(self) -> tuple[int, int]:
        series = self._q('SELECT count("seq") FROM vib_score GROUP BY "node"')
        n = sum(int(s["values"][0][1]) for s in series)
        return n, n  # a point per (node, time): the count is of distinct keys already


def fleet(
    args: argparse.Namespace, tmp: Path, broker: MosquittoBroker, collector, reader, started: list
) -> dict:
    links = [PtyLink(tmp / f"gw{g}.pty") for g in range(args.gateways)]
    gws = []
    for g, link in enumerate(links):
        data = tmp / f"gw{g}"
        data.mkdir()
        log = open(tmp / f"gw{g}.log", "ab")
        gws.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "vibsentry",
                    "ingest",
                    "--port",
                    str(link.link),
                    "--data-dir",
                    str(data),
                    "--mqtt",
                    broker.url,
                    "--site",
                    "bench",
                    "--gateway",
                    f"gw{g}",
                    "--log-level",
                    "WARNING",
                    "--journal-sync",
                    args.journal_sync,
                ],
                stdout=log,
                stderr=log,
            )
        )
        log.close()
        started.append(gws[-1])  # stopped by main() if anything below fails
    # Ten Python processes importing at once take seconds on a busy machine: feed only once every gateway
    # writes its status file (its threads run) and has had a second to connect to the broker.
    deadline = time.monotonic() + 120
    while not all((tmp / f"gw{g}" / "ingest-status.json").exists() for g in range(args.gateways)):
        if time.monotonic() > deadline:
            raise RuntimeError("gateways did not start within 120 s")
        time.sleep(0.1)
    time.sleep(1.0)
    ticks = int(args.seconds / TICK_S)
    sent_at = np.zeros((args.gateways, ticks + 2))
    stop = threading.Event()
    lat: list[float] = []
    seen: dict[int, int] = {}

    def poll() -> None:
        while not stop.is_set():
            now = time.time()
            for node, s in reader.last().items():
                g = (node - 1) // 100
                for q in range(seen.get(node, 0) + 1, s + 1):
                    if sent_at[g, q] > 0:
                        lat.append(now - sent_at[g, q])
                seen[node] = max(seen.get(node, 0), s)
            time.sleep(reader.poll_s)

    def feed(g: int) -> None:
        links[g].write(hellos(g, args.nodes))
        t0 = time.monotonic()
        for k in range(1, ticks + 1):
            wait = t0 + k * TICK_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            buf = frames_for_tick(g, args.nodes, k)
            sent_at[g, k] = time.time()
            links[g].write(buf, timeout=120)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    pids = {"collector": collector.pid, "mosquitto": broker.proc.pid}
    c0 = {k: cpu_s(p) for k, p in pids.items()}
    g0 = sum(cpu_s(p.pid) for p in gws)
    w0 = time.monotonic()
    feeders = [threading.Thread(target=feed, args=(g,)) for g in range(args.gateways)]
    for f in feeders:
        f.start()
    if args.outage:
        time.sleep(args.seconds / 3)
        print(f"  broker down for {args.outage:g} s")
        broker.stop()
        time.sleep(args.outage)
        broker.start()
        pids["mosquitto"] = broker.proc.pid
        c0["mosquitto"] = 0.0
    for f in feeders:
        f.join()
    send_wall = time.monotonic() - w0
    total = ticks * args.nodes * args.gateways
    deadline = time.monotonic() + 60 + (args.outage or 0) * 2
    while sum(seen.values()) < total and time.monotonic() < deadline:
        time.sleep(0.2)
    wall = time.monotonic() - w0
    c1 = {k: cpu_s(p) for k, p in pids.items()}
    g1 = sum(cpu_s(p.pid) for p in gws)
    stop.set()
    poller.join(5)
    for p in gws:
        stop_gateway(p, timeout=60)
    for link in links:
        link.close()
    n_rows, n_keys = reader.count()
    rate = n_rows / wall
    lat_ms = np.array(lat) * 1000 if lat else np.array([np.nan])
    per_k = lambda c: c / wall / (rate / 1000) if rate else float("nan")  # noqa: E731 - cores per 1,000 msg/s
    return {
        "sent": total,
        "stored": n_rows,
        "distinct": n_keys,
        "send_wall_s": send_wall,
        "wall_s": wall,
        "rate": rate,
        "offered_rate": total / send_wall,
        "p50": float(np.percentile(lat_ms, 50)),
        "p95": float(np.percentile(lat_ms, 95)),
        "p99": float(np.percentile(lat_ms, 99)),
        "cores_per_k": {
            "collector": per_k(c1["collector"] - c0["collector"]),
            "mosquitto": per_k(c1["mosquitto"] - c0["mosquitto"]),
            "gateways": per_k(g1 - g0),
        },
    }


def flood(args: argparse.Namespace, broker: MosquittoBroker, start, reader, base: int) -> dict:
    """Publish ``args.flood`` messages into the stopped collector's session, then time its drain."""
    import paho.mqtt.client as mqtt

    from vibsentry.dashboard.gateway.mqtt import encode_message, topic_for
    from vibsentry.dashboard.store.records import Record

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-flood", protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(2000)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    t0 = time.time_ns()
    n_nodes = 1000
    infos = []
    for k in range(args.flood):
        node, seq = 5001 + k % n_nodes, 1 + k // n_nodes
        r = Record(
            "score",
            node,
            t0 + seq * 100_000_000,
            seq,
            {
                "score": float(seq),
                "threshold": 1e9,
                "alarm_state": 0,
                "rms": 0.01,
                "peak": 0.05,
                "velocity_rms": 1.5,
                "hash_mismatch": False,
            },
            machine=f"m{node}",
        )
        infos.append(
            pub.publish(
                topic_for("flood", f"f{node // 100}", r), encode_message("flood", f"f{node // 100}", r), qos=1
            )
        )
        if len(infos) >= 5000:
            for i in infos:
                i.wait_for_publish(60)
            infos.clear()
    for i in infos:
        i.wait_for_publish(60)
    pub.loop_stop()
    pub.disconnect()
    col = start(wait=False)  # its session exists: the broker sends the backlog as soon as it connects
    # Measure the steady drain: from the first committed flood batch to the last (start-up and imports out).
    target = base + args.flood
    t_end = time.monotonic() + 600
    while (n0 := reader.rows()) <= base and time.monotonic() < t_end:
        time.sleep(0.02)
    w0, c0 = time.monotonic(), cpu_s(col.pid)
    while (n1 := reader.rows()) < target and time.monotonic() < t_end:
        time.sleep(0.1)
    wall = time.monotonic() - w0
    cpu = cpu_s(col.pid) - c0
    n = n1 - n0
    ok = "all stored" if n1 == target else f"ONLY {n1 - base} of {args.flood} stored"
    return {
        "n": n,
        "wall_s": wall,
        "rate": n / wall,
        "per_cpu_s": n / cpu,
        "cpu_s": cpu,
        "collector": col,
        "ok": ok,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateways", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=100, help="nodes per gateway")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument(
        "--flood", type=int, default=200_000, help="messages for the max-throughput drain (0: skip)"
    )
    ap.add_argument("--influx", action="store_true", help="collector writes influxd 1.6 instead of SQLite")
    ap.add_argument(
        "--mqtt-protocol", choices=("5", "3.1.1"), default="5", help="the collector's MQTT version"
    )
    ap.add_argument(
        "--journal-sync",
        choices=("FULL", "NORMAL"),
        default="NORMAL",
        help="the gateways' journal durability (default NORMAL: 10 gateways fsyncing FULL on one VM disk "
        "measure the disk, not MQTT; in a plant each gateway has its own)",
    )
    ap.add_argument("--outage", type=float, default=0.0, help="stop the broker this long mid-run (seconds)")
    args = ap.parse_args()
    if not 1 <= args.nodes <= 100:
        ap.error("--nodes: 1..100 per gateway (node ids are 1 + 100 * gateway + i)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # A plant broker saves its persistence file every minute or so (docs/mqtt.md), not every second as the
        # test broker does: with 200k queued messages a 1 s autosave would measure the broker's disk writes.
        broker = MosquittoBroker(tmp / "broker", autosave_interval_s=60)
        broker.start()
        influx = None
        db = tmp / "plant.sqlite"
        extra: list[str] = ["--log-level", "WARNING", "--mqtt-protocol", args.mqtt_protocol]
        if args.influx:
            influx = start_influxd(tmp / "influx")
            extra += ["--influx-url", influx.url]
            reader = InfluxReader(influx.url)
        else:
            reader = SqliteReader(db)

        started: list[subprocess.Popen] = []

        def start(wait: bool = True):
            if args.influx:  # start_collector names a SQLite store; --influx-url wins only without --store
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "vibsentry",
                        "collect",
                        "--mqtt",
                        broker.url,
                        "--client-id",
                        "bench",
                        "--data-dir",
                        str(tmp / "bench-data"),
                        *extra,
                    ],
                    stdout=open(tmp / "bench.log", "ab"),
                    stderr=subprocess.STDOUT,
                )
                status = lambda: json.loads((tmp / "bench-data" / "collect-status.json").read_text())  # noqa: E731
            else:
                proc = start_collector(broker.url, db, *extra, client_id="bench")
                status = lambda: collector_status(db, "bench")  # noqa: E731
            started.append(proc)
            deadline = time.monotonic() + 30
            while wait and time.monotonic() < deadline:
                try:
                    if status().get("subscribed"):
                        return proc
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
            if wait:
                raise RuntimeError("collector did not subscribe")
            return proc

        store = f"influxd {influx.url}" if influx else "SQLite"
        try:
            col = start()
            n_gw, n_nodes = args.gateways, args.nodes
            print(
                f"fleet: {n_gw} gateways x {n_nodes} nodes x 10 msg/s for {args.seconds:g} s -> mosquitto -> "
                f"1 collector (MQTT {args.mqtt_protocol}) -> {store}; gateway journals {args.journal_sync}"
            )
            r = fleet(args, tmp, broker, col, reader, started)
            if r["distinct"] != r["stored"]:
                ok = f"DUPLICATES: {r['stored'] - r['distinct']}"
            elif r["stored"] == r["sent"]:
                ok = "exactly once"
            else:  # the pipeline did not keep up: the gateways' journals still hold the rest when stopped
                ok = f"{r['sent'] - r['stored']} not stored yet when the wait ended, none twice"

            print(
                f"  sent {r['sent']} frames ({r['offered_rate']:.0f}/s offered), stored {r['stored']} "
                f"({ok}); sustained {r['rate']:.0f} msg/s over {r['wall_s']:.1f} s"
            )
            print(
                f"  node send -> row readable: p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms"
            )
            ck = r["cores_per_k"]
            print(
                f"  CPU cores per 1,000 msg/s: collector {ck['collector']:.3f}, mosquitto {ck['mosquitto']:.3f}, "
                f"{n_gw} gateways together {ck['gateways']:.3f}"
            )
            stop_gateway(col)
            if args.flood:
                f = flood(args, broker, start, reader, r["stored"])
                col = f["collector"]
                print(
                    f"flood: {args.flood} messages queued in the broker ({f['ok']}); 1 collector -> {store} drained "
                    f"{f['n']} after its first commit in {f['wall_s']:.1f} s: {f['rate']:.0f} msg/s; "
                    f"{f['per_cpu_s']:.0f} msg per collector CPU-second ({f['cpu_s']:.1f} CPU-s)"
                )
            stop_gateway(col)
        finally:
            for p in started:
                stop_gateway(p)
            broker.stop()
            if influx is not None:
                influx.stop()


if __name__ == "__main__":
    main()
